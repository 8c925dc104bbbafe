"""Going down and telling people: the sweep, nags, and the notification outbox.

Every status change is a flip row; the transaction that writes a flip also writes one
notification row per selected channel (the outbox). Delivery is driven from the database:
``dispatch_due`` hands due rows to the queue, ``claim`` lets exactly one sender attempt a row,
``record_results`` stores the outcomes or schedules retries. A lost queue message, a killed
worker or a flushed Redis only delays a notification: its row comes due again.
See docs/architecture.md ("Alerting").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    String,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from app.db import models as m
from app.db.bulk import array_insert, unnest_params, unnest_table
from app.db.engine import Database, write_transaction
from app.domain import status as status_rules
from app.domain.checks import TIMING_COLUMNS

SEND_LEASE = timedelta(seconds=90)  # longer than an HTTP call's 30 s timeout, with margin
QUEUE_LEASE = timedelta(seconds=60)  # a dispatched row comes back if no worker claimed it
MAX_ATTEMPTS = 5
BACKOFF = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(seconds=90),
    timedelta(seconds=270),
)
SWEEP_BATCH = 500
MAX_BATCHES = 40  # one sweep call handles at most 20,000 due checks, then yields


# --- the sweep: checks whose deadline passed ---------------------------------------------------

_SWEEP_COLUMNS = (
    m.Check.id,
    *TIMING_COLUMNS,
    m.Check.n_pings,
    m.Project.nag_period,
)


def _due(query: Any, db: Database) -> Any:
    # Several sweepers may run (a lease keeps it to one, but not during a hand-over): each
    # takes rows nobody else holds. SQLite has a single writer, so there is nothing to skip.
    return query if db.sqlite else query.with_for_update(skip_locked=True, of=m.Check)


_SWEPT_STATUSES = ("new", "up", "paused")


async def next_deadline(db: Database) -> datetime | None:
    """The earliest ``alert_after`` the sweep acts on: one index seek per status (a MIN over
    an IN list would scan every up check)."""
    earliest = [
        select(func.min(m.Check.alert_after)).where(m.Check.status == status).scalar_subquery()
        for status in _SWEPT_STATUSES
    ]
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(*earliest))).one()
    return min((when for when in row if when is not None), default=None)


def pause_before_next_pass(now: datetime, next_due: datetime | None, interval: float) -> float:
    """Seconds to wait: SWEEP_INTERVAL, or less when a known deadline comes sooner, so a
    check goes down at its deadline rather than up to an interval later."""
    until = (next_due - now).total_seconds() if next_due is not None else interval
    # A deadline already past is one the last pass left (a row locked by a ping): pacing
    # stays at the interval then, so the loop never spins on it.
    return min(interval, until) if until > 0 else interval


async def sweep_due_checks(
    db: Database,
    now: datetime,
    *,
    batches: int = MAX_BATCHES,
) -> list[int]:
    """Move checks whose alert_after passed: down (with a flip) or to their exact deadline.

    Reads through the (status, alert_after) index, so the cost is O(checks due); writes each
    batch with a handful of set-based statements. Returns the ids of the flips written.
    """
    flips: list[int] = []
    for _ in range(batches):
        async with write_transaction(db) as conn:
            rows = (
                await conn.execute(
                    _due(
                        select(*_SWEEP_COLUMNS)
                        .join(m.Project, m.Project.id == m.Check.project_id)
                        .where(m.Check.status.in_(_SWEPT_STATUSES), m.Check.alert_after <= now)
                        .order_by(m.Check.alert_after)
                        .limit(SWEEP_BATCH),
                        db,
                    )
                )
            ).all()
            flips += await _sweep_rows(conn, rows, now)
        if len(rows) < SWEEP_BATCH:
            break
    return flips


async def _sweep_rows(conn: AsyncConnection, rows: Sequence[Any], now: datetime) -> list[int]:
    down, moved = [], []
    for row in rows:
        deadline = status_rules.alert_after(row)
        if status_rules.displayed_status(row, now) == "down":
            went_down = deadline or now
            nag = went_down + timedelta(seconds=row.nag_period) if row.nag_period > 0 else None
            down.append(
                {
                    "id": row.id,
                    "n": row.n_pings,
                    "status": row.status,
                    "went_down": went_down,
                    "nag": nag,
                }
            )
        else:
            moved.append(
                {"id": row.id, "n": row.n_pings, "status": row.status, "deadline": deadline}
            )
    if moved:
        await _guarded_update(conn, moved, {"alert_after": "deadline"})
    if not down:
        return []
    flipped = set(
        await _guarded_update(
            conn, down, {"status": literal("down"), "alert_after": None, "next_nag_at": "nag"}
        )
    )
    down = [d for d in down if d["id"] in flipped]
    if not down:
        return []
    return await write_flips(
        conn,
        [NewFlip(d["id"], d["went_down"], d["status"], "down", "timeout", d["n"]) for d in down],
        now,
    )


_GUARD_TYPES: dict[str, Any] = {
    "id": BigInteger(),
    "n": Integer(),
    "status": String(),
    "went_down": DateTime(timezone=True),
    "nag": DateTime(timezone=True),
    "deadline": DateTime(timezone=True),
}


async def _guarded_update(
    conn: AsyncConnection, items: list[dict[str, Any]], changes: dict[str, Any]
) -> list[int]:
    """UPDATE the checks in ``items`` that are unchanged since they were read (same n_pings
    and status: a ping that landed meanwhile wins); returns the ids updated. ``changes``
    maps a column to a SQL value, or (a plain str) to the name of a per-item value."""
    if conn.dialect.name == "sqlite":
        # SQLite cannot name the columns of a VALUES list; its statements cost no round trip.
        updated = []
        for item in items:
            result = await conn.execute(
                update(m.Check)
                .where(
                    m.Check.id == item["id"],
                    m.Check.n_pings == item["n"],
                    m.Check.status == item["status"],
                )
                .values(
                    **{
                        col: (item[val] if isinstance(val, str) else val)
                        for col, val in changes.items()
                    }
                )
                .returning(m.Check.id)
            )
            updated += [row[0] for row in result]
        return updated
    # PostgreSQL: one array per field (the statement is prepared once for every batch size).
    types = {name: _GUARD_TYPES[name] for name in items[0]}
    rows = unnest_table("v", types)
    assignments = {
        col: (rows.c[val] if isinstance(val, str) else val) for col, val in changes.items()
    }
    result = await conn.execute(
        update(m.Check)
        .where(
            m.Check.id == rows.c.id, m.Check.n_pings == rows.c.n, m.Check.status == rows.c.status
        )
        .values(**assignments)
        .returning(m.Check.id),
        unnest_params("v", types, items),
    )
    return [row[0] for row in result]


class NewFlip(NamedTuple):
    """A flip to write: when the check changed status, why, and its last ping then."""

    check_id: int
    created: datetime
    old_status: str
    new_status: str
    reason: str
    last_ping_n: int


def notifies(old_status: str, new_status: str) -> bool:
    """new→up and paused→up are quiet: nobody needs to hear that a check started working."""
    return not (new_status == "up" and old_status in ("new", "paused"))


async def write_flips(
    conn: AsyncConnection,
    flips: Sequence[NewFlip],
    now: datetime,
) -> list[int]:
    """Insert flips, in order, and in the same transaction one notification per selected
    channel of each; a flip nobody hears about (quiet, or no channel for its direction) is
    processed at once. A check may flip more than once in one call (a batch of pings)."""
    channels: dict[int, list[tuple[int, bool, bool]]] = {}
    for check_id, channel_id, up, down in (
        await conn.execute(
            select(
                m.check_channels.c.check_id,
                m.Channel.id,
                m.Channel.notify_up,
                m.Channel.notify_down,
            )
            .join(m.Channel, m.Channel.id == m.check_channels.c.channel_id)
            .where(
                m.check_channels.c.check_id.in_({flip.check_id for flip in flips}),
                m.Channel.disabled.is_(False),
            )
        )
    ).all():
        channels.setdefault(check_id, []).append((channel_id, up, down))
    selected = [
        [
            channel_id
            for channel_id, up, down in channels.get(flip.check_id, [])
            if notifies(flip.old_status, flip.new_status)
            and (up if flip.new_status == "up" else down)
        ]
        for flip in flips
    ]
    inserted = (
        (
            await conn.execute(
                insert(m.Flip).returning(m.Flip.id, sort_by_parameter_order=True),
                [
                    {**flip._asdict(), "processed": None if chosen else now}
                    for flip, chosen in zip(flips, selected, strict=True)
                ],
            )
        )
        .scalars()
        .all()
    )
    outbox = [
        {
            "code": uuid.uuid4(),
            "flip_id": flip_id,
            "channel_id": channel_id,
            "check_id": flip.check_id,
            "check_status": flip.new_status,
            "created": now,
            "next_attempt_at": now,
        }
        for flip_id, flip, chosen in zip(inserted, flips, selected, strict=True)
        for channel_id in chosen
    ]
    if outbox and conn.dialect.name == "postgresql":
        await conn.execute(_INSERT_OUTBOX.statement, _INSERT_OUTBOX.params(outbox))
    elif outbox:  # SQLite: statements cost no round trip
        await conn.execute(insert(m.Notification), outbox)
    return list(inserted)


# PostgreSQL: a sweep's outbox rows in one statement (an executemany was one per row).
_INSERT_OUTBOX = array_insert(
    m.Notification,
    "n",
    ("code", "flip_id", "channel_id", "check_id", "check_status", "created", "next_attempt_at"),
)


# --- nags: repeat the down notification while a check stays down ---------------------------------


async def checks_of_flips(db: Database, flip_ids: Sequence[int]) -> list[int]:
    """The checks these flips belong to (to tell open dashboards which rows changed)."""
    async with db.engine.connect() as conn:
        rows = await conn.execute(select(m.Flip.check_id).where(m.Flip.id.in_(flip_ids)).distinct())
        return [row[0] for row in rows]


async def refresh_statistics(db: Database) -> None:
    """ANALYZE the outbox tables after a burst wrote thousands of rows into them in seconds,
    long before autovacuum would: with the old statistics PostgreSQL plans the deliveries'
    lookups by id as if the tables were small and nothing pending (seq scans per batch)."""
    if db.sqlite:
        return
    async with db.engine.connect() as conn:
        await conn.execute(text("ANALYZE flips, notifications"))
        await conn.commit()


def next_nag_after(due: datetime, period: timedelta, now: datetime) -> datetime:
    """The first nag time after ``now`` on the cadence of ``due``: a late sweep sends one nag,
    not a burst, and the next one stays on schedule."""
    missed = (now - due) // period
    return due + (missed + 1) * period


async def sweep_nags(db: Database, now: datetime) -> list[int]:
    """Write a nag flip (reason ``nag``) for every down check whose next nag is due."""
    flips: list[int] = []
    async with write_transaction(db) as conn:
        rows = (
            await conn.execute(
                _due(
                    select(m.Check.id, m.Check.next_nag_at, m.Check.n_pings, m.Project.nag_period)
                    .join(m.Project, m.Project.id == m.Check.project_id)
                    .where(m.Check.status == "down", m.Check.next_nag_at <= now)
                    .order_by(m.Check.next_nag_at)
                    .limit(SWEEP_BATCH),
                    db,
                )
            )
        ).all()
        for row in rows:
            unchanged = and_(
                m.Check.id == row.id,
                m.Check.status == "down",
                m.Check.next_nag_at == row.next_nag_at,
            )
            if row.nag_period <= 0:
                await conn.execute(update(m.Check).where(unchanged).values(next_nag_at=None))
                continue
            following = next_nag_after(row.next_nag_at, timedelta(seconds=row.nag_period), now)
            changed = await conn.execute(
                update(m.Check).where(unchanged).values(next_nag_at=following)
            )
            if changed.rowcount != 1:
                continue
            nag = NewFlip(row.id, now, "down", "down", "nag", row.n_pings)
            flips += await write_flips(conn, [nag], now)
    return flips


# --- delivery ------------------------------------------------------------------------------------

_PENDING = and_(m.Notification.sent_at.is_(None), m.Notification.failed_at.is_(None))
# The same condition for statements that name their rows by id, spelled so that PostgreSQL
# cannot serve it from the pending index: until the next ANALYZE its statistics say almost
# nothing is pending, and in a burst it then walked thousands of pending rows per statement
# (bench/alerts.py). With this spelling it reads the rows it was given, whatever the stats.
_PENDING_BY_ID = func.coalesce(m.Notification.sent_at, m.Notification.failed_at).is_(None)


@dataclass(frozen=True)
class Dispatch:
    notification_id: int
    attempts: int  # the claim token: only a sender that saw this count may claim


async def dispatch_due(db: Database, now: datetime, limit: int = 1000) -> list[Dispatch]:
    """Lease due notifications to the queue; each comes back after QUEUE_LEASE if unclaimed."""
    async with write_transaction(db) as conn:
        rows = (await conn.execute(_due_notifications(db, now, limit))).all()
        if rows:
            await conn.execute(
                update(m.Notification)
                .where(m.Notification.id.in_([r.id for r in rows]))
                .values(next_attempt_at=now + QUEUE_LEASE)
            )
    return [Dispatch(r.id, r.attempts) for r in rows]


async def release_dispatches(db: Database, dispatches: Sequence[Dispatch], now: datetime) -> None:
    """Make notifications due again at once when their queue message could not be sent (the
    broker is down), instead of after the queue lease: the first pass after the broker is
    back sends them. A message that did go out meanwhile is harmless: claims are guarded."""
    if not dispatches:
        return
    async with write_transaction(db) as conn:
        await conn.execute(
            update(m.Notification)
            .where(
                m.Notification.id.in_([d.notification_id for d in dispatches]),
                _PENDING_BY_ID,
                m.Notification.next_attempt_at > now,
            )
            .values(next_attempt_at=now)
        )


def _due_notifications(db: Database, now: datetime, limit: int) -> Any:
    query = (
        select(m.Notification.id, m.Notification.attempts)
        .where(_PENDING, m.Notification.next_attempt_at <= now)
        .order_by(m.Notification.next_attempt_at)
        .limit(limit)
    )
    return query if db.sqlite else query.with_for_update(skip_locked=True)


async def claim(db: Database, dispatch: Dispatch, now: datetime) -> bool:
    """Take the right to attempt this notification once; False if someone else has it."""
    return bool(await claim_many(db, [dispatch], now))


async def claim_many(db: Database, dispatches: Sequence[Dispatch], now: datetime) -> list[int]:
    """Claim each notification whose attempt count is still the dispatched one (so duplicate
    and stale queue messages claim nothing); returns the ids claimed."""
    if not dispatches:
        return []
    dispatched = [(d.notification_id, d.attempts) for d in dispatches]
    async with write_transaction(db) as conn:
        result = await conn.execute(
            _CLAIM,
            {
                "ids": [nid for nid, _ in dispatched],
                "dispatched": dispatched,
                "lease_until": now + SEND_LEASE,
            },
        )
        claimed = set(result.scalars())
    # In dispatch order, once each (a batch may carry a duplicate message's ids).
    return [nid for nid in dict.fromkeys(d.notification_id for d in dispatches) if nid in claimed]


# Statements a burst runs hundreds of times, built once (building one per batch, and its
# cache key, was a tenth of a worker's CPU).
_CLAIM = (
    update(m.Notification)
    .where(
        m.Notification.id.in_(bindparam("ids", expanding=True)),  # by primary key
        tuple_(m.Notification.id, m.Notification.attempts).in_(
            bindparam("dispatched", expanding=True)
        ),
        _PENDING_BY_ID,
    )
    .values(attempts=m.Notification.attempts + 1, next_attempt_at=bindparam("lease_until"))
    .returning(m.Notification.id)
)


SUPERSEDED = "Not sent: a later status of the check was sent through this channel first"


async def superseded(db: Database, notification_ids: Sequence[int]) -> set[int]:
    """Those of these notifications whose check has flipped again since, with the later
    flip's notification already sent through the same channel. Sending one now would put an
    old status after a newer one (a "down" after its recovery; a PagerDuty trigger after its
    resolve). Callers ask only for notifications whose check's status has changed since."""
    if not notification_ids:
        return set()
    later = aliased(m.Notification)
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            select(m.Notification.id).where(
                m.Notification.id.in_(list(notification_ids)),
                exists().where(
                    later.check_id == m.Notification.check_id,
                    later.channel_id == m.Notification.channel_id,
                    later.flip_id > m.Notification.flip_id,
                    later.sent_at.is_not(None),
                ),
            )
        )
        return set(rows.scalars())


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


