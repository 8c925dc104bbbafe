"""Daily, weekly and monthly report emails: scheduling, downtime statistics, rendering, sending.

Reference: Healthchecks' ``sendreports`` (see reference/healthchecks-detail.md, section 6).
A profile with reports on and no ``next_report_date`` is only scheduled. A due profile is
claimed by a conditional UPDATE that moves its date to the next one, so however many workers
run, one report per user and period is sent; the email is sent after the claim commits, and a
failed send is logged, not retried (the next period's report will come).

Downtime is computed from flips: walking backwards from ``now`` with the check's current
status, each interval spent ``down`` is split at period boundaries. Nag flips (down → down
repeats) are ignored; ``new`` and ``paused`` are not down.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select, update

from app import mail
from app.config import Settings
from app.db import models as m
from app.db.engine import Database, write_transaction
from app.domain.status import displayed_status

log = logging.getLogger("cronbeat.reports")

KINDS = ("daily", "weekly", "monthly")
SEND_HOUR = time(9, 0)
SUBJECTS = {"daily": "Daily Report", "weekly": "Weekly Report", "monthly": "Monthly Report"}
BATCH = 500


def zone(tz: str) -> ZoneInfo:
    """The user's time zone; an unknown name falls back to UTC rather than failing a run."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local_start(day: date, tz: ZoneInfo, at: time = time(0)) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _first_of_previous_month(day: date) -> date:
    return date(day.year - 1, 12, 1) if day.month == 1 else date(day.year, day.month - 1, 1)


# --- scheduling ---------------------------------------------------------------------------------


def next_report_date(kind: str, tz: str, after: datetime) -> datetime | None:
    """When the next report is due after ``after`` (aware): 09:00 in the user's time zone on
    the next day (daily), the next Monday (weekly) or the 1st of the next month (monthly),
    always at least one local day later. None when reports are off. Aware UTC."""
    if kind not in KINDS:
        return None
    local_tz = zone(tz)
    day = after.astimezone(local_tz).date() + timedelta(days=1)
    if kind == "weekly":
        day += timedelta(days=(7 - day.weekday()) % 7)
    elif kind == "monthly" and day.day != 1:
        day = _first_of_next_month(day)
    return _local_start(day, local_tz, SEND_HOUR)


# --- periods and downtime -------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end) in aware UTC, bounded by local midnights of the user's time zone."""

    start: datetime
    end: datetime
    label: str


def _period_start(kind: str, day: date) -> date:
    if kind == "daily":
        return day
    if kind == "weekly":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if kind == "monthly":
        return day.replace(day=1)
    raise ValueError(f"no periods for reports={kind!r}")


def _previous_start(kind: str, start: date) -> date:
    if kind == "daily":
        return start - timedelta(days=1)
    if kind == "weekly":
        return start - timedelta(days=7)
    return _first_of_previous_month(start)


def _next_start(kind: str, start: date) -> date:
    if kind == "daily":
        return start + timedelta(days=1)
    if kind == "weekly":
        return start + timedelta(days=7)
    return _first_of_next_month(start)


def _label(kind: str, start: date, end: date) -> str:
    if kind == "daily":
        return f"{start:%A}, {start.day} {start:%B %Y}"
    if kind == "weekly":
        last = end - timedelta(days=1)
        year, week, _ = start.isocalendar()
        return f"week {week} of {year}, {start.day} {start:%B} – {last.day} {last:%B %Y}"
    return f"{start:%B %Y}"


def report_periods(
    kind: str, tz: str, now: datetime, count: int = 1, *, include_current: bool = False
) -> list[Period]:
    """The last ``count`` complete days / ISO weeks / months in ``tz`` before ``now``, newest
    first, preceded by the current (partial) one when ``include_current`` is set."""
    local_tz = zone(tz)
    start = _period_start(kind, now.astimezone(local_tz).date())
    end = _next_start(kind, start)
    periods: list[Period] = []
    if include_current:
        periods.append(
            Period(
                _local_start(start, local_tz), _local_start(end, local_tz), _label(kind, start, end)
            )
        )
    for _ in range(count):
        start, end = _previous_start(kind, start), start
        periods.append(
            Period(
                _local_start(start, local_tz), _local_start(end, local_tz), _label(kind, start, end)
            )
        )
    return periods


class FlipLike(Protocol):
    """What downtime needs of a flip: a Flip row, or anything with these attributes."""

    @property
    def created(self) -> datetime: ...
    @property
    def old_status(self) -> str: ...
    @property
    def new_status(self) -> str: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Downtime:
    """A check's downtime within one period. ``no_data``: the period ended before the check
    existed. ``seconds`` is the length of the period up to ``now``."""

    period: Period
    outages: int
    down_seconds: float
    seconds: float
    no_data: bool = False

    @property
    def uptime(self) -> float:
        """Percentage of the period not spent down."""
        if self.seconds <= 0:
            return 100.0
        return max(0.0, (self.seconds - self.down_seconds) / self.seconds * 100)


