"""The sweep: late checks go down exactly once, at the moment they went down."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.db import models as m
from app.db.engine import Database, write_transaction
from app.domain import alerts
from app.domain import status as status_rules


async def up_check(factory, **fields):
    now = factory.clock()
    values = {"status": "up", "last_ping": now, "timeout": 60, "grace": 60, **fields}
    check = await factory.check(**values)
    check.alert_after = status_rules.alert_after(check)
    async with factory.db.sessionmaker() as session, session.begin():
        await session.merge(check)
    return check


async def count(db, model, *where):
    async with db.engine.connect() as conn:
        return (
            await conn.execute(select(func.count()).select_from(model).where(*where))
        ).scalar_one()


async def test_it_leaves_a_check_alone_before_its_deadline(db, factory, clock):
    check = await up_check(factory)
    assert await alerts.sweep_due_checks(db, clock.advance(119)) == []
    assert (await factory.reload(check)).status == "up"


async def test_it_takes_a_late_check_down_with_a_timeout_flip_at_the_deadline(db, factory, clock):
    start = clock()
    check = await up_check(factory)
    flips = await alerts.sweep_due_checks(db, clock.advance(125))
    assert len(flips) == 1
    check = await factory.reload(check)
    assert check.status == "down"
    assert check.alert_after is None
    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status, flip.reason) == ("up", "down", "timeout")
    assert flip.created == start + timedelta(seconds=120)


async def test_it_writes_one_notification_per_selected_channel(db, factory, clock):
    check = await up_check(factory)
    project = await factory.reload_project(check)
    webhook = await factory.channel(project, name="hook")
    quiet = await factory.channel(project, name="up only", notify_down=False)
    disabled = await factory.channel(project, name="off", disabled=True)
    other = await factory.channel(project, name="not assigned")
    for channel in (webhook, quiet, disabled):
        await factory.assign(check, channel)
    [flip_id] = await alerts.sweep_due_checks(db, clock.advance(121))
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(m.Notification.channel_id, m.Notification.check_status).where(
                    m.Notification.flip_id == flip_id
                )
            )
        ).all()
    assert rows == [(webhook.id, "down")]
    assert other.id not in [r[0] for r in rows]


async def test_a_flip_without_channels_is_processed_at_once(db, factory, clock):
    await up_check(factory)
    [flip_id] = await alerts.sweep_due_checks(db, clock.advance(121))
    assert await count(db, m.Flip, m.Flip.id == flip_id, m.Flip.processed.is_not(None)) == 1


async def test_sweeping_twice_flips_once(db, factory, clock):
    check = await up_check(factory)
    clock.advance(200)
    await alerts.sweep_due_checks(db, clock())
    await alerts.sweep_due_checks(db, clock())
    assert len(await factory.flips(check)) == 1


async def test_racing_sweepers_flip_each_check_exactly_once(db, factory, clock, settings):
    checks = [await up_check(factory) for _ in range(30)]
    project = await factory.reload_project(checks[0])
    channel = await factory.channel(project)
    for check in checks:
        await factory.assign(check, channel)
    clock.advance(500)
    # Six sweepers (four workers, two schedulers) with their own connection pools.
    sweepers = [Database(settings.database_url, pool_size=2) for _ in range(6)]
    try:
        results = await asyncio.gather(*(alerts.sweep_due_checks(s, clock()) for s in sweepers))
    finally:
        for sweeper in sweepers:
            await sweeper.dispose()
    assert sum(len(r) for r in results) == 30
    assert await count(db, m.Flip) == 30
    assert await count(db, m.Notification) == 30


async def test_a_ping_that_lands_after_the_read_wins_over_the_sweep(db, factory, clock):
    check = await up_check(factory)
    clock.advance(125)
    async with db.engine.connect() as conn:
        [stale] = (
            await conn.execute(
                select(*alerts._SWEEP_COLUMNS).join(m.Project).where(m.Check.id == check.id)
            )
        ).all()
    async with db.engine.begin() as conn:  # the ping: n_pings and the deadline move on
        await conn.execute(
            m.Check.__table__.update()
            .where(m.Check.id == check.id)
            .values(n_pings=check.n_pings + 1, last_ping=clock())
        )
    async with write_transaction(db) as conn:
        assert await alerts._sweep_rows(conn, [stale], clock()) == []
    assert (await factory.reload(check)).status == "up"
    assert await factory.flips(check) == []


async def test_it_moves_a_cron_checks_lower_bound_to_the_exact_deadline(db, factory, clock):
    # A ping on PostgreSQL stores last_ping + grace for cron checks; the sweep corrects it.
    now = clock()
    check = await factory.check(
        status="up",
        kind="cron",
        schedule="0 3 * * *",
        tz="UTC",
        grace=600,
        last_ping=now,
        alert_after=now + timedelta(seconds=600),
    )
    assert await alerts.sweep_due_checks(db, clock.advance(601)) == []
    check = await factory.reload(check)
    assert check.status == "up"
    assert check.alert_after == status_rules.alert_after(check)
    assert check.alert_after > clock()


async def test_a_start_that_overruns_grace_takes_a_new_check_down(db, factory, clock):
    started = clock()
    check = await factory.check(
        status="new", last_start=started, grace=300, alert_after=started + timedelta(seconds=300)
    )
    [flip_id] = await alerts.sweep_due_checks(db, clock.advance(301))
    [flip] = await factory.flips(check)
    assert (flip.id, flip.old_status, flip.new_status) == (flip_id, "new", "down")
    assert flip.created == started + timedelta(seconds=300)


async def test_paused_and_down_checks_without_deadline_are_not_read(db, factory, clock):
    await factory.check(status="paused")
    await factory.check(status="down")
    assert await alerts.sweep_due_checks(db, clock.advance(10**6)) == []


def test_the_sweep_waits_until_a_known_deadline_sooner_than_the_interval() -> None:
    now = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
    soon = now + timedelta(milliseconds=300)
    assert alerts.pause_before_next_pass(now, soon, 1.0) == 0.3
    assert alerts.pause_before_next_pass(now, now + timedelta(seconds=5), 1.0) == 1.0
    assert alerts.pause_before_next_pass(now, None, 1.0) == 1.0
    # A deadline the last pass left behind does not make the loop spin.
    assert alerts.pause_before_next_pass(now, now - timedelta(seconds=1), 1.0) == 1.0


async def test_the_next_deadline_is_the_earliest_the_sweep_acts_on(db, factory, clock) -> None:
    now = clock()
    assert await alerts.next_deadline(db) is None
    await factory.check(status="up", alert_after=now + timedelta(seconds=90))
    await factory.check(status="new", alert_after=now + timedelta(seconds=30))
    await factory.check(status="down", alert_after=now + timedelta(seconds=5))  # not swept
    assert await alerts.next_deadline(db) == now + timedelta(seconds=30)
