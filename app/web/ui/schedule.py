"""The schedule editor of the check details page: its form, and the live preview of the next
expected times (htmx asks for it as the user types).

The form speaks in units people use (minutes / hours / days); the domain speaks seconds.
Validation of the values themselves (bounds, the expression, the time zone) is the domain's
(``checks.validate_check_fields``), so the page, the preview and the API say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.db import models as m
from app.domain import checks, schedules
from app.domain.errors import ValidationError

KINDS = ("simple", "cron", "oncalendar")
KIND_LABELS = {"simple": "Simple", "cron": "Cron", "oncalendar": "OnCalendar"}
UNITS = {"minutes": 60, "hours": 3600, "days": 86400}
PREVIEW_COUNT = 5
_MAX_DIGITS = 12  # enough for 365 days in minutes; more is a typo, not a duration


@dataclass(frozen=True)
class ScheduleForm:
    """The editor's fields as typed (strings), so a bad value can be shown back as it was."""

    kind: str = "simple"
    timeout: str = "1"
    timeout_unit: str = "days"
    grace: str = "1"
    grace_unit: str = "hours"
    schedule: str = "* * * * *"
    tz: str = "UTC"

    @classmethod
    def from_check(cls, check: m.Check) -> ScheduleForm:
        timeout, timeout_unit = _in_units(check.timeout)
        grace, grace_unit = _in_units(check.grace)
        return cls(
            kind=check.kind if check.kind in KINDS else "simple",
            timeout=timeout,
            timeout_unit=timeout_unit,
            grace=grace,
            grace_unit=grace_unit,
            schedule=check.schedule,
            tz=check.tz,
        )

    @classmethod
    def from_data(cls, data: Mapping[str, Any], fallback: ScheduleForm) -> ScheduleForm:
        """The submitted fields; absent ones keep the ``fallback`` value."""

        def text(name: str) -> str:
            value = data.get(name)
            return value.strip() if isinstance(value, str) else getattr(fallback, name)

        return replace(
            fallback,
            kind=text("kind"),
            timeout=text("timeout"),
            timeout_unit=text("timeout_unit"),
            grace=text("grace"),
            grace_unit=text("grace_unit"),
            # Several OnCalendar expressions may be given one per line: keep inner newlines.
            schedule=text("schedule").replace("\r\n", "\n"),
            tz=text("tz"),
        )

    def to_fields(self) -> dict[str, Any]:
        """The check fields this form sets, in seconds, validated by the domain's rules;
        raises ValidationError naming the form field."""
        if self.kind not in KINDS:
            raise ValidationError("kind", "kind must be simple, cron or oncalendar")
        fields: dict[str, Any] = {"grace": _seconds(self.grace, self.grace_unit, "grace")}
        if self.kind == "simple":
            fields["timeout"] = _seconds(self.timeout, self.timeout_unit, "timeout")
        else:
            fields["schedule"] = self.schedule
            fields["tz"] = self.tz
        cleaned = checks.validate_check_fields(fields, version=3)
        if self.kind != "simple":
            _require_kind(self.kind, cleaned["schedule"])
        return cleaned


def _in_units(seconds: int) -> tuple[str, str]:
    """The largest unit that shows ``seconds`` as a whole number (minutes at least)."""
    for unit in ("days", "hours", "minutes"):
        if seconds % UNITS[unit] == 0:
            return str(seconds // UNITS[unit]), unit
    return f"{seconds / 60:g}", "minutes"


def _seconds(value: str, unit: str, field: str) -> int:
    if unit not in UNITS:
        raise ValidationError(field, f"{field} unit must be minutes, hours or days")
    # isdigit() alone admits "²", which int() refuses.
    if not (value.isascii() and value.isdigit()) or len(value) > _MAX_DIGITS:
        raise ValidationError(field, f"{field} must be a whole number of {unit}")
    return int(value) * UNITS[unit]


def _require_kind(kind: str, schedule: str) -> None:
    # The domain tells cron from OnCalendar by the expression's shape; the editor asks which
    # one the user meant, so an expression of the other kind is an error, not a surprise.
    actual = schedules.schedule_kind(schedule)
    if actual != kind:
        if kind == "cron":
            raise ValidationError(
                "schedule", "schedule is not a cron expression (five fields on one line)"
            )
        raise ValidationError(
            "schedule", "schedule looks like a cron expression: choose the Cron kind"
        )


@dataclass(frozen=True)
class Preview:
    """What the editor shows below the fields: an error, or the next expected times."""

    kind: str
    error: str | None = None
    error_field: str | None = None
    times: tuple[datetime, ...] = ()
    tz: str = "UTC"
    timeout: int | None = None
    grace: int | None = None


def preview(form: ScheduleForm, now: datetime) -> Preview:
    """The next ``PREVIEW_COUNT`` expected times after ``now`` (cron / OnCalendar), or the
    period and grace in words (simple), or the exact validation error."""
    try:
        fields = form.to_fields()
    except ValidationError as error:
        return Preview(kind=form.kind, error=error.message, error_field=error.field)
    if form.kind == "simple":
        return Preview(kind="simple", timeout=fields["timeout"], grace=fields["grace"])
    times = schedules.upcoming(form.kind, fields["schedule"], fields["tz"], now, PREVIEW_COUNT)
    return Preview(kind=form.kind, times=tuple(times), tz=fields["tz"], grace=fields["grace"])
