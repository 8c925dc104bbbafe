"""Token buckets: capacity, refill over time, and all-or-nothing across buckets."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.db.engine import Database
from app.domain import ratelimit
from app.domain.ratelimit import Limit
from tests.conftest import FakeClock

FIVE_A_MINUTE = Limit("test", 5, 60)


async def test_it_allows_capacity_uses_then_refuses(db: Database, clock: FakeClock) -> None:
    results = [await ratelimit.allow(db, clock(), (FIVE_A_MINUTE, "a")) for _ in range(6)]
    assert results == [True] * 5 + [False]


async def test_it_refills_linearly(db: Database, clock: FakeClock) -> None:
    for _ in range(5):
        assert await ratelimit.allow(db, clock(), (FIVE_A_MINUTE, "a"))
    clock.advance(12)  # a fifth of the window: one use back
    assert await ratelimit.allow(db, clock(), (FIVE_A_MINUTE, "a"))
    assert not await ratelimit.allow(db, clock(), (FIVE_A_MINUTE, "a"))
    clock.advance(timedelta(hours=1).total_seconds())
    assert [await ratelimit.allow(db, clock(), (FIVE_A_MINUTE, "a")) for _ in range(6)] == [
        True
    ] * 5 + [False]


async def test_buckets_are_per_value(db: Database, clock: FakeClock) -> None:
    for _ in range(5):
        assert await ratelimit.allow(db, clock(), (FIVE_A_MINUTE, "a"))
    assert await ratelimit.allow(db, clock(), (FIVE_A_MINUTE, "b"))


async def test_a_refusal_costs_the_other_buckets_nothing(db: Database, clock: FakeClock) -> None:
    other = Limit("other", 2, 60)
    for _ in range(5):
        assert await ratelimit.allow(db, clock(), (FIVE_A_MINUTE, "ip"))
    # The first bucket refuses, so the second keeps both of its tokens.
    assert not await ratelimit.allow(db, clock(), (FIVE_A_MINUTE, "ip"), (other, "x"))
    assert await ratelimit.allow(db, clock(), (other, "x"))
    assert await ratelimit.allow(db, clock(), (other, "x"))
    assert not await ratelimit.allow(db, clock(), (other, "x"))


def test_bucket_keys_do_not_hold_the_value_in_clear() -> None:
    key = ratelimit.LOGIN_PER_EMAIL.key("ann@example.org")
    assert "ann" not in key and key.startswith("login-email-")


async def test_a_bucket_of_twenty_allows_exactly_twenty(db: Database, clock: FakeClock) -> None:
    twenty = Limit("twenty", 20, 3600)  # 1 - 20 × (1/20) is a hair below zero in floats
    results = [await ratelimit.allow(db, clock(), (twenty, "a")) for _ in range(21)]
    assert results == [True] * 20 + [False]


async def test_concurrent_first_uses_of_a_bucket_all_count(db: Database, clock: FakeClock) -> None:
    # No bucket row yet: every use races to create it, and none may fail or go uncounted.
    uses = [ratelimit.allow(db, clock(), (FIVE_A_MINUTE, "new")) for _ in range(8)]
    results = await asyncio.gather(*uses)
    assert sorted(results) == [False] * 3 + [True] * 5
