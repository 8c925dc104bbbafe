"""Pruning: old pings beyond each project's ping log limit, old flips and notifications,
expired dashboard sessions and idle rate-limit buckets.

Every DELETE removes at most ``batch`` rows (``WHERE id IN (SELECT id … LIMIT batch)``) in
its own short write transaction, looping until nothing is left, so pruning a huge table never
holds the writer (SQLite) or many row locks (PostgreSQL) for long.
Reference: reference/healthchecks-detail.md, section 7.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select

from app.db import models as m
from app.db.engine import Database, write_transaction

FLIP_DAYS = 93
BATCH = 5000
CHECK_PAGE = 1000
BUCKET_IDLE = 86400  # seconds: the longest rate-limit window (app.domain.ratelimit)


async def _delete_batch(db: Database, model: Any, where: Any, batch: int) -> int:
    async with write_transaction(db) as conn:
        key = model.__mapper__.primary_key[0]
        result = await conn.execute(
            delete(model).where(key.in_(select(key).where(where).limit(batch)))
        )
        return int(result.rowcount or 0)


async def _delete_all(db: Database, model: Any, where: Any, batch: int) -> int:
    total = 0
    while True:
        deleted = await _delete_batch(db, model, where, batch)
        total += deleted
        if deleted < batch:
            return total


async def _checks_to_prune(db: Database, after_id: int) -> list[tuple[int, int]]:
    """(check id, highest n to delete) for checks that hold pings beyond their project's limit."""
    cutoff = m.Check.n_pings - m.Project.ping_log_limit
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(m.Check.id, cutoff.label("cutoff"))
                .join(m.Project, m.Project.id == m.Check.project_id)
                .where(
                    m.Check.id > after_id,
                    m.Check.n_pings > m.Project.ping_log_limit,
                    # a probe of the (check_id, n) index: only checks with something to delete
                    exists().where(m.Ping.check_id == m.Check.id, m.Ping.n <= cutoff),
                )
                .order_by(m.Check.id)
                .limit(CHECK_PAGE)
            )
        ).all()
    return [(row.id, row.cutoff) for row in rows]


async def prune_pings(db: Database, *, batch: int = BATCH) -> int:
    """Keep the newest ``ping_log_limit`` pings of every check: delete ``n <= n_pings - limit``.

    A ping arriving meanwhile only raises n_pings, so a cutoff read earlier deletes less,
    never more.
    """
    total = 0
    after_id = 0
    while True:
        checks = await _checks_to_prune(db, after_id)
        for check_id, cutoff in checks:
            total += await _delete_all(
                db, m.Ping, (m.Ping.check_id == check_id) & (m.Ping.n <= cutoff), batch
            )
        if len(checks) < CHECK_PAGE:
            return total
        after_id = checks[-1][0]


async def prune(
    db: Database, now: datetime, *, flip_days: int = FLIP_DAYS, batch: int = BATCH
) -> dict[str, int]:
    """Delete pings beyond each project's ping log limit, and flips and notifications older
    than ``flip_days`` days. Returns how many rows of each were deleted."""
    cutoff = now - timedelta(days=flip_days)
    pings = await prune_pings(db, batch=batch)
    # Notifications first: deleting a flip would cascade to its notifications uncounted.
    notifications = await _delete_all(db, m.Notification, m.Notification.created < cutoff, batch)
    flips = await _delete_all(db, m.Flip, m.Flip.created < cutoff, batch)
    sessions = await _delete_all(db, m.WebSession, m.WebSession.expires_at < now, batch)
    # A bucket untouched for longer than the longest window is full: the same as no row.
    full = now - timedelta(seconds=BUCKET_IDLE)
    buckets = await _delete_all(db, m.TokenBucket, m.TokenBucket.updated < full, batch)
    return {
        "pings": pings,
        "flips": flips,
        "notifications": notifications,
        "sessions": sessions,
        "rate_limit_buckets": buckets,
    }