def down_intervals(
    flips: Iterable[FlipLike],
    now: datetime,
    current_status: str,
    created: datetime | None = None,
) -> list[tuple[datetime | None, datetime]]:
    """The intervals spent down, oldest first; a start of None means "since before the first
    known flip" (and before ``created``, if not given). Nag flips are ignored."""
    events = sorted(
        (f for f in flips if f.reason != "nag" and f.created <= now), key=lambda f: f.created
    )
    intervals: list[tuple[datetime | None, datetime]] = []
    end = now
    status = current_status
    for flip in reversed(events):
        if status == "down" and flip.created < end:
            intervals.append((flip.created, end))
        end = flip.created
        status = flip.old_status
    if status == "down" and (created is None or created < end):
        intervals.append((created, end))
    intervals.reverse()
    # down → down changes that are not nags (a failing check re-failing) continue an outage.
    merged: list[tuple[datetime | None, datetime]] = []
    for start, stop in intervals:
        if merged and start is not None and merged[-1][1] >= start:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return merged


def downtime_periods(
    flips: Iterable[FlipLike],
    now: datetime,
    current_status: str,
    periods: Sequence[Period],
    created: datetime | None = None,
) -> list[Downtime]:
    """Outages and down seconds of one check in each period (same order as ``periods``).

    ``current_status`` is the check's stored status (the status after its last flip).
    An outage counts in every period it overlaps, so one spanning a boundary counts on both
    sides, each with its own share of the down time. A period that ended before ``created``
    has no data.
    """
    intervals = down_intervals(flips, now, current_status, created)
    result: list[Downtime] = []
    for period in periods:
        end = min(period.end, now)
        seconds = max(0.0, (end - period.start).total_seconds())
        if created is not None and period.end <= created:
            result.append(Downtime(period, 0, 0.0, seconds, no_data=True))
            continue
        outages = 0
        down = 0.0
        for start, stop in intervals:
            lo = period.start if start is None else max(start, period.start)
            hi = min(stop, end)
            starts_inside = start is not None and period.start <= start < end
            if lo < hi or starts_inside:
                outages += 1
                down += max(0.0, (hi - lo).total_seconds())
        result.append(Downtime(period, outages, down, seconds))
    return result


def format_downtime(seconds: float) -> str:
    """``2 days 3 h 5 min``; under a minute in seconds; ``none`` for zero."""
    total = int(seconds)
    if total <= 0:
        return "none"
    if total < 60:
        return f"{total} sec"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def format_uptime(percent: float) -> str:
    """Two decimals, rounded down, so 99.999% never reads as 100.00%."""
    return f"{math.floor(round(percent * 100, 6)) / 100:.2f}%"


# --- claiming -------------------------------------------------------------------------------------


class DueReport(NamedTuple):
    user_id: int
    due: datetime  # the profile's next_report_date as read: the claim token


async def schedule_reports(db: Database, now: datetime) -> int:
    """Give a date to every profile with reports on and none set (nothing is sent for them)."""
    scheduled = 0
    while True:
        async with write_transaction(db) as conn:
            rows = (
                await conn.execute(
                    select(m.Profile.id, m.Profile.reports, m.Profile.tz)
                    .where(m.Profile.reports.in_(KINDS), m.Profile.next_report_date.is_(None))
                    .order_by(m.Profile.id)
                    .limit(BATCH)
                )
            ).all()
            for row in rows:
                changed = await conn.execute(
                    update(m.Profile)
                    .where(
                        m.Profile.id == row.id,
                        m.Profile.next_report_date.is_(None),
                        m.Profile.reports == row.reports,
                    )
                    .values(next_report_date=next_report_date(row.reports, row.tz, now))
                )
                scheduled += changed.rowcount
        if len(rows) < BATCH:
            return scheduled


async def due_reports(db: Database, now: datetime, limit: int = BATCH) -> list[DueReport]:
    """Active users whose report is due (reports on, ``next_report_date <= now``)."""
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(m.Profile.user_id, m.Profile.next_report_date)
                .join(m.User, m.User.id == m.Profile.user_id)
                .where(
                    m.Profile.reports.in_(KINDS),
                    m.Profile.next_report_date <= now,
                    m.User.is_active.is_(True),
                )
                .order_by(m.Profile.next_report_date, m.Profile.user_id)
                .limit(limit)
            )
        ).all()
    return [DueReport(row.user_id, row.next_report_date) for row in rows]


async def claim_report(db: Database, user_id: int, expected_date: datetime, now: datetime) -> bool:
    """Move the user's next_report_date from ``expected_date`` to the next one; True only for
    the one caller whose UPDATE matched, who then sends the report."""
    async with write_transaction(db) as conn:
        row = (
            await conn.execute(
                select(m.Profile.reports, m.Profile.tz).where(m.Profile.user_id == user_id)
            )
        ).first()
        if row is None:
            return False
        following = next_report_date(row.reports, row.tz, now)
        changed = await conn.execute(
            update(m.Profile)
            .where(
                m.Profile.user_id == user_id,
                m.Profile.next_report_date == expected_date,
                m.Profile.reports.in_(KINDS),
            )
            .values(next_report_date=following)
        )
        return bool(changed.rowcount == 1)


