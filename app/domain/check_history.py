"""What happened to one check, for its details page: the ping log a page at a time, the
event timeline (status changes and the notifications they caused) and monthly downtime.

Read-only functions over an AsyncSession. Each loads what one page shows with a fixed number
of queries, whatever the size of the log (no per-row queries).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import models as m
from app.domain import checks, reports

PINGS_PER_PAGE = 50
TIMELINE_LIMIT = 100
DOWNTIME_MONTHS = 3


# --- the ping log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PingRow:
    """One line of the ping log; the body itself is loaded only when asked for."""

    n: int
    kind: str
    created: datetime
    exitstatus: int | None
    scheme: str
    method: str
    remote_addr: str | None
    ua: str
    rid: uuid.UUID | None
    duration: float | None  # seconds since the start this ping closed, when known
    body_size: int


@dataclass(frozen=True)
class PingPage:
    """A page of the log, newest first. ``older_than`` / ``newer_than`` are the keys of the
    neighbouring pages (``?before=`` / ``?after=``), None at either end."""

    pings: list[PingRow]
    older_than: int | None
    newer_than: int | None
    is_newest: bool
    total: int  # pings kept in the log window (an upper bound if some were pruned early)


def _window_start(n_pings: int, ping_log_limit: int) -> int:
    """The lowest ping number still inside the ping log window (older ones may be pruned)."""
    return max(1, n_pings - ping_log_limit + 1)


def _clamp(n: int) -> int:
    return max(0, min(n, checks.MAX_PING_NUMBER))


async def ping_page(
    session: AsyncSession,
    check: m.Check,
    ping_log_limit: int,
    *,
    before: int | None = None,
    after: int | None = None,
    per_page: int = PINGS_PER_PAGE,
) -> PingPage:
    """A page of the check's pings, newest first, keyed by ping number.

    ``before=n``: the page of pings older than n; ``after=n``: the page just newer than n;
    neither: the newest page. Keys are ping numbers, not offsets, so a page stays put while
    new pings arrive and old ones are pruned; numbers that no longer exist just give a
    shorter (or the nearest) page.
    """
    lowest = _window_start(check.n_pings, ping_log_limit)
    query = select(
        m.Ping.n,
        m.Ping.kind,
        m.Ping.created,
        m.Ping.exitstatus,
        m.Ping.scheme,
        m.Ping.method,
        m.Ping.remote_addr,
        m.Ping.ua,
        m.Ping.rid,
        m.Ping.duration,
        func.coalesce(func.length(m.Ping.body), 0).label("body_size"),
    ).where(m.Ping.check_id == check.id, m.Ping.n >= lowest)
    if after is not None:
        # The page just above ``after``: read upwards, then show it newest first. The one
        # extra row tells whether an even newer page exists.
        query = query.where(m.Ping.n > _clamp(after)).order_by(m.Ping.n.asc())
        rows = list((await session.execute(query.limit(per_page + 1))).all())
        if not rows:  # past the newest ping: the newest page it is
            return await ping_page(session, check, ping_log_limit, per_page=per_page)
        has_newer = len(rows) > per_page
        rows = rows[:per_page][::-1]
        has_older = rows[-1].n > lowest
    else:
        if before is not None:
            query = query.where(m.Ping.n < _clamp(before))
        rows = list(
            (await session.execute(query.order_by(m.Ping.n.desc()).limit(per_page + 1))).all()
        )
        has_older = len(rows) > per_page
        rows = rows[:per_page]
        has_newer = bool(rows) and rows[0].n < check.n_pings
    pings = [_ping_row(row) for row in rows]
    return PingPage(
        pings=pings,
        older_than=pings[-1].n if has_older else None,
        newer_than=pings[0].n if has_newer else None,
        is_newest=(before is None and after is None) or not (has_newer or not pings),
        total=max(0, check.n_pings - lowest + 1),
    )


def _ping_row(row: Any) -> PingRow:
    return PingRow(
        n=row.n,
        kind=row.kind,
        created=row.created,
        exitstatus=row.exitstatus,
        scheme=row.scheme,
        method=row.method,
        remote_addr=row.remote_addr,
        ua=row.ua,
        rid=row.rid,
        duration=checks.ping_duration(row),
        body_size=int(row.body_size or 0),
    )


@dataclass(frozen=True)
class PingBody:
    """A ping's body for display: ``text`` when it is readable text, else only its size."""

    size: int
    text: str | None


