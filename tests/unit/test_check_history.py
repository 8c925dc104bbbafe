"""app.domain.check_history on the real database: ping log pages, timeline, monthly downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, update

from app.db import models as m
from app.db.engine import Database
from app.domain import check_history
from app.domain.errors import NotFound
from tests.conftest import FakeClock
from tests.factories import Factory


async def _check_with_pings(factory: Factory, count: int, lowest: int = 1) -> m.Check:
    check = await factory.check()
    now = factory.clock()
    async with factory.db.engine.begin() as conn:
        if count:
            await conn.execute(
                insert(m.Ping),
                [
                    {
                        "check_id": check.id,
                        "n": n,
                        "kind": "success",
                        "created": now,
                        "body": b"x" * n,
                    }
                    for n in range(lowest, count + 1)
                ],
            )
        await conn.execute(update(m.Check).where(m.Check.id == check.id).values(n_pings=count))
    return await factory.reload(check)


async def _page(
    db: Database, check: m.Check, limit: int = 1000, **keys: int | None
) -> check_history.PingPage:
    async with db.sessionmaker() as session:
        return await check_history.ping_page(session, check, limit, per_page=10, **keys)


def _numbers(page: check_history.PingPage) -> list[int]:
    return [p.n for p in page.pings]


async def test_the_newest_page_comes_first(factory: Factory, db: Database) -> None:
    check = await _check_with_pings(factory, 25)
    page = await _page(db, check)
    assert _numbers(page) == list(range(25, 15, -1))
    assert (page.older_than, page.newer_than, page.is_newest, page.total) == (16, None, True, 25)
    assert page.pings[0].body_size == 25


async def test_older_and_newer_pages_meet_exactly(factory: Factory, db: Database) -> None:
    check = await _check_with_pings(factory, 25)
    middle = await _page(db, check, before=16)
    assert _numbers(middle) == list(range(15, 5, -1))
    assert (middle.older_than, middle.newer_than, middle.is_newest) == (6, 15, False)
    last = await _page(db, check, before=6)
    assert _numbers(last) == [5, 4, 3, 2, 1]
    assert (last.older_than, last.newer_than) == (None, 5)
    assert _numbers(await _page(db, check, after=5)) == list(range(15, 5, -1))
    back = await _page(db, check, after=15)
    assert _numbers(back) == list(range(25, 15, -1))
    assert (back.newer_than, back.is_newest) == (None, True)


async def test_a_page_of_exactly_per_page_pings_has_no_neighbours(
    factory: Factory, db: Database
) -> None:
    check = await _check_with_pings(factory, 10)
    page = await _page(db, check)
    assert (len(page.pings), page.older_than, page.newer_than) == (10, None, None)


async def test_an_empty_log(factory: Factory, db: Database) -> None:
    check = await _check_with_pings(factory, 0)
    page = await _page(db, check)
    assert (page.pings, page.older_than, page.newer_than, page.is_newest, page.total) == (
        [],
        None,
        None,
        True,
        0,
    )


async def test_pings_outside_the_log_window_are_left_out(factory: Factory, db: Database) -> None:
    check = await _check_with_pings(factory, 30)
    page = await _page(db, check, limit=12, before=25)
    assert _numbers(page) == [24, 23, 22, 21, 20, 19]
    assert page.older_than is None
    assert page.total == 12


async def test_pages_survive_pruning(factory: Factory, db: Database) -> None:
    # pings 1..20 were pruned; a link made earlier still lands somewhere sensible
    check = await _check_with_pings(factory, 30, lowest=21)
    stale = await _page(db, check, before=15)
    assert stale.pings == [] and not stale.is_newest
    assert _numbers(await _page(db, check, after=3)) == list(range(30, 20, -1))


async def test_huge_and_negative_keys_do_not_fail(factory: Factory, db: Database) -> None:
    check = await _check_with_pings(factory, 3)
    assert _numbers(await _page(db, check, before=10**15)) == [3, 2, 1]
    assert _numbers(await _page(db, check, after=10**15)) == [3, 2, 1]
    assert _numbers(await _page(db, check, before=-1)) == []
    assert _numbers(await _page(db, check, after=-1)) == [3, 2, 1]


async def test_durations_of_72_hours_or_more_are_not_shown(factory: Factory, db: Database) -> None:
    check = await _check_with_pings(factory, 0)
    async with db.engine.begin() as conn:
        for n, duration in ((1, 61.234), (2, 72 * 3600.0)):
            await conn.execute(
                insert(m.Ping).values(
                    check_id=check.id,
                    n=n,
                    kind="success",
                    created=factory.clock(),
                    duration=duration,
                )
            )
        await conn.execute(update(m.Check).where(m.Check.id == check.id).values(n_pings=2))
    page = await _page(db, await factory.reload(check))
    assert [p.duration for p in page.pings] == [None, 61.23]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"hello\nworld\t!", "hello\nworld\t!"),
        ("ünïcödé".encode(), "ünïcödé"),
        (b"\xff\xfe", None),
        (b"nul\x00inside", None),
    ],
)
def test_readable_text(raw: bytes, text: str | None) -> None:
    assert check_history.readable_text(raw) == text


async def test_a_pruned_ping_body_is_not_found(factory: Factory, db: Database) -> None:
    check = await _check_with_pings(factory, 5)
    async with db.sessionmaker() as session:
        body = await check_history.ping_body(session, check, 5)
        assert (body.size, body.text) == (5, "xxxxx")
        with pytest.raises(NotFound):
            await check_history.ping_body(session, check, 6)


async def test_the_timeline_is_newest_first_and_limited(
    factory: Factory, db: Database, clock: FakeClock
) -> None:
    check = await factory.check()
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(m.Flip),
            [
                {
                    "check_id": check.id,
                    "created": clock() - timedelta(minutes=i),
                    "old_status": "up" if i % 2 else "down",
                    "new_status": "down" if i % 2 else "up",
                    "reason": "",
                }
                for i in range(1, 8)
            ],
        )
    async with db.sessionmaker() as session:
        events = await check_history.timeline(session, check, limit=5)
    assert [e.created for e in events] == [clock() - timedelta(minutes=i) for i in range(1, 6)]
    assert all(e.deliveries == [] for e in events)


async def test_monthly_downtime_follows_the_viewers_months(
    factory: Factory, db: Database, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    check = await factory.check(created=datetime(2025, 12, 1, tzinfo=UTC), status="up")
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(m.Flip),
            [
                # down from 22:30 UTC on 28 Feb to 00:30 UTC on 1 March: in Riga (UTC+2)
                # all of it is on 1 March; in UTC it straddles the month boundary
                {
                    "check_id": check.id,
                    "created": datetime(2026, 2, 28, 22, 30, tzinfo=UTC),
                    "old_status": "up",
                    "new_status": "down",
                    "reason": "timeout",
                },
                {
                    "check_id": check.id,
                    "created": datetime(2026, 3, 1, 0, 30, tzinfo=UTC),
                    "old_status": "down",
                    "new_status": "up",
                    "reason": "",
                },
            ],
        )
    async with db.sessionmaker() as session:
        riga = await check_history.monthly_downtime(session, check, "Europe/Riga", clock())
        utc = await check_history.monthly_downtime(session, check, "UTC", clock())
    assert [d.period.label for d in riga] == ["March 2026", "February 2026", "January 2026"]
    assert [(d.outages, d.down_seconds) for d in riga] == [(1, 7200.0), (0, 0.0), (0, 0.0)]
    assert [(d.outages, d.down_seconds) for d in utc] == [(1, 1800.0), (1, 5400.0), (0, 0.0)]
    assert riga[1].uptime == 100.0
