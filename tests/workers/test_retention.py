"""Retention: old pings, flips and notifications are pruned in small batches."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from app.db import models as m
from app.db.engine import Database
from app.domain import ratelimit, retention
from app.web.ui.sessions import DatabaseStore

DAY = timedelta(days=1)


async def project_with_limit(factory: Any, limit: int) -> m.Project:
    project, _ = await factory.project()
    async with factory.db.engine.begin() as conn:
        await conn.execute(
            update(m.Project).where(m.Project.id == project.id).values(ping_log_limit=limit)
        )
    return project


async def check_with_pings(factory: Any, project: m.Project, count: int) -> m.Check:
    check = await factory.check(project, n_pings=count, status="up", last_ping=factory.clock())
    if count:
        async with factory.db.engine.begin() as conn:
            await conn.execute(
                insert(m.Ping),
                [
                    {"check_id": check.id, "n": n, "kind": "success", "created": factory.clock()}
                    for n in range(1, count + 1)
                ],
            )
    return check


async def ping_numbers(db: Database, check: m.Check) -> list[int]:
    async with db.engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    select(m.Ping.n).where(m.Ping.check_id == check.id).order_by(m.Ping.n)
                )
            ).scalars()
        )


async def test_each_check_keeps_exactly_its_projects_newest_pings(
    db: Database, factory: Any, clock: Any
) -> None:
    small = await project_with_limit(factory, 3)
    large = await project_with_limit(factory, 20)
    busy = await check_with_pings(factory, small, 25)
    also_busy = await check_with_pings(factory, small, 8)
    at_limit = await check_with_pings(factory, small, 3)
    under_own_limit = await check_with_pings(factory, large, 15)

    counts = await retention.prune(db, clock(), batch=4)  # fewer than the 27 to delete

    assert counts["pings"] == 22 + 5
    assert await ping_numbers(db, busy) == [23, 24, 25]
    assert await ping_numbers(db, also_busy) == [6, 7, 8]
    assert await ping_numbers(db, at_limit) == [1, 2, 3]
    assert await ping_numbers(db, under_own_limit) == list(range(1, 16))
    assert (await retention.prune(db, clock(), batch=4))["pings"] == 0


async def test_pings_are_pruned_by_number_so_a_gap_left_by_earlier_pruning_is_fine(
    db: Database, factory: Any, clock: Any
) -> None:
    project = await project_with_limit(factory, 2)
    check = await check_with_pings(factory, project, 6)
    assert (await retention.prune(db, clock()))["pings"] == 4
    async with db.engine.begin() as conn:  # two more pings arrive
        await conn.execute(
            insert(m.Ping),
            [{"check_id": check.id, "n": n, "kind": "fail", "created": clock()} for n in (7, 8)],
        )
        await conn.execute(update(m.Check).where(m.Check.id == check.id).values(n_pings=8))
    assert (await retention.prune(db, clock(), batch=1))["pings"] == 2
    assert await ping_numbers(db, check) == [7, 8]


async def add_flip_and_notification(
    db: Database, check: m.Check, channel: m.Channel, created: Any
) -> None:
    async with db.engine.begin() as conn:
        flip_id = (
            await conn.execute(
                insert(m.Flip)
                .values(
                    check_id=check.id,
                    created=created,
                    processed=created,
                    old_status="up",
                    new_status="down",
                    reason="timeout",
                )
                .returning(m.Flip.id)
            )
        ).scalar_one()
        await conn.execute(
            insert(m.Notification).values(
                code=uuid.uuid4(),
                flip_id=flip_id,
                channel_id=channel.id,
                check_id=check.id,
                check_status="down",
                created=created,
                next_attempt_at=created,
                sent_at=created,
            )
        )


async def count(db: Database, model: Any) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())


async def test_old_flips_and_notifications_go_and_recent_ones_stay(
    db: Database, factory: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = clock()
    project = await project_with_limit(factory, 100)
    check = await factory.check(project)
    channel = await factory.channel(project)
    for age in range(94, 104):  # ten older than 93 days
        await add_flip_and_notification(db, check, channel, now - age * DAY)
    for age in (0, 1, 30, 92):  # four recent, one a minute short of the limit
        await add_flip_and_notification(db, check, channel, now - age * DAY)
    await add_flip_and_notification(db, check, channel, now - 93 * DAY + timedelta(minutes=1))

    deleted_per_transaction: list[int] = []
    delete_batch = retention._delete_batch

    async def recording(*args: Any) -> int:
        deleted_per_transaction.append(await delete_batch(*args))
        return deleted_per_transaction[-1]

    monkeypatch.setattr(retention, "_delete_batch", recording)
    counts = await retention.prune(db, now, batch=3)

    assert counts == {
        "pings": 0,
        "flips": 10,
        "notifications": 10,
        "sessions": 0,
        "rate_limit_buckets": 0,
    }
    # Notifications, then flips; then (nothing to delete) sessions and buckets.
    assert deleted_per_transaction == [3, 3, 3, 1] * 2 + [0, 0]
    assert await count(db, m.Flip) == 5
    assert await count(db, m.Notification) == 5
    async with db.engine.connect() as conn:
        oldest = (await conn.execute(select(func.min(m.Flip.created)))).scalar_one()
    assert oldest == now - 93 * DAY + timedelta(minutes=1)


async def test_the_retention_window_for_flips_is_configurable(
    db: Database, factory: Any, clock: Any
) -> None:
    now = clock()
    project = await project_with_limit(factory, 100)
    check = await factory.check(project)
    channel = await factory.channel(project)
    for age in (1, 8, 40):
        await add_flip_and_notification(db, check, channel, now - age * DAY)
    assert await retention.prune(db, now, flip_days=7) == {
        "pings": 0,
        "flips": 2,
        "notifications": 2,
        "sessions": 0,
        "rate_limit_buckets": 0,
    }
    assert await retention.prune(db, now, flip_days=7) == {
        "pings": 0,
        "flips": 0,
        "notifications": 0,
        "sessions": 0,
        "rate_limit_buckets": 0,
    }


async def test_expired_sessions_and_idle_rate_limit_buckets_go(db: Database, clock: Any) -> None:
    now = clock()
    store = DatabaseStore(db, clock)
    await store.set("expired", b"x", expires_in=60)
    await store.set("live", b"x", expires_in=3600)
    limit = ratelimit.Limit("t", 5, 60)
    assert await ratelimit.allow(db, now - timedelta(days=2), (limit, "idle"))
    assert await ratelimit.allow(db, now - timedelta(hours=1), (limit, "recent"))
    clock.advance(120)
    counts = await retention.prune(db, clock())
    assert (counts["sessions"], counts["rate_limit_buckets"]) == (1, 1)
    assert await store.get("live") == b"x"
    async with db.engine.connect() as conn:
        buckets = (await conn.execute(select(m.TokenBucket.value))).scalars().all()
    assert buckets == [limit.key("recent")]
