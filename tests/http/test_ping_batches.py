"""Group commit: concurrent pings share one transaction and are applied in arrival order, as
if each had been written alone; one refused ping does not fail the others."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from app.db import models as m
from app.domain import pings
from app.domain.pings import PingRequest


def pending(target, ping, now):
    future = asyncio.get_running_loop().create_future()
    return pings._Pending(target, ping, now, future)


async def test_a_batch_applies_pings_to_one_check_in_order(factory, clock):
    project, _ = await factory.project()
    check = await factory.check(project, slug="nightly")  # the project nags hourly
    on, off = await factory.channel(project), await factory.channel(project, notify_up=False)
    await factory.assign(check, on)
    await factory.assign(check, off)
    rid = uuid.uuid4()
    t0 = clock()
    batch = [
        pending(check.code, PingRequest(action="start", rid=rid), t0),
        pending(check.code, PingRequest(rid=rid), t0 + timedelta(seconds=5)),  # closes the run
        pending(check.code, PingRequest(action="fail"), t0 + timedelta(seconds=6)),
        pending((project.ping_key, "nightly"), PingRequest(), t0 + timedelta(seconds=7)),
        pending(check.code, PingRequest(action="fail"), t0 + timedelta(seconds=8)),
    ]
    results = await pings._write_batch(factory.db, batch)

    assert [(r.n, r.kind, r.old_status, r.new_status) for r in results] == [
        (1, "start", "new", "new"),
        (2, "success", "new", "up"),
        (3, "fail", "up", "down"),
        (4, "success", "down", "up"),
        (5, "fail", "up", "down"),
    ]
    recorded = await factory.pings(check)
    assert [p.n for p in recorded] == [1, 2, 3, 4, 5]
    assert recorded[1].duration == 5.0
    check = await factory.reload(check)
    assert (check.n_pings, check.status) == (5, "down")
    assert check.last_ping == t0 + timedelta(seconds=8)
    assert check.next_nag_at == t0 + timedelta(seconds=8, hours=1)
    # new → up is quiet; each later flip notifies the channels of its own direction.
    flips = await factory.flips(check)
    assert [(f.old_status, f.new_status, f.processed is None) for f in flips] == [
        ("new", "up", False),
        ("up", "down", True),
        ("down", "up", True),
        ("up", "down", True),
    ]
    async with factory.db.engine.connect() as conn:
        outbox = (
            await conn.execute(
                select(
                    m.Notification.flip_id, m.Notification.channel_id, m.Notification.check_status
                ).order_by(m.Notification.flip_id, m.Notification.channel_id)
            )
        ).all()
    assert [tuple(row) for row in outbox] == [
        (flips[1].id, on.id, "down"),
        (flips[1].id, off.id, "down"),
        (flips[2].id, on.id, "up"),
        (flips[3].id, on.id, "down"),
        (flips[3].id, off.id, "down"),
    ]


async def test_a_batch_answers_each_target_on_its_own(factory, clock):
    project, _ = await factory.project()
    first = await factory.check(project, slug="first")
    second = await factory.check(project, slug="twin")
    await factory.check(project, slug="twin")  # two checks with one slug: ambiguous
    other_project, _ = await factory.project()
    await factory.check(other_project, slug="first")  # same slug, another key: not touched
    now = clock()
    batch = [
        pending(uuid.uuid4(), PingRequest(), now),  # no such check
        pending((project.ping_key, "first"), PingRequest(), now),
        pending((project.ping_key, "twin"), PingRequest(), now),
        pending(second.code, PingRequest(action="fail"), now),
        pending(("no-such-key", "first"), PingRequest(), now),
    ]
    results = await pings._write_batch(factory.db, batch)

    assert results[0] is None and results[2] is None and results[4] is None
    assert (results[1].check_id, results[1].new_status) == (first.id, "up")
    assert (results[3].check_id, results[3].new_status) == (second.id, "down")
    assert [c.n_pings for c in [await factory.reload(first), await factory.reload(second)]] == [
        1,
        1,
    ]


async def test_pings_that_arrive_during_a_write_share_the_next_one(factory, clock, monkeypatch):
    check = await factory.check()
    sizes: list[int] = []
    real = pings._write_batch

    async def counted(db, batch):
        sizes.append(len(batch))
        return await real(db, batch)

    monkeypatch.setattr(pings, "_write_batch", counted)
    batcher = pings._batcher(factory.db)
    monkeypatch.setattr(batcher, "max_in_flight", 1)
    results = await asyncio.gather(
        *(pings.record_ping(factory.db, check.code, PingRequest(), clock()) for _ in range(50))
    )

    # The first is written at once, alone; the 49 that queued behind it go in one transaction.
    assert sizes == [1, 49]
    assert sorted(r.n for r in results) == list(range(1, 51))
    assert (await factory.reload(check)).n_pings == 50


async def test_a_refused_ping_fails_alone(factory, clock, monkeypatch):
    check = await factory.check()
    poison = PingRequest(ua="refused")
    real = pings._write_batch

    async def refuses_poison(db, batch):
        if any(item.ping is poison for item in batch):
            raise sa_exc.DataError("INSERT INTO pings", {}, Exception("invalid byte sequence"))
        return await real(db, batch)

    monkeypatch.setattr(pings, "_write_batch", refuses_poison)
    monkeypatch.setattr(pings._batcher(factory.db), "max_in_flight", 1)
    requests = [PingRequest(), PingRequest(), poison, PingRequest(), PingRequest()]
    results = await asyncio.gather(
        *(pings.record_ping(factory.db, check.code, ping, clock()) for ping in requests),
        return_exceptions=True,
    )

    assert [type(r).__name__ for r in results] == ["PingResult"] * 2 + ["DataError"] + [
        "PingResult"
    ] * 2
    assert (await factory.reload(check)).n_pings == 4
    assert [p.ua for p in await factory.pings(check)] == [""] * 4


async def test_a_database_outage_fails_the_batch_at_once(factory, clock, monkeypatch):
    # Retrying each ping alone would make the last wait one timeout per ping before it.
    check = await factory.check()
    writes: list[int] = []

    async def unreachable(db, batch):
        writes.append(len(batch))
        raise sa_exc.OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(pings, "_write_batch", unreachable)
    monkeypatch.setattr(pings._batcher(factory.db), "max_in_flight", 1)
    results = await asyncio.gather(
        *(pings.record_ping(factory.db, check.code, PingRequest(), clock()) for _ in range(5)),
        return_exceptions=True,
    )

    assert [type(r).__name__ for r in results] == ["OperationalError"] * 5
    assert writes == [1, 4]


async def test_a_client_that_hangs_up_does_not_lose_its_ping(factory, clock):
    check = await factory.check()
    batcher = pings._batcher(factory.db)
    task = asyncio.ensure_future(pings.record_ping(factory.db, check.code, PingRequest(), clock()))
    await asyncio.sleep(0)  # queued, the batch started
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    while batcher.tasks:
        await asyncio.gather(*batcher.tasks)
    assert (await factory.reload(check)).n_pings == 1


async def test_a_ping_the_database_cannot_store_fails_alone(factory, clock, db, monkeypatch):
    if db.sqlite:
        pytest.skip("SQLite stores a NUL in text; PostgreSQL refuses it (SQLSTATE 22021)")
    check = await factory.check()
    monkeypatch.setattr(pings._batcher(factory.db), "max_in_flight", 1)
    requests = [PingRequest(), PingRequest(ua="nul \x00 byte"), PingRequest()]
    results = await asyncio.gather(
        *(pings.record_ping(factory.db, check.code, ping, clock()) for ping in requests),
        return_exceptions=True,
    )

    assert isinstance(results[1], sa_exc.DBAPIError)
    assert [r.n for r in (results[0], results[2])] == [1, 2]


def test_a_batch_takes_at_most_its_count_and_its_bytes_of_bodies():
    def queued(*sizes):
        return [pings._Pending(uuid.uuid4(), PingRequest(body=b"x" * n), None, None) for n in sizes]

    assert pings._batch_size(queued(*[0] * 600)) == pings._MAX_BATCH
    limit = pings._MAX_BATCH_BYTES
    assert pings._batch_size(queued(limit // 2, limit // 2, 1, 1)) == 2
    assert pings._batch_size(queued(limit * 2, 1)) == 1  # a body too big for any batch: alone
    assert pings._batch_size([]) == 0
