"""Concurrent pings to one check: no lost update, no gap or duplicate in n, one flip per change."""

from __future__ import annotations

import asyncio
import random
import uuid

from sqlalchemy import select

from app.db import models as m

EFFECT = {"success": "up", "fail": "down"}


def expected_flips(kinds, status="new"):
    """The (old, new) status changes a sequence of recorded ping kinds must produce."""
    flips = []
    for kind in kinds:
        new = EFFECT.get(kind, status)
        if new != status:
            flips.append((status, new))
            status = new
    return flips, status


async def test_it_numbers_200_concurrent_pings_without_gaps(client, factory):
    check = await factory.check()
    responses = await asyncio.gather(*(client.get(f"/ping/{check.code}") for _ in range(200)))
    assert [r.status_code for r in responses] == [200] * 200

    check = await factory.reload(check)
    assert check.n_pings == 200
    assert check.status == "up"
    pings = await factory.pings(check)
    assert [p.n for p in pings] == list(range(1, 201))
    assert len(await factory.flips(check)) == 1


async def test_it_numbers_concurrent_slug_pings_without_gaps(client, factory):
    project, _ = await factory.project()
    check = await factory.check(project, slug="busy")
    url = f"/ping/{project.ping_key}/busy"
    responses = await asyncio.gather(*(client.post(url, content=b"x") for _ in range(100)))
    assert {r.status_code for r in responses} == {200}

    check = await factory.reload(check)
    assert check.n_pings == 100
    assert [p.n for p in await factory.pings(check)] == list(range(1, 101))


async def test_concurrent_mixed_pings_flip_once_per_change(client, factory):
    check = await factory.check()
    rng = random.Random(20260115)
    suffixes = [rng.choice(["", "/start", "/fail", "/0", "/1", "/log"]) for _ in range(200)]
    responses = await asyncio.gather(*(client.get(f"/ping/{check.code}{s}") for s in suffixes))
    assert {r.status_code for r in responses} == {200}

    check = await factory.reload(check)
    pings = await factory.pings(check)
    assert [p.n for p in pings] == list(range(1, 201))
    assert check.n_pings == 200

    flips, final_status = expected_flips(p.kind for p in pings)
    recorded = await factory.flips(check)
    assert [(f.old_status, f.new_status) for f in recorded] == flips
    assert check.status == final_status
    for flip in recorded:
        assert flip.reason == ("fail" if flip.new_status == "down" else "")


async def test_concurrent_pings_to_two_checks_stay_apart(client, factory):
    first = await factory.check()
    second = await factory.check()
    urls = [f"/ping/{first.code}/fail", f"/ping/{second.code}"] * 50
    responses = await asyncio.gather(*(client.get(url) for url in urls))
    assert {r.status_code for r in responses} == {200}

    first = await factory.reload(first)
    second = await factory.reload(second)
    assert (first.n_pings, first.status) == (50, "down")
    assert (second.n_pings, second.status) == (50, "up")
    assert [p.n for p in await factory.pings(first)] == list(range(1, 51))
    assert [p.n for p in await factory.pings(second)] == list(range(1, 51))
    assert len(await factory.flips(first)) == 1
    assert len(await factory.flips(second)) == 1


async def test_concurrent_runs_with_rids_leave_a_consistent_start(client, factory):
    check = await factory.check()
    rids = [uuid.uuid4() for _ in range(20)]
    await asyncio.gather(*(client.get(f"/ping/{check.code}/start?rid={rid}") for rid in rids))
    await asyncio.gather(*(client.get(f"/ping/{check.code}?rid={rid}") for rid in rids))

    check = await factory.reload(check)
    pings = await factory.pings(check)
    assert [p.n for p in pings] == list(range(1, 41))
    # Replay the recorded order: the last start's run is closed by its own success, after
    # which successes with other rids keep nothing open on the check...
    last_start_rid = pings[19].rid
    assert check.last_start_rid == last_start_rid
    assert check.last_start is None
    # ...but every success closes its own run's start: each has its duration (§1.6).
    assert sorted(p.rid for p in pings[20:]) == sorted(rids)
    assert all(p.duration is not None and p.duration >= 0 for p in pings[20:])


async def test_concurrent_first_pings_create_one_check(client, factory, db):
    project, _ = await factory.project()
    channel = await factory.channel(project)
    url = f"/ping/{project.ping_key}/fresh?create=1"
    responses = await asyncio.gather(*(client.get(url) for _ in range(30)))
    assert sorted(r.status_code for r in responses) == [200] * 29 + [201]
    assert sorted(r.text for r in responses) == ["Created"] + ["OK"] * 29

    async with db.sessionmaker() as session:
        query = select(m.Check).where(m.Check.project_id == project.id)
        [check] = (await session.scalars(query)).all()
    assert check.slug == "fresh"
    assert check.n_pings == 30
    assert [p.n for p in await factory.pings(check)] == list(range(1, 31))
    async with db.engine.connect() as conn:
        query = select(m.check_channels.c.channel_id).where(m.check_channels.c.check_id == check.id)
        assert (await conn.execute(query)).scalars().all() == [channel.id]


async def test_a_check_created_by_a_concurrent_first_ping_still_gets_this_ping(
    factory, db, clock, monkeypatch
):
    # Our statement ran before the other ping's new check was committed, so it recorded
    # nothing; by the time we count, the check is there: the ping must land on it (not 404).
    from app.domain import pings

    project, _ = await factory.project()
    check = await factory.check(project, slug="fresh")
    real = pings._write_batch
    calls = []

    async def missed_once(db, batch):
        calls.append(1)
        return [None] * len(batch) if len(calls) == 1 else await real(db, batch)

    monkeypatch.setattr(pings, "_write_batch", missed_once)
    result = await pings.record_slug_ping(
        db, project.ping_key, "fresh", pings.PingRequest(), clock(), create=True
    )
    assert (result.check_id, result.created) == (check.id, False)
    assert (await factory.reload(check)).n_pings == 1
