"""Ping URLs by project ping key and check slug, and auto-provisioning (reference §1.7)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from app.db import models as m


async def slug_check(factory, slug="backup", **fields):
    project, _ = await factory.project()
    check = await factory.check(project, slug=slug, **fields)
    return project, check


async def checks_of(db, project):
    async with db.sessionmaker() as session:
        query = select(m.Check).where(m.Check.project_id == project.id).order_by(m.Check.id)
        return list((await session.scalars(query)).all())


async def channels_of(db, check):
    async with db.engine.connect() as conn:
        query = select(m.check_channels.c.channel_id).where(m.check_channels.c.check_id == check.id)
        return set((await conn.execute(query)).scalars().all())


async def set_check_limit(db, user_id, limit):
    async with db.engine.begin() as conn:
        await conn.execute(
            update(m.Profile).where(m.Profile.user_id == user_id).values(check_limit=limit)
        )


async def test_it_works(client, factory):
    project, check = await slug_check(factory)
    r = await client.get(f"/ping/{project.ping_key}/backup")
    assert r.status_code == 200
    assert r.text == "OK"
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["ping-body-limit"] == "10000"
    assert "no-cache" in r.headers["cache-control"]

    check = await factory.reload(check)
    assert check.status == "up"
    assert check.n_pings == 1
    [ping] = await factory.pings(check)
    assert ping.kind == "success"
    assert ping.method == "GET"


@pytest.mark.parametrize(
    ("suffix", "kind", "exitstatus", "status"),
    [
        ("start", "start", None, "new"),
        ("fail", "fail", None, "down"),
        ("log", "log", None, "new"),
        ("0", "success", 0, "up"),
        ("123", "fail", 123, "down"),
    ],
)
async def test_it_handles_url_suffix(client, factory, suffix, kind, exitstatus, status):
    project, check = await slug_check(factory)
    r = await client.post(f"/ping/{project.ping_key}/backup/{suffix}", content=b"hello")
    assert r.status_code == 200
    assert r.text == "OK"

    [ping] = await factory.pings(check)
    assert ping.kind == kind
    assert ping.exitstatus == exitstatus
    assert ping.method == "POST"
    assert ping.body == b"hello"
    assert (await factory.reload(check)).status == status


async def test_it_handles_slugs_with_digits_dashes_and_underscores(client, factory):
    project, check = await slug_check(factory, slug="db-backup_2")
    r = await client.get(f"/ping/{project.ping_key}/db-backup_2/fail")
    assert r.status_code == 200
    assert (await factory.reload(check)).status == "down"


async def test_it_pings_only_the_check_of_that_project(client, factory):
    project, check = await slug_check(factory)
    _, other = await slug_check(factory)
    r = await client.get(f"/ping/{project.ping_key}/backup")
    assert r.status_code == 200
    assert (await factory.reload(check)).n_pings == 1
    assert (await factory.reload(other)).n_pings == 0


async def test_it_rejects_exit_status_above_255(client, factory):
    project, check = await slug_check(factory)
    r = await client.get(f"/ping/{project.ping_key}/backup/256")
    assert r.status_code == 400
    assert r.text == "invalid url format"
    assert (await factory.reload(check)).n_pings == 0


async def test_it_rejects_a_bad_rid(client, factory):
    project, check = await slug_check(factory)
    r = await client.get(f"/ping/{project.ping_key}/backup?rid=12345")
    assert r.status_code == 400
    assert r.text == "invalid uuid format"
    assert (await factory.reload(check)).n_pings == 0


async def test_it_accepts_a_rid(client, factory):
    project, check = await slug_check(factory)
    rid = uuid.uuid4()
    r = await client.get(f"/ping/{project.ping_key}/backup/start?rid={rid}")
    assert r.status_code == 200
    [ping] = await factory.pings(check)
    assert ping.rid == rid
    assert (await factory.reload(check)).last_start_rid == rid


async def test_it_handles_wrong_ping_key(client, factory):
    _, check = await slug_check(factory)
    r = await client.get("/ping/wrongkeywrongkeywrongk/backup")
    assert r.status_code == 404
    assert r.text == "not found"
    assert (await factory.reload(check)).n_pings == 0


async def test_it_handles_unknown_slug(client, factory):
    project, _ = await slug_check(factory)
    r = await client.get(f"/ping/{project.ping_key}/nope")
    assert r.status_code == 404
    assert r.text == "not found"
    assert len(await checks_of(factory.db, project)) == 1


@pytest.mark.parametrize("suffix", ["/256", "?rid=12345", "/256?rid=12345"])
async def test_it_checks_the_slug_before_the_rest_of_the_url(client, factory, suffix):
    project, _ = await slug_check(factory)
    r = await client.get(f"/ping/{project.ping_key}/nope{suffix}")
    assert r.status_code == 404
    assert r.text == "not found"


@pytest.mark.parametrize("slug", ["Backup", "BACKUP", "backuP"])
async def test_it_rejects_uppercase_slug(client, factory, slug):
    project, check = await slug_check(factory)
    r = await client.get(f"/ping/{project.ping_key}/{slug}")
    assert r.status_code == 400
    assert r.text == "invalid url format"
    assert (await factory.reload(check)).n_pings == 0


async def test_it_checks_uppercase_before_the_lookup(client):
    r = await client.get("/ping/wrongkeywrongkeywrongk/Backup/start")
    assert r.status_code == 400
    assert r.text == "invalid url format"


async def test_it_does_not_create_an_uppercase_slug(client, factory):
    project, _ = await factory.project()
    r = await client.get(f"/ping/{project.ping_key}/Backup?create=1")
    assert r.status_code == 400
    assert await checks_of(factory.db, project) == []


@pytest.mark.parametrize(
    "path",
    ["backup/bogus", "backup/start/", "backup/", "back.up", "backup%0A", "backup/0%0A"],
)
async def test_it_rejects_urls_of_no_ping_form(client, factory, path):
    project, check = await slug_check(factory)
    r = await client.get(f"/ping/{project.ping_key}/{path}?create=1")
    assert r.status_code == 404
    assert (await factory.reload(check)).n_pings == 0
    assert len(await checks_of(factory.db, project)) == 1


async def test_it_handles_ambiguous_slug(client, factory):
    project, first = await slug_check(factory)
    second = await factory.check(project, slug="backup")
    r = await client.get(f"/ping/{project.ping_key}/backup")
    assert r.status_code == 409
    assert r.text == "ambiguous slug"

    for check in (first, second):
        check = await factory.reload(check)
        assert check.n_pings == 0
        assert check.status == "new"
        assert await factory.pings(check) == []


@pytest.mark.parametrize("suffix", ["/fail", "/256", "?rid=12345", "?create=1"])
async def test_it_reports_ambiguous_slug_first(client, factory, suffix):
    project, _ = await slug_check(factory)
    await factory.check(project, slug="backup")
    r = await client.get(f"/ping/{project.ping_key}/backup{suffix}")
    assert r.status_code == 409
    assert r.text == "ambiguous slug"
    assert len(await checks_of(factory.db, project)) == 2


async def test_it_creates_a_check(client, factory, clock):
    project, _ = await factory.project()
    email = await factory.channel(project, kind="email")
    webhook = await factory.channel(project, kind="webhook")
    other_project, _ = await factory.project()
    await factory.channel(other_project)

    r = await client.post(f"/ping/{project.ping_key}/new-job?create=1", content=b"first")
    assert r.status_code == 201
    assert r.text == "Created"
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["ping-body-limit"] == "10000"

    [check] = await checks_of(factory.db, project)
    assert check.name == "new-job"
    assert check.slug == "new-job"
    assert check.kind == "simple"
    assert check.timeout == 86400
    assert check.grace == 3600
    assert check.status == "up"
    assert check.n_pings == 1
    assert check.last_ping == clock()
    assert await channels_of(factory.db, check) == {email.id, webhook.id}
    [ping] = await factory.pings(check)
    assert ping.kind == "success"
    assert ping.body == b"first"

    r = await client.get(f"/ping/{project.ping_key}/new-job?create=1")
    assert r.status_code == 200
    assert r.text == "OK"
    assert len(await checks_of(factory.db, project)) == 1
    assert (await factory.reload(check)).n_pings == 2


async def test_it_creates_a_check_with_the_url_action(client, factory):
    project, _ = await factory.project()
    r = await client.get(f"/ping/{project.ping_key}/nightly/start?create=1")
    assert r.status_code == 201
    [check] = await checks_of(factory.db, project)
    assert check.status == "new"
    assert check.last_start is not None
    [ping] = await factory.pings(check)
    assert ping.kind == "start"


async def test_it_creates_a_check_without_channels(client, factory):
    project, _ = await factory.project()
    r = await client.get(f"/ping/{project.ping_key}/nightly?create=1")
    assert r.status_code == 201
    [check] = await checks_of(factory.db, project)
    assert await channels_of(factory.db, check) == set()


@pytest.mark.parametrize("query", ["", "?create=0", "?create=true", "?create=yes", "?create="])
async def test_it_does_not_create_without_create_1(client, factory, query):
    project, _ = await factory.project()
    r = await client.get(f"/ping/{project.ping_key}/nightly{query}")
    assert r.status_code == 404
    assert r.text == "not found"
    assert await checks_of(factory.db, project) == []


async def test_it_does_not_create_for_an_unknown_ping_key(client, factory, db):
    await factory.project()
    r = await client.get("/ping/wrongkeywrongkeywrongk/nightly?create=1")
    assert r.status_code == 404
    assert r.text == "not found"
    async with db.engine.connect() as conn:
        assert (await conn.execute(select(m.Check.id))).all() == []


async def test_it_does_not_create_on_a_bad_url(client, factory):
    project, _ = await factory.project()
    r = await client.get(f"/ping/{project.ping_key}/nightly/256?create=1")
    assert r.status_code == 400
    assert r.text == "invalid url format"
    r = await client.get(f"/ping/{project.ping_key}/nightly?create=1&rid=12345")
    assert r.status_code == 400
    assert r.text == "invalid uuid format"
    assert await checks_of(factory.db, project) == []


async def test_it_refuses_to_create_over_twice_the_check_limit(client, factory):
    owner = await factory.user()
    await set_check_limit(factory.db, owner.id, 2)
    project, _ = await factory.project(owner)
    other_project, _ = await factory.project(owner, name="Other")
    # The owner's checks in all their projects count: 4 = 2 × check_limit.
    for i in range(3):
        await factory.check(project, slug=f"existing-{i}")
    await factory.check(other_project)

    r = await client.get(f"/ping/{project.ping_key}/nightly?create=1")
    assert r.status_code == 404
    assert r.text == "not found"
    assert len(await checks_of(factory.db, project)) == 3

    # Existing checks are still pinged by slug.
    r = await client.get(f"/ping/{project.ping_key}/existing-0?create=1")
    assert r.status_code == 200


async def test_it_creates_below_twice_the_check_limit(client, factory):
    owner = await factory.user()
    await set_check_limit(factory.db, owner.id, 2)
    project, _ = await factory.project(owner)
    for i in range(3):
        await factory.check(project, slug=f"existing-{i}")

    r = await client.get(f"/ping/{project.ping_key}/nightly?create=1")
    assert r.status_code == 201
    assert len(await checks_of(factory.db, project)) == 4

    r = await client.get(f"/ping/{project.ping_key}/another?create=1")
    assert r.status_code == 404


async def test_it_counts_only_the_owners_checks_for_the_limit(client, factory):
    owner = await factory.user()
    await set_check_limit(factory.db, owner.id, 1)
    project, _ = await factory.project(owner)
    stranger_project, _ = await factory.project()
    for _ in range(5):
        await factory.check(stranger_project)

    r = await client.get(f"/ping/{project.ping_key}/nightly?create=1")
    assert r.status_code == 201
