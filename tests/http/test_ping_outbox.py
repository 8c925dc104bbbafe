"""A ping that changes a check's status writes its notifications in the same transaction."""

from datetime import timedelta

from sqlalchemy import select, update

from app.db import models as m


async def channels(factory, check, **kinds):
    project = await factory.reload_project(check)
    made = {}
    for name, fields in kinds.items():
        made[name] = await factory.channel(project, name=name, **fields)
        await factory.assign(check, made[name])
    return made


async def notifications(db):
    async with db.engine.connect() as conn:
        return (
            await conn.execute(
                select(
                    m.Notification.channel_id,
                    m.Notification.check_status,
                    m.Notification.flip_id,
                    m.Notification.next_attempt_at,
                    m.Notification.attempts,
                ).order_by(m.Notification.channel_id)
            )
        ).all()


async def test_a_fail_ping_writes_one_notification_per_selected_channel(client, factory, clock):
    check = await factory.check(status="up", last_ping=clock())
    made = await channels(
        factory, check, hook={}, up_only={"notify_down": False}, off={"disabled": True}
    )
    await client.get(f"/ping/{check.code}/fail")
    [flip] = await factory.flips(check)
    rows = await notifications(factory.db)
    assert [(r.channel_id, r.check_status, r.flip_id) for r in rows] == [
        (made["hook"].id, "down", flip.id)
    ]
    assert rows[0].next_attempt_at == clock()
    assert rows[0].attempts == 0
    assert flip.processed is None


async def test_recovery_notifies_the_up_direction(client, factory, clock):
    check = await factory.check(status="down")
    made = await channels(factory, check, both={}, down_only={"notify_up": False})
    await client.get(f"/ping/{check.code}")
    rows = await notifications(factory.db)
    assert [(r.channel_id, r.check_status) for r in rows] == [(made["both"].id, "up")]


async def test_the_first_success_notifies_nobody(client, factory):
    check = await factory.check()
    await channels(factory, check, hook={})
    await client.get(f"/ping/{check.code}")
    assert await notifications(factory.db) == []


async def test_a_ping_that_changes_nothing_writes_nothing(client, factory, clock):
    check = await factory.check(status="up", last_ping=clock())
    await channels(factory, check, hook={})
    await client.get(f"/ping/{check.code}")
    await client.get(f"/ping/{check.code}/log")
    assert await notifications(factory.db) == []


async def test_going_down_schedules_the_first_nag_one_period_later(client, factory, clock):
    check = await factory.check(status="up", last_ping=clock())
    await client.get(f"/ping/{check.code}/fail")
    assert (await factory.reload(check)).next_nag_at == clock() + timedelta(hours=1)
    clock.advance(600)
    await client.get(f"/ping/{check.code}/fail")  # still down: the cadence is kept
    assert (await factory.reload(check)).next_nag_at == clock() - timedelta(
        seconds=600
    ) + timedelta(hours=1)
    await client.get(f"/ping/{check.code}")
    assert (await factory.reload(check)).next_nag_at is None


async def test_a_project_without_nags_schedules_none(client, factory, clock):
    project, _ = await factory.project()
    async with factory.db.engine.begin() as conn:
        await conn.execute(update(m.Project).where(m.Project.id == project.id).values(nag_period=0))
    check = await factory.check(project, status="up", last_ping=clock())
    await client.get(f"/ping/{check.code}/fail")
    assert (await factory.reload(check)).next_nag_at is None
