"""Token buckets in the database (reference §8.3), shared by every web process.

A bucket holds tokens in [0, 1]; each use costs 1/capacity; it refills linearly, full after
``window`` seconds. A use that would take it below zero is refused and costs nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import models as m
from app.db.engine import Database, write_transaction


@dataclass(frozen=True)
class Limit:
    scope: str
    capacity: int
    window: float  # seconds

    def key(self, value: str) -> str:
        # Hashed: bucket keys hold IPs and emails, which need not sit in the table in clear.
        return f"{self.scope}-" + hashlib.sha256(value.encode()).hexdigest()


LOGIN_PER_IP = Limit("login-ip", 20, 3600)
LOGIN_PER_EMAIL = Limit("login-email", 20, 3600)
PASSWORD_PER_EMAIL = Limit("password-email", 20, 86400)
INVITES_PER_USER = Limit("invites-user", 20, 86400)
_EPSILON = 1e-9


async def _take(conn: AsyncConnection, limit: Limit, value: str, now: datetime) -> bool:
    key = limit.key(value)
    # A first use creates the bucket full; ON CONFLICT lets two first uses race safely, and
    # the row lock below then orders them.
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    await conn.execute(
        dialect.insert(m.TokenBucket)
        .values(value=key, tokens=1.0, updated=now)
        .on_conflict_do_nothing(index_elements=[m.TokenBucket.value])
    )
    query = select(m.TokenBucket.tokens, m.TokenBucket.updated).where(m.TokenBucket.value == key)
    if conn.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE already serialises writers
        query = query.with_for_update()
    row = (await conn.execute(query)).one()
    elapsed = max(0.0, (now - row.updated).total_seconds())
    tokens = min(1.0, row.tokens + elapsed / limit.window) - 1.0 / limit.capacity
    if tokens < -_EPSILON:  # 1 - 20 × (1/20) is a hair below zero in floating point
        return False
    await conn.execute(
        update(m.TokenBucket)
        .where(m.TokenBucket.value == key)
        .values(tokens=max(tokens, 0.0), updated=now)
    )
    return True


async def allow(db: Database, now: datetime, *uses: tuple[Limit, str]) -> bool:
    """Spend one token from every bucket named, or from none when any of them is empty."""
    try:
        async with write_transaction(db) as conn:
            for limit, value in uses:
                if not await _take(conn, limit, value, now):
                    raise _Refused
    except _Refused:
        return False  # rolled back: the other buckets keep their tokens
    return True


class _Refused(Exception):
    pass
