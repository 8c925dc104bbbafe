"""Cron and OnCalendar schedules: validation, time zones and next fire times.

Pure functions over strings and aware datetimes; cronsim and oncalendar do the calendar work.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from itertools import islice
from zoneinfo import ZoneInfo, available_timezones

from cronsim import CronSim, CronSimError
from oncalendar import OnCalendar, OnCalendarError

# Healthchecks checks that a schedule produces at least one time after this moment.
_VALIDATION_START = datetime(2000, 1, 1, tzinfo=UTC)

# Deprecated tzdata links still accepted as input, stored under their current names.
_RENAMED_ZONES = {
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Godthab": "America/Nuuk",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Dacca": "Asia/Dhaka",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Thimbu": "Asia/Thimphu",
    "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "Europe/Kiev": "Europe/Kyiv",
    "Europe/Uzhgorod": "Europe/Kyiv",
    "Europe/Zaporozhye": "Europe/Kyiv",
    "Pacific/Enderbury": "Pacific/Kanton",
}

# Present in some zoneinfo trees but not places a user can live in.
_NOT_USER_ZONES = frozenset({"Factory", "localtime", "posixrules"})


class ScheduleError(ValueError):
    """A schedule, schedule kind or time zone that cannot be used."""


def schedule_kind(schedule: str) -> str:
    """Classify a schedule the way Healthchecks does: one line of five fields is cron."""
    if "\n" not in schedule.strip() and len(schedule.split()) == 5:
        return "cron"
    return "oncalendar"


def validate_schedule(schedule: str) -> str:
    """Return the schedule's kind, or raise ScheduleError if it never fires after 2000-01-01."""
    kind = schedule_kind(schedule)
    try:
        next(_fire_times(kind, schedule, ZoneInfo("UTC"), _VALIDATION_START))
    except (ScheduleError, StopIteration) as exc:
        raise ScheduleError(f"not a valid cron or OnCalendar expression: {schedule!r}") from exc
    return kind


def normalize_timezone(tz: str) -> str:
    """Return the current IANA name for `tz`, or raise ScheduleError for an unknown zone."""
    if tz in _RENAMED_ZONES:
        return _RENAMED_ZONES[tz]
    # Membership in the known set, not ZoneInfo(tz) alone: ZoneInfo also opens odd files
    # from the zoneinfo tree ("localtime", "posix/...") that are not zone names.
    if tz not in _known_zones():
        raise ScheduleError(f"not a valid timezone: {tz!r}")
    return tz


def next_fire(kind: str, schedule: str, tz: str, after: datetime) -> datetime | None:
    """The first fire time strictly after `after`, in UTC; None if the schedule has ended."""
    return next(_fire_times(kind, schedule, _zone(tz), after), None)


def upcoming(kind: str, schedule: str, tz: str, after: datetime, count: int = 5) -> list[datetime]:
    """The next `count` fire times strictly after `after`, in UTC (fewer if the schedule ends)."""
    return list(islice(_fire_times(kind, schedule, _zone(tz), after), count))


@cache
def selectable_timezones() -> tuple[str, ...]:
    """The zones a person picks from (UTC first, then Area/City names)."""
    zones = {z for z in _known_zones() if "/" in z and not z.startswith("Etc/")}
    return ("UTC", *sorted(zones))


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones() - _NOT_USER_ZONES)


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    # ZoneInfoNotFoundError is a KeyError; malformed keys and non-TZif files raise ValueError.
    except (KeyError, ValueError, OSError) as exc:
        raise ScheduleError(f"not a valid timezone: {tz!r}") from exc


def _fire_times(kind: str, schedule: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    if after.tzinfo is None:
        raise ValueError("after must be an aware datetime")
    for local in _library_iterator(kind, schedule, after.astimezone(zone)):
        fire = local.astimezone(UTC)
        # oncalendar, and cronsim for fixed-hour jobs, iterate over wall-clock time and pick
        # the first of a repeated hour, so a start in the second half of a DST overlap can
        # yield times that are earlier in real time. Those already happened; skip them.
        if fire > after:
            yield fire


def _library_iterator(kind: str, schedule: str, local_start: datetime) -> Iterator[datetime]:
    try:
        if kind == "cron":
            return iter(CronSim(schedule, local_start))
        if kind == "oncalendar":
            return iter(OnCalendar(schedule, local_start))
    except (CronSimError, OnCalendarError) as exc:
        raise ScheduleError(f"not a valid {kind} expression: {schedule!r}") from exc
    raise ScheduleError(f"not a schedule kind: {kind!r}")
