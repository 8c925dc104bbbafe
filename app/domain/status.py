"""When a check is expected, when it goes down, and the status shown for it.

Healthchecks' get_grace_start / going_down_after / get_status as pure functions of a check's
timing fields and an explicit `now`. Every datetime is aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from app.domain.schedules import next_fire


class CheckTiming(Protocol):
    """The fields status rules read; the Check model and `Timing` both provide them."""

    @property
    def kind(self) -> str: ...  # simple | cron | oncalendar
    @property
    def timeout(self) -> int: ...  # seconds
    @property
    def grace(self) -> int: ...  # seconds
    @property
    def schedule(self) -> str: ...
    @property
    def tz(self) -> str: ...
    @property
    def status(self) -> str: ...  # stored: new | up | down | paused
    @property
    def last_ping(self) -> datetime | None: ...
    @property
    def last_start(self) -> datetime | None: ...


@dataclass(frozen=True, kw_only=True)
class Timing:
    """A check's timing fields with Healthchecks' defaults."""

    kind: str = "simple"
    timeout: int = 86400
    grace: int = 3600
    schedule: str = "* * * * *"
    tz: str = "UTC"
    status: str = "new"
    last_ping: datetime | None = None
    last_start: datetime | None = None


def grace_start(check: CheckTiming, *, with_started: bool = True) -> datetime | None:
    """When the next ping is due (grace begins); None if never."""
    result = _next_expected_ping(check) if check.status == "up" else None
    if with_started and check.last_start is not None and check.status != "down":
        # A run in progress must finish within grace, whatever the schedule says.
        return check.last_start if result is None else min(result, check.last_start)
    return result


def alert_after(check: CheckTiming) -> datetime | None:
    """When the check goes down unless pinged; None if it cannot go down on its own."""
    start = grace_start(check)
    return None if start is None else start + timedelta(seconds=check.grace)


def displayed_status(check: CheckTiming, now: datetime, *, with_started: bool = False) -> str:
    """new | paused | up | grace | down, plus started when `with_started` is set."""
    if check.last_start is not None:
        if now >= check.last_start + timedelta(seconds=check.grace):
            return "down"
        if with_started:
            return "started"
    if check.status in ("new", "paused", "down"):
        return check.status
    start = grace_start(check, with_started=False)
    if start is None:
        return "up"
    if now >= start + timedelta(seconds=check.grace):
        return "down"
    if now >= start:
        return "grace"
    return "up"


def is_started(check: CheckTiming) -> bool:
    """Whether a run has signalled /start and not yet finished."""
    return check.last_start is not None


def _next_expected_ping(check: CheckTiming) -> datetime | None:
    # Stored "up" implies a ping; tolerate inconsistent rows rather than crash a sweep.
    if check.last_ping is None:
        return None
    if check.kind == "simple":
        return check.last_ping + timedelta(seconds=check.timeout)
    if check.kind in ("cron", "oncalendar"):
        return next_fire(check.kind, check.schedule, check.tz, check.last_ping)
    return None
