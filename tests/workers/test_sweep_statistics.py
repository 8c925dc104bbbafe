"""After a pass that wrote a burst into the outbox, the sweep refreshes its statistics."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.workers.test_pipeline import test_runtime  # noqa: F401
from tests.workers.test_sweep import up_check
from workers import sweeper


async def analyzed_rows(db) -> float:
    """What PostgreSQL's planner believes the outbox holds (-1: never analysed)."""
    async with db.engine.connect() as conn:
        query = "SELECT reltuples FROM pg_class WHERE relname = 'notifications'"
        return float((await conn.execute(text(query))).scalar_one())


async def late_check(factory, name: str) -> None:
    check = await up_check(factory, name=name)
    channel = await factory.channel(await factory.reload_project(check), kind="webhook")
    await factory.assign(check, channel)
    factory.clock.advance(121)


@pytest.fixture
def burst_of_one(monkeypatch):
    monkeypatch.setattr(sweeper, "STATISTICS_AFTER_FLIPS", 1)
    monkeypatch.setattr(sweeper, "_statistics_refreshed", -sweeper.STATISTICS_SECONDS)


async def test_a_burst_pass_analyzes_the_outbox_once_per_period(
    burst_of_one,
    db,
    factory,
    test_runtime,  # noqa: F811
):
    if db.sqlite:
        pytest.skip("PostgreSQL's planner statistics")
    async with db.engine.begin() as conn:
        await conn.execute(text("ANALYZE notifications"))  # empty: the planner sees 0 rows
    await late_check(factory, "first")
    sent: list[object] = []
    await sweeper.sweep_once(test_runtime, sent.extend)
    assert len(sent) == 1
    assert await analyzed_rows(db) == 1

    await late_check(factory, "second")  # a second burst, within the period
    await sweeper.sweep_once(test_runtime, sent.extend)
    assert {d.notification_id for d in sent} == {1, 2}  # type: ignore[attr-defined]
    assert await analyzed_rows(db) == 1  # not analysed again