# --- the report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckLine:
    name: str
    status: str
    last_ping: str
    outages: int | None  # None: no data for the period
    downtime: str
    uptime: str
    down_seconds: float


@dataclass(frozen=True)
class ProjectGroup:
    name: str
    checks: list[CheckLine]


@dataclass(frozen=True)
class Report:
    kind: str
    subject: str
    period: Period
    tz: str
    projects: list[ProjectGroup]

    @property
    def checks_with_downtime(self) -> int:
        return sum(1 for p in self.projects for c in p.checks if c.outages)

    @property
    def total_outages(self) -> int:
        return sum(c.outages or 0 for p in self.projects for c in p.checks)

    @property
    def total_checks(self) -> int:
        return sum(len(p.checks) for p in self.projects)


def _format_time(value: datetime | None, tz: ZoneInfo) -> str:
    if value is None:
        return "never"
    local = value.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


async def collect_report(db: Database, user_id: int, now: datetime) -> Report | None:
    """The report's data: None when reports are off or the user has no checks."""
    async with db.sessionmaker() as session:
        profile = await session.scalar(select(m.Profile).where(m.Profile.user_id == user_id))
        if profile is None or profile.reports not in KINDS:
            return None
        kind, tz = profile.reports, profile.tz
        [period] = report_periods(kind, tz, now)
        project_ids = select(m.Project.id).where(
            or_(
                m.Project.owner_id == user_id,
                m.Project.id.in_(select(m.Member.project_id).where(m.Member.user_id == user_id)),
            )
        )
        rows = (
            await session.execute(
                select(m.Check, m.Project.name)
                .join(m.Project, m.Project.id == m.Check.project_id)
                .where(m.Check.project_id.in_(project_ids))
            )
        ).all()
        if not rows:
            return None
        flips = (
            await session.execute(
                select(
                    m.Flip.check_id,
                    m.Flip.created,
                    m.Flip.old_status,
                    m.Flip.new_status,
                    m.Flip.reason,
                )
                .join(m.Check, m.Check.id == m.Flip.check_id)
                .where(
                    m.Check.project_id.in_(project_ids),
                    m.Flip.created >= period.start,
                    m.Flip.reason != "nag",
                )
            )
        ).all()
    by_check: dict[int, list[FlipLike]] = {}
    for flip in flips:
        by_check.setdefault(flip.check_id, []).append(flip)

    local_tz = zone(tz)
    groups: dict[tuple[str, int], list[tuple[str, CheckLine]]] = {}
    for check, project_name in rows:
        [downtime] = downtime_periods(
            by_check.get(check.id, []), now, check.status, [period], check.created
        )
        name = check.name or str(check.code)
        line = CheckLine(
            name=name,
            status=displayed_status(check, now),
            last_ping=_format_time(check.last_ping, local_tz),
            outages=None if downtime.no_data else downtime.outages,
            downtime="no data" if downtime.no_data else format_downtime(downtime.down_seconds),
            uptime="no data" if downtime.no_data else format_uptime(downtime.uptime),
            down_seconds=downtime.down_seconds,
        )
        groups.setdefault((project_name, check.project_id), []).append((name.lower(), line))
    projects = [
        ProjectGroup(name or "(unnamed project)", [line for _, line in sorted(lines, key=_key)])
        for (name, _), lines in sorted(
            groups.items(), key=lambda item: (item[0][0].lower(), item[0][1])
        )
    ]
    return Report(kind, SUBJECTS[kind], period, tz, projects)


def _key(item: tuple[str, CheckLine]) -> str:
    return item[0]


def render_report(report: Report, settings: Settings) -> tuple[str, str]:
    """The plain-text and HTML bodies."""
    context = {
        "report": report,
        "site_name": settings.site_name,
        "site_root": settings.site_root.rstrip("/"),
    }
    return mail.render("report", context)


async def build_report(
    db: Database, user_id: int, now: datetime, settings: Settings
) -> EmailMessage | None:
    """The report email for the last complete period in the user's time zone; None when the
    user has no checks (or reports are off)."""
    report = await collect_report(db, user_id, now)
    if report is None:
        return None
    async with db.engine.connect() as conn:
        email = (await conn.execute(select(m.User.email).where(m.User.id == user_id))).scalar()
    if not email:
        return None
    text, html = render_report(report, settings)
    return mail.build_message(
        settings, email, report.subject, text, html, headers={"Auto-Submitted": "auto-generated"}
    )


async def send_due_reports(db: Database, settings: Settings, now: datetime) -> int:
    """Schedule new profiles, then claim and send every due report; returns how many were sent.

    A claim is committed before the email goes out: a crash or a send failure loses that one
    report (logged), it never sends it twice.
    """
    await schedule_reports(db, now)
    sent = 0
    while True:
        due = await due_reports(db, now)
        claimed_any = False
        for user_id, expected in due:
            if not await claim_report(db, user_id, expected, now):
                continue
            claimed_any = True
            try:
                message = await build_report(db, user_id, now, settings)
                if message is None:
                    continue
                await mail.send(settings, message)
            except Exception:
                log.exception("report for user %s not sent", user_id)
                continue
            sent += 1
        if len(due) < BATCH or not claimed_any:
            return sent