@dataclass(frozen=True)
class Outcome:
    notification_id: int
    error: str = ""
    permanent: bool = False
    duration: float | None = None
    disables_channel: bool = False
    attempted: bool = True  # False: settled without a call (the channel keeps its last result)


_RESULT = update(m.Notification).where(m.Notification.id == bindparam("nid"))
_SENT = _RESULT.values(error=bindparam("error"), sent_at=bindparam("now"))
_FAILED = _RESULT.values(error=bindparam("error"), failed_at=bindparam("now"))
_RETRY = _RESULT.values(error=bindparam("error"), next_attempt_at=bindparam("at"))
_CHANNEL_RESULT = (
    update(m.Channel)
    .where(m.Channel.id == bindparam("cid"))
    .values(
        last_notify=bindparam("now"),
        last_error=bindparam("error"),
        last_notify_duration=bindparam("duration"),
        # A permanent error disables the channel: new flips leave it out until its config
        # changes or a test succeeds (channels.update_channel, channels.send_test).
        disabled=or_(m.Channel.disabled, bindparam("disable", type_=Boolean)),
    )
)


async def record_results(
    db: Database,
    outcomes: Sequence[Outcome],
    now: datetime,
) -> dict[int, datetime]:
    """Store attempts' outcomes in one transaction; returns the retry time of each that will
    be retried. Rows pruned or deleted meanwhile are skipped."""
    by_id = {outcome.notification_id: outcome for outcome in outcomes}
    retries: dict[int, datetime] = {}
    async with write_transaction(db) as conn:
        rows = (
            await conn.execute(
                select(
                    m.Notification.id,
                    m.Notification.attempts,
                    m.Notification.channel_id,
                    m.Notification.flip_id,
                ).where(m.Notification.id.in_(list(by_id)))
            )
        ).all()
        sent, failed, retry, done_flips = [], [], [], []
        channels: dict[int, dict[str, Any]] = {}
        for row in rows:
            outcome = by_id[row.id]
            if not outcome.error:
                sent.append({"nid": row.id, "error": ""})
            elif outcome.permanent or row.attempts >= MAX_ATTEMPTS:
                failed.append({"nid": row.id, "error": outcome.error})
            else:
                retries[row.id] = now + backoff(row.attempts)
                retry.append({"nid": row.id, "error": outcome.error, "at": retries[row.id]})
            if row.flip_id is not None and row.id not in retries:
                done_flips.append(row.flip_id)
            if outcome.attempted:
                earlier = channels.get(row.channel_id)
                channels[row.channel_id] = {
                    "cid": row.channel_id,
                    "error": outcome.error,
                    "duration": outcome.duration,
                    "disable": outcome.disables_channel or bool(earlier and earlier["disable"]),
                }
        for statement, params in ((_SENT, sent), (_FAILED, failed), (_RETRY, retry)):
            if params:
                await conn.execute(statement, [{"now": now, **p} for p in params])
        if done_flips:
            await conn.execute(MARK_PROCESSED, {"flip_ids": done_flips, "now": now})
        # Last, so the channel's row lock (every batch of a burst to one channel wants it)
        # is held only until the commit that follows.
        if channels:
            await conn.execute(
                _CHANNEL_RESULT,
                [
                    {"now": now, **channel}
                    for channel in sorted(channels.values(), key=lambda c: c["cid"])
                ],  # one lock order
            )
    return retries


