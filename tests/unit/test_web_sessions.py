"""The database session store: expiry, and no write for a session that did not change."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.db import models as m
from app.db.engine import Database
from app.web.ui.sessions import DatabaseStore
from tests.conftest import FakeClock


async def _rows(db: Database) -> list[tuple[str, bytes]]:
    async with db.engine.connect() as conn:
        return [(r.key, r.value) for r in await conn.execute(select(m.WebSession))]


async def test_it_stores_and_reads_back(db: Database, clock: FakeClock) -> None:
    store = DatabaseStore(db, clock)
    await store.set("k", b"data", expires_in=60)
    assert await store.get("k") == b"data"
    assert await store.exists("k")
    assert await store.expires_in("k") == 60


async def test_an_expired_session_is_gone(db: Database, clock: FakeClock) -> None:
    store = DatabaseStore(db, clock)
    await store.set("k", b"data", expires_in=60)
    clock.advance(61)
    assert await store.get("k") is None
    assert await store.delete_expired() == 1
    assert await _rows(db) == []


async def test_an_unchanged_session_is_not_written_again(db: Database, clock: FakeClock) -> None:
    store = DatabaseStore(db, clock)
    await store.set("k", b"data", expires_in=timedelta(days=14))
    clock.advance(60)
    # A page view: the middleware reads, then stores the same data again.
    await store.get("k")
    await store.set("k", b"data", expires_in=timedelta(days=14))
    assert await store.expires_in("k") == int(timedelta(days=14).total_seconds()) - 60


async def test_a_session_half_way_to_expiry_is_renewed(db: Database, clock: FakeClock) -> None:
    store = DatabaseStore(db, clock)
    await store.set("k", b"data", expires_in=timedelta(days=14))
    clock.advance(timedelta(days=8).total_seconds())
    await store.get("k")
    await store.set("k", b"data", expires_in=timedelta(days=14))
    assert await store.expires_in("k") == int(timedelta(days=14).total_seconds())


async def test_changed_data_is_written_and_shared(db: Database, clock: FakeClock) -> None:
    first, second = DatabaseStore(db, clock), DatabaseStore(db, clock)  # two web processes
    await first.set("k", b"one", expires_in=60)
    assert await second.get("k") == b"one"
    await second.set("k", b"two", expires_in=60)
    assert await first.get("k") == b"two"
    await first.delete("k")
    assert await second.get("k") is None
    async with db.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(m.WebSession)) == 0
