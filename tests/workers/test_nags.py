"""Nags: while a check stays down, its down notification repeats every nag period."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.db import models as m
from app.domain import alerts

HOUR = timedelta(hours=1)


async def down_check(factory, nag_period=3600):
    project, _ = await factory.project()
    async with factory.db.engine.begin() as conn:
        await conn.execute(
            update(m.Project).where(m.Project.id == project.id).values(nag_period=nag_period)
        )
    now = factory.clock()
    check = await factory.check(
        project, status="down", next_nag_at=now + timedelta(seconds=nag_period)
    )
    channel = await factory.channel(project)
    await factory.assign(check, channel)
    return check


async def nag_flips(db, check):
    async with db.engine.connect() as conn:
        return (
            await conn.execute(
                select(m.Flip.created)
                .where(m.Flip.check_id == check.id, m.Flip.reason == "nag")
                .order_by(m.Flip.id)
            )
        ).all()


async def test_it_nags_once_per_period_over_many_periods(db, factory, clock):
    start = clock()
    check = await down_check(factory)
    sent = 0
    for minute in range(5, 24 * 60 + 1, 5):  # a day, swept every five minutes
        clock.now = start + timedelta(minutes=minute)
        sent += len(await alerts.sweep_nags(db, clock()))
    assert sent == 24
    created = [row[0] for row in await nag_flips(db, check)]
    assert created == [start + n * HOUR for n in range(1, 25)]


async def test_a_nag_never_suppresses_the_next_one(db, factory, clock):
    start = clock()
    check = await down_check(factory)
    clock.now = start + HOUR + timedelta(minutes=59)  # the first nag is swept late
    assert len(await alerts.sweep_nags(db, clock())) == 1
    clock.now = start + 2 * HOUR  # the second is still due on the original cadence
    assert len(await alerts.sweep_nags(db, clock())) == 1
    assert (await factory.reload(check)).next_nag_at == start + 3 * HOUR


async def test_a_long_outage_of_the_sweeper_sends_one_nag_not_a_burst(db, factory, clock):
    start = clock()
    check = await down_check(factory)
    clock.now = start + 5 * HOUR + timedelta(minutes=30)
    assert len(await alerts.sweep_nags(db, clock())) == 1
    assert (await factory.reload(check)).next_nag_at == start + 6 * HOUR


async def test_nags_are_down_flips_marked_nag_with_notifications(db, factory, clock):
    check = await down_check(factory)
    [flip_id] = await alerts.sweep_nags(db, clock.advance(3600))
    async with db.engine.connect() as conn:
        flip = (await conn.execute(select(m.Flip).where(m.Flip.id == flip_id))).one()
        notifications = (
            await conn.execute(
                select(m.Notification.check_status).where(m.Notification.flip_id == flip_id)
            )
        ).all()
    assert (flip.old_status, flip.new_status, flip.reason) == ("down", "down", "nag")
    assert notifications == [("down",)]
    assert check.id == flip.check_id


async def test_a_project_with_nags_off_gets_none(db, factory, clock):
    check = await down_check(factory, nag_period=0)
    async with db.engine.begin() as conn:
        await conn.execute(
            update(m.Check).where(m.Check.id == check.id).values(next_nag_at=clock())
        )
    assert await alerts.sweep_nags(db, clock.advance(10 * 3600)) == []
    assert (await factory.reload(check)).next_nag_at is None


async def test_an_up_check_is_never_nagged(db, factory, clock):
    await factory.check(status="up", next_nag_at=clock())
    assert await alerts.sweep_nags(db, clock.advance(3600)) == []


def test_next_nag_after_keeps_the_cadence():
    due = datetime(2026, 1, 1, tzinfo=UTC)
    assert alerts.next_nag_after(due, HOUR, due) == due + HOUR
    assert alerts.next_nag_after(due, HOUR, due + 2.5 * HOUR) == due + 3 * HOUR
