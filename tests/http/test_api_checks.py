"""Checks in the management API: list, create, read, update, delete (reference §3, checklist
items 25-50). Pause, resume, pings and flips are in test_api_checks_state.py."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.db import models as m
from app.domain.checks import unique_key

LIST_URL = "/api/v3/checks/"
UNKNOWN = "0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d"
CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "X-Api-Key",
    "access-control-max-age": "600",
}
ALWAYS = {
    "name",
    "slug",
    "tags",
    "desc",
    "grace",
    "n_pings",
    "status",
    "started",
    "last_ping",
    "next_ping",
    "manual_resume",
    "methods",
    "subject",
    "subject_fail",
    "start_kw",
    "success_kw",
    "failure_kw",
    "filter_subject",
    "filter_body",
    "filter_http_body",
    "filter_default_fail",
    "badge_url",
}
READ_WRITE_ONLY = {"uuid", "ping_url", "update_url", "pause_url", "resume_url", "channels"}


def rw(keys: Any) -> dict[str, str]:
    return {"X-Api-Key": keys.api_key}


def ro(keys: Any) -> dict[str, str]:
    return {"X-Api-Key": keys.api_key_readonly}


def check_url(check: Any, version: int = 3) -> str:
    code = check.code if hasattr(check, "code") else check
    return f"/api/v{version}/checks/{code}"


def assert_error(r: httpx.Response, status: int, message: str) -> None:
    assert r.status_code == status, r.text
    assert r.json() == {"error": message}
    assert r.headers["access-control-allow-origin"] == "*"


def assert_cors(r: httpx.Response, methods: str) -> None:
    for name, value in CORS.items():
        assert r.headers[name] == value
    assert r.headers["access-control-allow-methods"] == methods


async def count_checks(db: Any) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(m.Check)) or 0)


async def load_check(db: Any, code: Any) -> m.Check | None:
    async with db.sessionmaker() as session:
        return await session.scalar(select(m.Check).where(m.Check.code == uuid.UUID(str(code))))


async def assigned_channels(db: Any, check: Any) -> set[uuid.UUID]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(m.Channel.code)
            .join(m.check_channels, m.check_channels.c.channel_id == m.Channel.id)
            .where(m.check_channels.c.check_id == check.id)
        )
        return set(rows.all())


async def set_check_limit(db: Any, project: m.Project, limit: int) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            update(m.Profile).where(m.Profile.user_id == project.owner_id).values(check_limit=limit)
        )


async def create(client: httpx.AsyncClient, keys: Any, version: int = 3, **fields: Any) -> Any:
    r = await client.post(f"/api/v{version}/checks/", json=fields, headers=rw(keys))
    assert r.status_code == 201, r.text
    return r.json()


# --- CORS and authentication (items 25-29) -------------------------------------------------------


async def test_options_on_the_check_list_answers_204_with_cors_headers_and_no_key(client):
    r = await client.options(LIST_URL)
    assert r.status_code == 204
    assert r.content == b""
    assert_cors(r, "GET, POST, OPTIONS")


async def test_options_on_a_check_url_lists_get_post_and_delete(client):
    r = await client.options(check_url(UNKNOWN))
    assert r.status_code == 204
    assert_cors(r, "GET, POST, DELETE, OPTIONS")


async def test_options_on_a_unique_key_url_lists_only_get(client):
    r = await client.options(f"/api/v3/checks/{'a' * 40}")
    assert r.status_code == 204
    assert_cors(r, "GET, OPTIONS")


async def test_the_list_shows_only_the_checks_of_the_keys_project(client, factory):
    project, keys = await factory.project()
    other, _ = await factory.project()
    mine = await factory.check(project, name="Mine")
    await factory.check(other, name="Theirs")

    r = await client.get(LIST_URL, headers=rw(keys))

    assert r.status_code == 200, r.text
    assert [c["uuid"] for c in r.json()["checks"]] == [str(mine.code)]
    assert_cors(r, "GET, POST, OPTIONS")


async def test_the_list_is_in_creation_order(client, factory):
    project, keys = await factory.project()
    codes = [str((await factory.check(project, name=f"c{i}")).code) for i in range(3)]
    r = await client.get(LIST_URL, headers=rw(keys))
    assert [c["uuid"] for c in r.json()["checks"]] == codes


async def test_an_empty_project_lists_no_checks(client, factory):
    _, keys = await factory.project()
    r = await client.get(LIST_URL, headers=rw(keys))
    assert r.json() == {"checks": []}


async def test_a_missing_api_key_is_refused(client):
    assert_error(await client.get(LIST_URL), 401, "missing api key")
    assert_error(await client.post(LIST_URL, json={}), 401, "missing api key")


async def test_a_wrong_32_character_api_key_is_refused(client, factory):
    await factory.project()
    r = await client.get(LIST_URL, headers={"X-Api-Key": "X" * 32})
    assert_error(r, 401, "wrong api key")


async def test_the_api_key_in_the_post_body_is_accepted_for_create(client, factory, db):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"api_key": keys.api_key, "name": "Body key"})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Body key"
    assert await count_checks(db) == 1


async def test_the_api_key_in_the_post_body_is_accepted_for_pause_and_resume(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    r = await client.post(check_url(check) + "/pause", json={"api_key": keys.api_key})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paused"
    r = await client.post(check_url(check) + "/resume", json={"api_key": keys.api_key})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "new"


async def test_a_body_that_is_not_json_is_refused(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, content=b"{not json", headers=rw(keys))
    assert_error(r, 400, "could not parse request body")


async def test_a_json_body_that_is_not_an_object_is_refused(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json=[1, 2, 3], headers=rw(keys))
    assert_error(r, 400, "json validation error: value is not an object")


# --- list filters (§3.10) ------------------------------------------------------------------------


async def test_the_list_filters_by_a_whole_tag(client, factory):
    project, keys = await factory.project()
    tagged = await factory.check(project, tags="prod db")
    await factory.check(project, tags="production")
    await factory.check(project, tags="")

    r = await client.get(LIST_URL, params={"tag": "prod"}, headers=rw(keys))

    assert [c["uuid"] for c in r.json()["checks"]] == [str(tagged.code)]


async def test_every_tag_given_must_match(client, factory):
    project, keys = await factory.project()
    both = await factory.check(project, tags="a b c")
    await factory.check(project, tags="a")
    await factory.check(project, tags="b")

    r = await client.get(LIST_URL, params=[("tag", "a"), ("tag", "b")], headers=rw(keys))

    assert [c["uuid"] for c in r.json()["checks"]] == [str(both.code)]


async def test_the_list_filters_by_exact_slug(client, factory):
    project, keys = await factory.project()
    backups = await factory.check(project, slug="backups")
    await factory.check(project, slug="backups-2")

    r = await client.get(LIST_URL, params={"slug": "backups"}, headers=rw(keys))

    assert [c["uuid"] for c in r.json()["checks"]] == [str(backups.code)]


async def test_an_empty_slug_filter_is_no_filter(client, factory):
    project, keys = await factory.project()
    await factory.check(project, slug="a")
    await factory.check(project, slug="")
    r = await client.get(LIST_URL, params={"slug": ""}, headers=rw(keys))
    assert len(r.json()["checks"]) == 2


async def test_the_read_only_key_lists_checks_by_unique_key(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, name="Quiet")

    r = await client.get(LIST_URL, headers=ro(keys))

    assert r.status_code == 200, r.text
    (data,) = r.json()["checks"]
    assert data["unique_key"] == unique_key(check.code)
    assert not READ_WRITE_ONLY & data.keys()


async def test_the_list_shows_each_checks_channels(client, factory):
    project, keys = await factory.project()
    first, second = await factory.check(project), await factory.check(project)
    hook = await factory.channel(project, name="hook")
    mail = await factory.channel(project, kind="email", name="mail")
    await factory.assign(first, hook)
    await factory.assign(first, mail)

    r = await client.get(LIST_URL, headers=rw(keys))

    shown = {c["uuid"]: c["channels"] for c in r.json()["checks"]}
    assert shown[str(first.code)] == ",".join(sorted([str(hook.code), str(mail.code)]))
    assert shown[str(second.code)] == ""


# --- create (items 30-45) ------------------------------------------------------------------------


async def test_create_answers_201_with_the_check_and_healthchecks_defaults(
    client, factory, db, settings, clock
):
    project, keys = await factory.project()

    r = await client.post(LIST_URL, json={"name": "Backups"}, headers=rw(keys))

    assert r.status_code == 201, r.text
    data = r.json()
    code = data["uuid"]
    stored = await load_check(db, code)
    assert stored is not None and stored.project_id == project.id
    assert data == {
        "name": "Backups",
        "slug": "",
        "tags": "",
        "desc": "",
        "grace": 3600,
        "n_pings": 0,
        "status": "new",
        "started": False,
        "last_ping": None,
        "next_ping": None,
        "manual_resume": False,
        "methods": "",
        "subject": "",
        "subject_fail": "",
        "start_kw": "",
        "success_kw": "",
        "failure_kw": "",
        "filter_subject": False,
        "filter_body": False,
        "filter_http_body": False,
        "filter_default_fail": False,
        "badge_url": f"{settings.site_root}/b/2/{stored.badge_key}.svg",
        "uuid": code,
        "ping_url": f"{settings.ping_endpoint}{code}",
        "update_url": f"{settings.site_root}/api/v3/checks/{code}",
        "pause_url": f"{settings.site_root}/api/v3/checks/{code}/pause",
        "resume_url": f"{settings.site_root}/api/v3/checks/{code}/resume",
        "channels": "",
        "timeout": 86400,
    }
    assert (stored.kind, stored.timeout, stored.grace, stored.status) == (
        "simple",
        86400,
        3600,
        "new",
    )
    assert stored.created == clock()
    assert stored.alert_after is None


async def test_create_with_an_empty_body_makes_a_default_check(client, factory, db):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, headers=rw(keys))
    assert r.status_code == 201, r.text
    assert r.json()["name"] == ""
    assert await count_checks(db) == 1


async def test_create_stores_every_field(client, factory, db):
    _, keys = await factory.project()
    payload = {
        "name": "Nightly",
        "slug": "nightly",
        "tags": "prod db",
        "desc": "Dumps the database",
        "timeout": 7200,
        "grace": 600,
        "manual_resume": True,
        "methods": "POST",
        "start_kw": "starting",
        "success_kw": "done",
        "failure_kw": "error, fatal",
        "filter_body": True,
        "filter_http_body": True,
        "filter_default_fail": True,
    }

    data = await create(client, keys, **payload)

    for field, value in payload.items():
        assert data[field] == value, field
    stored = await load_check(db, data["uuid"])
    assert stored is not None
    for field, value in payload.items():
        assert getattr(stored, field) == value, field


async def test_create_with_unique_name_returns_the_existing_check_with_200(client, factory, db):
    project, keys = await factory.project()
    existing = await factory.check(project, name="Backups", tags="old")

    r = await client.post(
        LIST_URL, json={"name": "Backups", "tags": "new", "unique": ["name"]}, headers=rw(keys)
    )

    assert r.status_code == 200, r.text
    assert r.json()["uuid"] == str(existing.code)
    assert r.json()["tags"] == "new"
    assert (await factory.reload(existing)).tags == "new"
    assert await count_checks(db) == 1


async def test_unique_matches_on_every_listed_field(client, factory, db):
    project, keys = await factory.project()
    await factory.check(project, name="A", slug="a", tags="x", timeout=60, grace=60)
    target = await factory.check(project, name="A", slug="a", tags="x", timeout=120, grace=60)
    payload = {
        "name": "A",
        "slug": "a",
        "tags": "x",
        "timeout": 120,
        "grace": 60,
        "unique": ["name", "slug", "tags", "timeout", "grace"],
    }

    r = await client.post(LIST_URL, json=payload, headers=rw(keys))

    assert r.status_code == 200, r.text
    assert r.json()["uuid"] == str(target.code)
    assert await count_checks(db) == 2


async def test_unique_takes_the_first_matching_check(client, factory):
    project, keys = await factory.project()
    first = await factory.check(project, name="Dup")
    await factory.check(project, name="Dup")
    r = await client.post(LIST_URL, json={"name": "Dup", "unique": ["name"]}, headers=rw(keys))
    assert r.status_code == 200
    assert r.json()["uuid"] == str(first.code)


async def test_concurrent_creates_with_unique_make_one_check(client, factory, db):
    _, keys = await factory.project()
    payload = {"name": "Once", "unique": ["name"]}

    answers = await asyncio.gather(
        *(client.post(LIST_URL, json=payload, headers=rw(keys)) for _ in range(5))
    )

    assert sorted(r.status_code for r in answers) == [200, 200, 200, 200, 201]
    assert len({r.json()["uuid"] for r in answers}) == 1
    assert await count_checks(db) == 1


async def test_unique_with_no_match_creates_a_check(client, factory, db):
    project, keys = await factory.project()
    await factory.check(project, name="Other")
    r = await client.post(LIST_URL, json={"name": "New", "unique": ["name"]}, headers=rw(keys))
    assert r.status_code == 201, r.text
    assert await count_checks(db) == 2


async def test_unique_does_not_match_checks_of_another_project(client, factory, db):
    _, keys = await factory.project()
    other, _ = await factory.project()
    await factory.check(other, name="Shared name")
    r = await client.post(
        LIST_URL, json={"name": "Shared name", "unique": ["name"]}, headers=rw(keys)
    )
    assert r.status_code == 201, r.text
    assert await count_checks(db) == 2


async def test_unique_naming_a_field_absent_from_the_request_always_creates(client, factory, db):
    project, keys = await factory.project()
    await factory.check(project, name="Backups", slug="")

    r = await client.post(
        LIST_URL, json={"name": "Backups", "unique": ["name", "slug"]}, headers=rw(keys)
    )

    assert r.status_code == 201, r.text
    assert await count_checks(db) == 2


async def test_an_empty_unique_list_always_creates(client, factory, db):
    project, keys = await factory.project()
    await factory.check(project, name="Backups")
    r = await client.post(LIST_URL, json={"name": "Backups", "unique": []}, headers=rw(keys))
    assert r.status_code == 201
    assert await count_checks(db) == 2


async def test_unique_with_an_unexpected_field_is_refused(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"unique": ["status"]}, headers=rw(keys))
    assert_error(r, 400, "json validation error: an item in 'unique' has unexpected value")


async def test_unique_that_is_not_an_array_is_refused(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"unique": "x"}, headers=rw(keys))
    assert_error(r, 400, "json validation error: unique is not an array")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "timeout is too small"),
        (59, "timeout is too small"),
        (31536001, "timeout is too large"),
        ("oops", "timeout is not a number"),
        ("60", "timeout is not a number"),
        (60.5, "timeout is not a number"),
        (True, "timeout is not a number"),
    ],
)
async def test_create_validates_the_timeout(client, factory, db, value, message):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"timeout": value}, headers=rw(keys))
    assert_error(r, 400, f"json validation error: {message}")
    assert await count_checks(db) == 0


async def test_create_validates_the_grace_time(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"grace": 31536001}, headers=rw(keys))
    assert_error(r, 400, "json validation error: grace is too large")


async def test_a_name_that_is_not_a_string_is_refused(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"name": False}, headers=rw(keys))
    assert_error(r, 400, "json validation error: name is not a string")


async def test_a_220_character_name_is_refused(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"name": "n" * 220}, headers=rw(keys))
    assert_error(r, 400, "json validation error: name is too long")


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        ("name", "a string"),
        ("slug", "a string"),
        ("tags", "a string"),
        ("desc", "a string"),
        ("timeout", "a number"),
        ("grace", "a number"),
        ("schedule", "a string"),
        ("tz", "a string"),
        ("manual_resume", "a boolean"),
        ("channels", "a string"),
        ("subject", "a string"),
        ("subject_fail", "a string"),
        ("start_kw", "a string"),
        ("success_kw", "a string"),
        ("failure_kw", "a string"),
        ("filter_subject", "a boolean"),
        ("filter_body", "a boolean"),
        ("filter_http_body", "a boolean"),
        ("filter_default_fail", "a boolean"),
        ("unique", "an array"),
    ],
)
async def test_a_null_value_is_a_type_error(client, factory, field, kind):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={field: None}, headers=rw(keys))
    assert_error(r, 400, f"json validation error: {field} is not {kind}")


async def test_a_null_methods_is_an_unexpected_value(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"methods": None}, headers=rw(keys))
    assert_error(r, 400, "json validation error: methods has unexpected value")


async def test_a_cron_schedule_makes_a_cron_check_with_schedule_and_tz(client, factory, db):
    _, keys = await factory.project()

    r = await client.post(
        LIST_URL, json={"schedule": "5 * * * *", "tz": "Europe/Riga"}, headers=rw(keys)
    )

    assert r.status_code == 201, r.text
    data = r.json()
    assert (data["schedule"], data["tz"]) == ("5 * * * *", "Europe/Riga")
    assert "timeout" not in data
    stored = await load_check(db, data["uuid"])
    assert stored is not None and stored.kind == "cron"


async def test_a_schedule_wins_over_a_timeout_for_the_kind(client, factory, db):
    _, keys = await factory.project()
    data = await create(client, keys, schedule="0 3 * * *", timeout=120)
    stored = await load_check(db, data["uuid"])
    assert stored is not None
    assert (stored.kind, stored.timeout) == ("cron", 120)


@pytest.mark.parametrize("schedule", ["* * * * * *", "bad-expression"])
async def test_an_invalid_schedule_is_refused(client, factory, schedule):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"schedule": schedule}, headers=rw(keys))
    message = "json validation error: schedule is not a valid cron or OnCalendar expression"
    assert_error(r, 400, message)


async def test_a_200_character_schedule_is_too_long(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"schedule": "* " * 100}, headers=rw(keys))
    assert_error(r, 400, "json validation error: schedule is too long")


async def test_an_unknown_time_zone_is_refused(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"tz": "not-a-timezone"}, headers=rw(keys))
    assert_error(r, 400, "json validation error: tz is not a valid timezone")


async def test_a_legacy_time_zone_is_stored_under_its_current_name(client, factory, db):
    _, keys = await factory.project()
    data = await create(client, keys, schedule="0 9 * * *", tz="Europe/Kiev")
    assert data["tz"] == "Europe/Kyiv"
    stored = await load_check(db, data["uuid"])
    assert stored is not None and stored.tz == "Europe/Kyiv"


async def test_an_oncalendar_schedule_is_accepted(client, factory, db):
    _, keys = await factory.project()
    data = await create(client, keys, schedule="12:34")
    assert data["schedule"] == "12:34"
    stored = await load_check(db, data["uuid"])
    assert stored is not None and stored.kind == "oncalendar"


async def test_create_over_the_check_limit_is_forbidden(client, factory, db):
    project, keys = await factory.project()
    await set_check_limit(db, project, 2)
    await factory.check(project)
    await create(client, keys, name="second")

    r = await client.post(LIST_URL, json={"name": "third"}, headers=rw(keys))

    assert r.status_code == 403, r.text
    assert await count_checks(db) == 2


async def test_the_check_limit_counts_checks_in_all_the_owners_projects(client, factory, db):
    owner = await factory.user()
    first, keys = await factory.project(owner)
    second, _ = await factory.project(owner)
    await set_check_limit(db, first, 1)
    await factory.check(second)

    r = await client.post(LIST_URL, json={}, headers=rw(keys))

    assert r.status_code == 403, r.text


async def test_a_unique_match_is_updated_even_at_the_check_limit(client, factory, db):
    project, keys = await factory.project()
    await set_check_limit(db, project, 1)
    await factory.check(project, name="Only")
    r = await client.post(
        LIST_URL, json={"name": "Only", "desc": "d", "unique": ["name"]}, headers=rw(keys)
    )
    assert r.status_code == 200, r.text
    assert r.json()["desc"] == "d"


@pytest.mark.parametrize("version", [1, 2])
async def test_api_v1_and_v2_derive_the_slug_from_the_name(client, factory, version):
    _, keys = await factory.project()
    data = await create(client, keys, version=version, name="Foo")
    assert data["slug"] == "foo"
    assert data["update_url"].endswith(f"/api/v{version}/checks/{data['uuid']}")


async def test_api_v3_leaves_the_slug_empty_unless_given(client, factory):
    _, keys = await factory.project()
    assert (await create(client, keys, name="Foo"))["slug"] == ""
    assert (await create(client, keys, name="Foo", slug="my-foo"))["slug"] == "my-foo"


async def test_a_slug_with_uppercase_letters_is_refused(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"slug": "Uppercase"}, headers=rw(keys))
    assert_error(r, 400, "json validation error: slug does not match pattern")


async def test_the_read_only_key_cannot_create(client, factory, db):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"name": "x"}, headers=ro(keys))
    assert_error(r, 401, "wrong api key")
    assert await count_checks(db) == 0


# --- channels (item 44) --------------------------------------------------------------------------


async def test_channels_star_assigns_every_channel_of_the_project(client, factory, db):
    project, keys = await factory.project()
    other, _ = await factory.project()
    hook = await factory.channel(project, name="hook")
    mail = await factory.channel(project, kind="email", name="mail")
    await factory.channel(other, name="theirs")

    data = await create(client, keys, channels="*")

    assert data["channels"] == ",".join(sorted([str(hook.code), str(mail.code)]))
    stored = await load_check(db, data["uuid"])
    assert await assigned_channels(db, stored) == {hook.code, mail.code}


async def test_a_created_check_gets_no_channels_unless_asked(client, factory):
    project, keys = await factory.project()
    await factory.channel(project, name="hook")
    assert (await create(client, keys))["channels"] == ""


async def test_channels_by_uuid_and_by_name(client, factory, db):
    project, keys = await factory.project()
    hook = await factory.channel(project, name="hook")
    mail = await factory.channel(project, kind="email", name="mail")
    await factory.channel(project, name="unused")

    data = await create(client, keys, channels=f"{hook.code},mail")

    assert data["channels"] == ",".join(sorted([str(hook.code), str(mail.code)]))


async def test_an_empty_channels_string_clears_them(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project)
    hook = await factory.channel(project, name="hook")
    await factory.assign(check, hook)

    r = await client.post(check_url(check), json={"channels": ""}, headers=rw(keys))

    assert r.status_code == 200, r.text
    assert r.json()["channels"] == ""
    assert await assigned_channels(db, check) == set()


async def test_an_unknown_channel_identifier_is_refused(client, factory, db):
    project, keys = await factory.project()
    await factory.channel(project, name="hook")
    r = await client.post(LIST_URL, json={"channels": "hook,abc"}, headers=rw(keys))
    assert_error(r, 400, "invalid channel identifier: abc")
    assert await count_checks(db) == 0


async def test_a_channel_of_another_project_is_an_invalid_identifier(client, factory):
    _, keys = await factory.project()
    other, _ = await factory.project()
    theirs = await factory.channel(other, name="theirs")
    r = await client.post(LIST_URL, json={"channels": str(theirs.code)}, headers=rw(keys))
    assert_error(r, 400, f"invalid channel identifier: {theirs.code}")


async def test_a_channel_name_shared_by_two_channels_is_ambiguous(client, factory):
    project, keys = await factory.project()
    await factory.channel(project, name="foo")
    await factory.channel(project, name="foo")
    r = await client.post(LIST_URL, json={"channels": "foo"}, headers=rw(keys))
    assert_error(r, 400, "non-unique channel identifier: foo")


async def test_an_empty_channel_identifier_is_refused(client, factory):
    project, keys = await factory.project()
    await factory.channel(project, name="hook")
    r = await client.post(LIST_URL, json={"channels": ","}, headers=rw(keys))
    assert_error(r, 400, "empty channel identifier")


async def test_channels_that_are_not_a_string_are_refused(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json={"channels": ["*"]}, headers=rw(keys))
    assert_error(r, 400, "json validation error: channels is not a string")


async def test_a_channel_named_like_a_uuid_is_found_by_name(client, factory):
    project, keys = await factory.project()
    named = await factory.channel(project, name=UNKNOWN)
    data = await create(client, keys, channels=UNKNOWN)
    assert data["channels"] == str(named.code)


async def test_a_bad_channel_leaves_a_unique_match_untouched(client, factory):
    project, keys = await factory.project()
    existing = await factory.check(project, name="Keep", desc="before")
    r = await client.post(
        LIST_URL,
        json={"name": "Keep", "desc": "after", "channels": "nope", "unique": ["name"]},
        headers=rw(keys),
    )
    assert_error(r, 400, "invalid channel identifier: nope")
    assert (await factory.reload(existing)).desc == "before"


# --- subject / subject_fail (item 45) ------------------------------------------------------------


async def test_subject_and_subject_fail_set_the_keywords_and_filter_subject(client, factory):
    _, keys = await factory.project()
    data = await create(client, keys, subject="SUCCESS", subject_fail="FAILED")
    assert (data["success_kw"], data["failure_kw"]) == ("SUCCESS", "FAILED")
    assert (data["subject"], data["subject_fail"]) == ("SUCCESS", "FAILED")
    assert data["filter_subject"] is True


async def test_an_empty_subject_turns_filter_subject_off(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, success_kw="OK", filter_subject=True)
    r = await client.post(check_url(check), json={"subject": ""}, headers=rw(keys))
    assert r.json()["filter_subject"] is False
    assert r.json()["success_kw"] == ""


async def test_explicit_keyword_fields_win_over_subject(client, factory):
    _, keys = await factory.project()
    data = await create(client, keys, subject="A", success_kw="B", filter_subject=False)
    assert data["success_kw"] == "B"
    assert data["filter_subject"] is False


# --- read one check (items 46-48) ----------------------------------------------------------------


async def test_a_simple_check_read_with_the_read_write_key_has_29_keys(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, name="Backups")

    r = await client.get(check_url(check), headers=rw(keys))

    assert r.status_code == 200, r.text
    data = r.json()
    assert len(data) == 29
    assert data.keys() == ALWAYS | READ_WRITE_ONLY | {"timeout"}
    assert data["uuid"] == str(check.code)
    assert_cors(r, "GET, POST, DELETE, OPTIONS")


async def test_the_read_only_key_sees_the_unique_key_instead_of_the_uuid(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)

    r = await client.get(check_url(check), headers=ro(keys))

    assert r.status_code == 200, r.text
    data = r.json()
    assert data.keys() == ALWAYS | {"unique_key", "timeout"}
    assert data["unique_key"] == unique_key(check.code)


async def test_a_check_can_be_read_by_its_unique_key(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, name="By key")

    for headers, field in ((ro(keys), "unique_key"), (rw(keys), "uuid")):
        r = await client.get(f"{LIST_URL}{unique_key(check.code)}", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "By key"
        assert field in r.json()
        assert_cors(r, "GET, OPTIONS")


async def test_posting_to_a_unique_key_url_is_not_allowed(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    r = await client.post(f"{LIST_URL}{unique_key(check.code)}", json={}, headers=rw(keys))
    assert r.status_code == 405
    r = await client.delete(f"{LIST_URL}{unique_key(check.code)}", headers=rw(keys))
    assert r.status_code == 405


async def test_a_unique_key_of_another_project_is_not_found(client, factory):
    _, keys = await factory.project()
    other, _ = await factory.project()
    theirs = await factory.check(other)
    r = await client.get(f"{LIST_URL}{unique_key(theirs.code)}", headers=rw(keys))
    assert r.status_code == 404


async def test_a_check_of_another_project_is_forbidden(client, factory):
    _, keys = await factory.project()
    other, _ = await factory.project()
    theirs = await factory.check(other)
    for method in ("GET", "POST", "DELETE"):
        r = await client.request(method, check_url(theirs), headers=rw(keys))
        assert r.status_code == 403, method
    assert await factory.reload(theirs)


@pytest.mark.parametrize(
    "ref",
    [
        "not-a-uuid",
        UNKNOWN.upper(),
        UNKNOWN.replace("-", ""),
        "a" * 39,
        "a" * 41,
    ],
)
async def test_a_malformed_check_reference_is_not_found(client, factory, ref):
    _, keys = await factory.project()
    r = await client.get(f"{LIST_URL}{ref}", headers=rw(keys))
    assert r.status_code == 404


async def test_an_unknown_check_is_not_found(client, factory):
    _, keys = await factory.project()
    for method in ("GET", "POST", "DELETE"):
        r = await client.request(method, check_url(UNKNOWN), headers=rw(keys))
        assert r.status_code == 404, method


async def test_a_wrong_method_is_refused_before_the_key(client):
    r = await client.put(check_url(UNKNOWN))
    assert r.status_code == 405
    assert_cors(r, "GET, POST, DELETE, OPTIONS")


@pytest.mark.parametrize("version", [1, 2, 3])
async def test_every_api_version_serves_the_check_with_its_own_urls(
    client, factory, settings, version
):
    project, keys = await factory.project()
    check = await factory.check(project)
    r = await client.get(check_url(check, version), headers=rw(keys))
    assert r.status_code == 200, r.text
    base = f"{settings.site_root}/api/v{version}/checks/{check.code}"
    assert r.json()["update_url"] == base
    assert r.json()["pause_url"] == base + "/pause"
    assert r.json()["resume_url"] == base + "/resume"


async def test_api_v1_shows_a_running_check_as_started(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project, status="up", last_ping=clock(), last_start=clock())

    v1 = (await client.get(check_url(check, 1), headers=rw(keys))).json()
    v3 = (await client.get(check_url(check, 3), headers=rw(keys))).json()

    assert (v1["status"], v1["started"]) == ("started", True)
    assert (v3["status"], v3["started"]) == ("up", True)


async def test_the_check_json_shows_times_without_microseconds(client, factory, clock):
    project, keys = await factory.project()
    last_ping = datetime(2026, 1, 15, 11, 59, 30, 987654, tzinfo=UTC)
    check = await factory.check(
        project, status="up", last_ping=last_ping, timeout=3600, last_duration=42.9
    )

    data = (await client.get(check_url(check), headers=rw(keys))).json()

    assert data["last_ping"] == "2026-01-15T11:59:30+00:00"
    assert data["next_ping"] == "2026-01-15T12:59:30+00:00"
    assert data["last_duration"] == 42
    assert len(data) == 30


async def test_the_status_is_computed_at_read_time(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project, status="up", last_ping=clock(), timeout=60, grace=60)
    clock.advance(61)
    assert (await client.get(check_url(check), headers=rw(keys))).json()["status"] == "grace"
    clock.advance(60)
    assert (await client.get(check_url(check), headers=rw(keys))).json()["status"] == "down"


# --- update (item 49) ----------------------------------------------------------------------------


async def test_update_changes_only_the_fields_given(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project, name="Old", tags="keep", desc="keep", timeout=300)
    hook = await factory.channel(project, name="hook")
    await factory.assign(check, hook)

    r = await client.post(check_url(check), json={"name": "New", "grace": 120}, headers=rw(keys))

    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["name"], data["grace"], data["tags"], data["desc"]) == ("New", 120, "keep", "keep")
    assert data["timeout"] == 300
    assert data["channels"] == str(hook.code)
    stored = await factory.reload(check)
    assert (stored.name, stored.grace, stored.tags, stored.slug) == ("New", 120, "keep", "")


async def test_update_with_v1_rederives_the_slug(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, name="Old", slug="old")
    r = await client.post(check_url(check, 1), json={"name": "Brand New"}, headers=rw(keys))
    assert r.json()["slug"] == "brand-new"


async def test_update_with_a_timeout_makes_a_cron_check_simple(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, kind="cron", schedule="0 3 * * *", tz="Europe/Riga")
    r = await client.post(check_url(check), json={"timeout": 600}, headers=rw(keys))
    data = r.json()
    assert data["timeout"] == 600
    assert "schedule" not in data
    assert (await factory.reload(check)).kind == "simple"


async def test_update_recomputes_when_the_check_goes_down(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project, status="up", last_ping=clock(), timeout=3600, grace=60)

    r = await client.post(check_url(check), json={"timeout": 120}, headers=rw(keys))

    assert r.status_code == 200, r.text
    stored = await factory.reload(check)
    assert stored.alert_after == clock() + timedelta(seconds=180)
    assert r.json()["next_ping"] == "2026-01-15T12:02:00+00:00"


async def test_update_of_a_cron_check_uses_its_time_zone(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project, status="up", last_ping=clock(), grace=60)

    r = await client.post(
        check_url(check), json={"schedule": "0 18 * * *", "tz": "Europe/Riga"}, headers=rw(keys)
    )

    # 18:00 in Riga (UTC+2 in January) is 16:00 UTC.
    assert r.json()["next_ping"] == "2026-01-15T16:00:00+00:00"
    stored = await factory.reload(check)
    assert stored.alert_after == datetime(2026, 1, 15, 16, 1, tzinfo=UTC)


async def test_update_validates_like_create(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, name="Same")
    r = await client.post(check_url(check), json={"name": "Changed", "grace": 1}, headers=rw(keys))
    assert_error(r, 400, "json validation error: grace is too small")
    assert (await factory.reload(check)).name == "Same"


async def test_update_ignores_unique(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project, name="A")
    await factory.check(project, name="B")
    r = await client.post(
        check_url(check), json={"name": "B", "unique": ["name"]}, headers=rw(keys)
    )
    assert r.status_code == 200
    assert r.json()["uuid"] == str(check.code)
    assert await count_checks(db) == 2


async def test_the_read_only_key_cannot_update(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, name="Same")
    r = await client.post(check_url(check), json={"name": "x"}, headers=ro(keys))
    assert_error(r, 401, "wrong api key")
    assert (await factory.reload(check)).name == "Same"


# --- delete (item 50) ----------------------------------------------------------------------------


async def test_delete_answers_with_the_check_as_it_was(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project, name="Doomed")
    hook = await factory.channel(project, name="hook")
    await factory.assign(check, hook)

    r = await client.delete(check_url(check), headers=rw(keys))

    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Doomed"
    assert r.json()["channels"] == str(hook.code)
    assert await load_check(db, check.code) is None
    assert (await client.get(check_url(check), headers=rw(keys))).status_code == 404


async def test_delete_removes_the_checks_pings_and_flips(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project)
    assert (await client.get(f"/ping/{check.code}")).status_code == 200
    assert len(await factory.flips(check)) == 1

    r = await client.delete(check_url(check), headers=rw(keys))

    assert r.status_code == 200
    assert await factory.pings(check) == []
    assert await factory.flips(check) == []
    assert (await client.get(f"/ping/{check.code}")).status_code == 404


async def test_the_read_only_key_cannot_delete(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project)
    assert_error(await client.delete(check_url(check), headers=ro(keys)), 401, "wrong api key")
    assert await load_check(db, check.code) is not None


async def test_api_changes_reach_open_dashboards(client, factory):
    from app import live

    _project, keys = await factory.project()
    async with live.hub.subscribe() as subscription:
        response = await client.post(
            "/api/v3/checks/", json={"name": "From the API"}, headers={"X-Api-Key": keys.api_key}
        )
        assert response.status_code == 201
        code = response.json()["ping_url"].rsplit("/", 1)[1]
        changed = await subscription.next(1)
        paused = await client.post(
            f"/api/v3/checks/{code}/pause", headers={"X-Api-Key": keys.api_key}
        )
        assert paused.status_code == 200
        assert await subscription.next(1) == changed  # the same check, again
    assert len(changed) == 1