async def ping_body(session: AsyncSession, check: m.Check, n: int) -> PingBody:
    """Ping ``n``'s body; raises NotFound when pruned, missing or empty (as the API does)."""
    raw = await checks.get_ping_body(session, check, n)
    return PingBody(size=len(raw), text=readable_text(raw))


def readable_text(raw: bytes) -> str | None:
    """The body as text if it is UTF-8 without control characters other than whitespace;
    None for anything that looks binary."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text):
        return None
    return text


# --- the event timeline --------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One notification of a flip through one channel, and how it went."""

    channel_kind: str
    channel_name: str
    state: str  # sent | failed | pending
    error: str
    attempts: int
    sent_at: datetime | None
    failed_at: datetime | None
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class Event:
    """A status change (or a nag, a repeated down notification) with its deliveries."""

    created: datetime
    old_status: str
    new_status: str
    reason: str
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def is_nag(self) -> bool:
        return self.reason == "nag"


async def timeline(
    session: AsyncSession, check: m.Check, limit: int = TIMELINE_LIMIT
) -> list[Event]:
    """The last ``limit`` flips of the check, newest first, each with its notifications
    (two queries in all)."""
    flips = (
        await session.execute(
            select(m.Flip.id, m.Flip.created, m.Flip.old_status, m.Flip.new_status, m.Flip.reason)
            .where(m.Flip.check_id == check.id)
            .order_by(m.Flip.created.desc(), m.Flip.id.desc())
            .limit(limit)
        )
    ).all()
    deliveries = await _deliveries(session, [flip.id for flip in flips])
    return [
        Event(
            created=flip.created,
            old_status=flip.old_status,
            new_status=flip.new_status,
            reason=flip.reason,
            deliveries=deliveries.get(flip.id, []),
        )
        for flip in flips
    ]


async def _deliveries(session: AsyncSession, flip_ids: Sequence[int]) -> dict[int, list[Delivery]]:
    result: dict[int, list[Delivery]] = {}
    if not flip_ids:
        return result
    rows = (
        await session.execute(
            select(
                m.Notification.flip_id,
                m.Channel.kind,
                m.Channel.name,
                m.Notification.error,
                m.Notification.attempts,
                m.Notification.sent_at,
                m.Notification.failed_at,
                m.Notification.next_attempt_at,
            )
            .join(m.Channel, m.Channel.id == m.Notification.channel_id)
            .where(m.Notification.flip_id.in_(flip_ids))
            .order_by(m.Notification.id)
        )
    ).all()
    for row in rows:
        if row.sent_at is not None:
            state = "sent"
        elif row.failed_at is not None:
            state = "failed"
        else:
            state = "pending"
        result.setdefault(row.flip_id, []).append(
            Delivery(
                channel_kind=row.kind,
                channel_name=row.name,
                state=state,
                error=row.error,
                attempts=row.attempts,
                sent_at=row.sent_at,
                failed_at=row.failed_at,
                next_attempt_at=row.next_attempt_at if state == "pending" else None,
            )
        )
    return result


# --- downtime ------------------------------------------------------------------------------------


async def monthly_downtime(
    session: AsyncSession, check: m.Check, tz: str, now: datetime, months: int = DOWNTIME_MONTHS
) -> list[reports.Downtime]:
    """Outages, down time and uptime for the current month and the ``months - 1`` before it,
    newest first, with month boundaries in ``tz`` (the same rules as the report emails)."""
    periods = reports.report_periods("monthly", tz, now, months - 1, include_current=True)
    oldest = periods[-1].start
    flips = (
        await session.execute(
            select(m.Flip.created, m.Flip.old_status, m.Flip.new_status, m.Flip.reason).where(
                m.Flip.check_id == check.id, m.Flip.created >= oldest, m.Flip.reason != "nag"
            )
        )
    ).all()
    return reports.downtime_periods(flips, now, check.status, periods, check.created)