# Mark flips processed where none of their notifications is still pending. (Walking the
# pending index once per flip cost 30-90 ms per batch of 25; this way PostgreSQL probes
# (flip_id, channel_id).)
MARK_PROCESSED = (
    update(m.Flip)
    .where(
        m.Flip.id.in_(bindparam("flip_ids", expanding=True)),
        m.Flip.processed.is_(None),
        ~exists().where(m.Notification.flip_id == m.Flip.id, _PENDING_BY_ID),
    )
    .values(processed=bindparam("now"))
)


# --- leases ------------------------------------------------------------------------------------


async def acquire_lease(
    db: Database, name: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take or renew the named lease; False while another holder's lease is current."""
    dialect_insert = sqlite.insert if db.sqlite else postgresql.insert
    async with write_transaction(db) as conn:
        await conn.execute(
            dialect_insert(m.Lease)
            .values(name=name, holder="", expires_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        changed = await conn.execute(
            update(m.Lease)
            .where(m.Lease.name == name, or_(m.Lease.holder == holder, m.Lease.expires_at <= now))
            .values(holder=holder, expires_at=now + ttl)
        )
        return bool(changed.rowcount == 1)


async def release_lease(db: Database, name: str, holder: str) -> None:
    async with write_transaction(db) as conn:
        await conn.execute(delete(m.Lease).where(m.Lease.name == name, m.Lease.holder == holder))


async def counts(db: Database) -> dict[str, int]:
    """Operator figures: flips not yet processed, notifications without a result."""
    async with db.engine.connect() as conn:
        flips = (
            await conn.execute(
                select(func.count()).select_from(m.Flip).where(m.Flip.processed.is_(None))
            )
        ).scalar_one()
        pending = (
            await conn.execute(select(func.count()).select_from(m.Notification).where(_PENDING))
        ).scalar_one()
    return {"unprocessed_flips": int(flips), "undelivered_notifications": int(pending)}
