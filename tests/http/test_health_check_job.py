"""django-health-check-job's sync endpoint, POST /v1/metrics: results become pings."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.db import models as m

URL = "/v1/metrics"
MISSING = object()  # a key left out of the payload


def payload(keys: Any, *results: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uuid": "7b1a7d4e-9f1c-4c55-8a41-1f0e5c3e2d10",
        "timestamp": "2026-01-15T11:59:58.123456+00:00",
        "sync_app_id": keys.ping_key,
        "checks": list(results),
    }
    body.update(fields)
    return body


def result(name: str, status: int = 1, message: str = "working") -> dict[str, Any]:
    return {"name": name, "status": status, "message": message}


async def count(db, model: Any) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def project_checks(db, project: m.Project) -> list[m.Check]:
    async with db.sessionmaker() as session:
        found = await session.scalars(
            select(m.Check).where(m.Check.project_id == project.id).order_by(m.Check.id)
        )
        return list(found.all())


async def assigned_channels(db, check: m.Check) -> set[int]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(m.check_channels.c.channel_id).where(m.check_channels.c.check_id == check.id)
        )
        return set(rows.all())


async def notifications(db, check: m.Check) -> list[m.Notification]:
    async with db.sessionmaker() as session:
        found = await session.scalars(
            select(m.Notification).where(m.Notification.check_id == check.id)
        )
        return list(found.all())


# --- recording ---------------------------------------------------------------------------------


async def test_it_records_a_success_ping_on_the_check_with_the_slugified_name(
    client, factory, clock
):
    project, keys = await factory.project()
    check = await factory.check(project, name="Database", slug="databasebackend")

    r = await client.post(
        URL,
        json=payload(keys, result("DatabaseBackend", 1, "working")),
        headers={"User-Agent": "python-requests/2.32"},
    )

    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "applied": 1, "created": []}
    check = await factory.reload(check)
    assert check.status == "up"
    assert check.last_ping == clock()
    assert check.n_pings == 1
    [ping] = await factory.pings(check)
    assert ping.kind == "success"
    assert ping.body == b"working"
    assert ping.method == "POST"
    assert ping.scheme == "http"
    assert ping.remote_addr == "10.1.2.3"
    assert ping.ua == "python-requests/2.32"
    assert ping.created == clock()


async def test_status_0_makes_the_check_down_with_a_flip_and_notifications(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project, slug="cache-backend-default", status="up")
    hook = await factory.channel(project, value={"url_down": "https://example.org/down"})
    await factory.assign(check, hook)

    r = await client.post(
        URL, json=payload(keys, result("Cache backend: default", 0, "unavailable: timed out"))
    )

    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "applied": 1, "created": []}
    check = await factory.reload(check)
    assert check.status == "down"
    assert check.alert_after is None
    [ping] = await factory.pings(check)
    assert ping.kind == "fail"
    assert ping.body == b"unavailable: timed out"
    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status, flip.reason) == ("up", "down", "fail")
    assert flip.processed is None
    [notification] = await notifications(db, check)
    assert notification.flip_id == flip.id
    assert notification.channel_id == hook.id
    assert notification.check_status == "down"


async def test_status_1_brings_a_down_check_back_up_with_a_flip(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project, slug="storage", status="down")
    hook = await factory.channel(project, value={"url_up": "https://example.org/up"})
    await factory.assign(check, hook)

    r = await client.post(URL, json=payload(keys, result("Storage")))

    assert r.status_code == 200, r.text
    assert (await factory.reload(check)).status == "up"
    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status, flip.reason) == ("down", "up", "")
    [notification] = await notifications(db, check)
    assert notification.check_status == "up"


async def test_it_stores_the_message_as_utf8_cut_at_the_ping_body_limit(client, factory, settings):
    project, keys = await factory.project()
    check = await factory.check(project, slug="disk")
    long = "é" * settings.ping_body_limit  # two bytes each

    r = await client.post(
        URL, json=payload(keys, result("Disk", 1, "ok ✓"), result("Disk", 1, long))
    )

    assert r.status_code == 200, r.text
    first, second = await factory.pings(check)
    assert first.body == "ok ✓".encode()
    assert second.body == long.encode()[: settings.ping_body_limit]


async def test_an_empty_message_stores_no_body(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, slug="memory")

    r = await client.post(URL, json=payload(keys, result("Memory", 1, "")))

    assert r.status_code == 200, r.text
    [ping] = await factory.pings(check)
    assert ping.body is None


async def test_it_applies_every_result_in_payload_order(client, factory):
    project, keys = await factory.project()
    db_check = await factory.check(project, slug="database")
    cache = await factory.check(project, slug="cache", status="up")

    r = await client.post(
        URL,
        json=payload(
            keys,
            result("Database", 1),
            result("Cache", 0, "down"),
            result("Database", 0, "lost"),
        ),
    )

    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "applied": 3, "created": []}
    assert [p.kind for p in await factory.pings(db_check)] == ["success", "fail"]
    assert [p.n for p in await factory.pings(db_check)] == [1, 2]
    assert (await factory.reload(db_check)).status == "down"
    assert [(f.old_status, f.new_status) for f in await factory.flips(db_check)] == [
        ("new", "up"),
        ("up", "down"),
    ]
    assert (await factory.reload(cache)).status == "down"


async def test_an_empty_checks_list_applies_nothing(client, factory, db):
    _, keys = await factory.project()

    r = await client.post(URL, json=payload(keys))

    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "applied": 0, "created": []}
    assert await count(db, m.Ping) == 0


async def test_it_obeys_the_check_rules_like_any_ping(client, factory):
    project, keys = await factory.project()
    paused = await factory.check(project, slug="celery", status="paused", manual_resume=True)
    filtered = await factory.check(
        project, slug="redis", status="up", filter_http_body=True, failure_kw="ERROR"
    )

    r = await client.post(
        URL, json=payload(keys, result("Celery"), result("Redis", 1, "ERROR: no answer"))
    )

    assert r.status_code == 200, r.text
    [ping] = await factory.pings(paused)
    assert ping.kind == "ign"
    assert (await factory.reload(paused)).status == "paused"
    [ping] = await factory.pings(filtered)
    assert ping.kind == "fail"
    assert (await factory.reload(filtered)).status == "down"


@pytest.mark.parametrize(
    "timestamp",
    [
        "2026-01-15T11:59:58Z",
        "2026-01-15T11:59:58.5+02:00",
        "2026-01-15T11:59:58",
        "2026-01-15",
        1768478398,
        1768478398.25,
    ],
)
async def test_it_accepts_an_iso_or_unix_timestamp(client, factory, timestamp):
    project, keys = await factory.project()
    await factory.check(project, slug="db")

    r = await client.post(URL, json=payload(keys, result("db"), timestamp=timestamp))

    assert r.status_code == 200, r.text


# --- creation on first sight ---------------------------------------------------------------------


async def test_a_new_name_creates_a_check_with_the_projects_channels(client, factory, db, clock):
    project, keys = await factory.project()
    other, _ = await factory.project()
    hook = await factory.channel(project, value={"url_down": "https://example.org/down"})
    mail = await factory.channel(project, kind="email", value={"value": "ops@example.org"})
    await factory.channel(other, value={"url_down": "https://example.org/other"})

    r = await client.post(URL, json=payload(keys, result("Cache backend: default", 1, "ok")))

    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "applied": 1, "created": ["cache-backend-default"]}
    [check] = await project_checks(db, project)
    assert check.name == "Cache backend: default"
    assert check.slug == "cache-backend-default"
    assert check.kind == "simple"
    assert check.created == clock()
    assert (check.timeout, check.grace) == (86400, 3600)
    assert check.status == "up"
    assert check.n_pings == 1
    assert await assigned_channels(db, check) == {hook.id, mail.id}
    [ping] = await factory.pings(check)
    assert ping.kind == "success"
    # new → up notifies nobody: the flip is processed at once and has no notifications.
    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status, flip.processed) == ("new", "up", clock())
    assert await notifications(db, check) == []


async def test_a_new_name_with_status_0_creates_a_down_check_and_notifies(client, factory, db):
    project, keys = await factory.project()
    hook = await factory.channel(project, value={"url_down": "https://example.org/down"})

    r = await client.post(URL, json=payload(keys, result("Celery Ping", 0, "no workers")))

    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "applied": 1, "created": ["celery-ping"]}
    [check] = await project_checks(db, project)
    assert check.status == "down"
    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status, flip.reason) == ("new", "down", "fail")
    [notification] = await notifications(db, check)
    assert notification.channel_id == hook.id


async def test_a_name_repeated_in_one_payload_creates_one_check(client, factory, db):
    project, keys = await factory.project()

    r = await client.post(
        URL, json=payload(keys, result("Disk Usage", 1), result("disk usage", 0, "95% full"))
    )

    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "applied": 2, "created": ["disk-usage"]}
    [check] = await project_checks(db, project)
    assert check.name == "Disk Usage"
    assert [p.kind for p in await factory.pings(check)] == ["success", "fail"]


async def test_created_lists_only_the_new_checks_in_payload_order(client, factory, db):
    project, keys = await factory.project()
    await factory.check(project, slug="database")

    r = await client.post(
        URL,
        json=payload(keys, result("Storage"), result("Database"), result("Migrations")),
    )

    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "applied": 3, "created": ["storage", "migrations"]}
    assert [c.slug for c in await project_checks(db, project)] == [
        "database",
        "storage",
        "migrations",
    ]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("DatabaseBackend", "databasebackend"),
        ("Cache backend: default", "cache-backend-default"),
        ("  Ünïcödé  Náme  ", "unicode-name"),
        ("a -- b__c", "a-b__c"),
        ("-_ edge _-", "edge"),
        ("S3Boto3StorageHealthCheck", "s3boto3storagehealthcheck"),
        ("Ｆｕｌｌｗｉｄｔｈ ①", "fullwidth-1"),
        ("tab\tand\nnewline", "tab-and-newline"),
    ],
)
async def test_names_are_slugified_as_django_does(client, factory, db, name, slug):
    project, keys = await factory.project()

    r = await client.post(URL, json=payload(keys, result(name)))

    assert r.status_code == 200, r.text
    assert r.json()["created"] == [slug]
    [check] = await project_checks(db, project)
    assert (check.name, check.slug) == (name, slug)


async def test_concurrent_first_sightings_create_one_check(client, factory, db):
    project, keys = await factory.project()

    answers = await asyncio.gather(
        *(client.post(URL, json=payload(keys, result("Queue"))) for _ in range(4))
    )

    assert [r.status_code for r in answers] == [200] * 4
    assert sorted(len(r.json()["created"]) for r in answers) == [0, 0, 0, 1]
    [check] = await project_checks(db, project)
    assert check.n_pings == 4


async def test_it_refuses_to_create_checks_over_the_auto_provisioning_limit(client, factory, db):
    owner = await factory.user()
    project, keys = await factory.project(owner)
    existing = await factory.check(project, slug="database")
    await factory.check(project, slug="cache")
    async with db.engine.begin() as conn:
        await conn.execute(
            update(m.Profile).where(m.Profile.user_id == owner.id).values(check_limit=1)
        )

    r = await client.post(URL, json=payload(keys, result("Database"), result("Storage")))

    assert r.status_code == 403, r.text
    assert r.json() == {"error": "check limit reached"}
    assert await factory.pings(existing) == []
    assert len(await project_checks(db, project)) == 2


# --- errors --------------------------------------------------------------------------------------


async def test_an_unknown_sync_app_id_is_404(client, factory, db):
    await factory.project()
    body = {"uuid": "x", "timestamp": 0, "sync_app_id": "nope", "checks": [result("Database")]}

    r = await client.post(URL, json=body)

    assert r.status_code == 404, r.text
    assert r.json() == {"error": "unknown sync_app_id"}
    assert await count(db, m.Check) == 0


async def test_an_api_key_is_not_a_sync_app_id(client, factory, db):
    _, keys = await factory.project()

    r = await client.post(URL, json=payload(keys, result("Database"), sync_app_id=keys.api_key))

    assert r.status_code == 404, r.text
    assert r.json() == {"error": "unknown sync_app_id"}


async def test_a_payload_with_one_bad_item_applies_nothing(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project, slug="database", status="up")

    r = await client.post(
        URL,
        json=payload(
            keys,
            result("Database", 0, "gone"),
            result("Brand new", 1),
            {"name": "Storage", "status": 2, "message": "?"},
        ),
    )

    assert r.status_code == 400, r.text
    assert r.json() == {"error": "checks[2].status must be 0 or 1"}
    check = await factory.reload(check)
    assert (check.status, check.n_pings) == ("up", 0)
    assert await count(db, m.Ping) == 0
    assert await count(db, m.Flip) == 0
    assert [c.slug for c in await project_checks(db, project)] == ["database"]


async def test_a_failure_while_applying_rolls_back_the_results_already_applied(client, factory, db):
    project, keys = await factory.project()
    hook = await factory.channel(project, value={"url_down": "https://example.org/down"})
    database = await factory.check(project, slug="database", status="up")
    await factory.assign(database, hook)
    await factory.check(project, name="One", slug="twin")
    await factory.check(project, name="Two", slug="twin")

    r = await client.post(
        URL,
        json=payload(keys, result("Database", 0, "gone"), result("Queue"), result("Twin")),
    )

    assert r.status_code == 409, r.text
    assert r.json() == {"error": "checks[2].name: more than one check has the slug 'twin'"}
    database = await factory.reload(database)
    assert (database.status, database.n_pings) == ("up", 0)
    assert await count(db, m.Ping) == 0
    assert await count(db, m.Flip) == 0
    assert await count(db, m.Notification) == 0
    assert [c.slug for c in await project_checks(db, project)] == ["database", "twin", "twin"]


@pytest.mark.parametrize("content", [b"{not json", b""])
async def test_a_body_that_is_not_json_is_400(client, content):
    r = await client.post(URL, content=content, headers={"Content-Type": "application/json"})

    assert r.status_code == 400, r.text
    assert r.json() == {"error": "could not parse request body"}


async def test_a_body_that_is_not_utf8_is_400(client):
    r = await client.post(URL, content=b'{"uuid": "\xff"}')

    assert r.status_code == 400, r.text
    assert r.json() == {"error": "could not parse request body"}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"uuid": MISSING}, "uuid is required"),
        ({"uuid": None}, "uuid is required"),
        ({"uuid": 5}, "uuid must be a string"),
        ({"timestamp": MISSING}, "timestamp is required"),
        ({"timestamp": None}, "timestamp is required"),
        ({"timestamp": "yesterday"}, "timestamp must be an ISO 8601 date-time or a unix time"),
        ({"timestamp": True}, "timestamp must be an ISO 8601 date-time or a unix time"),
        ({"timestamp": 1e300}, "timestamp must be an ISO 8601 date-time or a unix time"),
        ({"timestamp": [2026]}, "timestamp must be an ISO 8601 date-time or a unix time"),
        ({"sync_app_id": MISSING}, "sync_app_id is required"),
        ({"sync_app_id": None}, "sync_app_id is required"),
        ({"sync_app_id": ""}, "sync_app_id is required"),
        ({"sync_app_id": 42}, "sync_app_id must be a string"),
        ({"sync_app_id": "ab\x00cd"}, "sync_app_id contains invalid characters"),
        ({"checks": MISSING}, "checks is required"),
        ({"checks": None}, "checks is required"),
        ({"checks": {"name": "x"}}, "checks must be a list"),
        ({"checks": ["Database"]}, "checks[0] must be an object"),
        ({"checks": [{"status": 1, "message": ""}]}, "checks[0].name is required"),
        ({"checks": [{"name": 7, "status": 1, "message": ""}]}, "checks[0].name must be a string"),
        ({"checks": [result("!!!")]}, "checks[0].name must contain a letter or a digit"),
        ({"checks": [result("")]}, "checks[0].name must contain a letter or a digit"),
        ({"checks": [result("x" * 101)]}, "checks[0].name is longer than 100 characters"),
        ({"checks": [result("a\x00b")]}, "checks[0].name contains invalid characters"),
        ({"checks": [result("a\ud800b")]}, "checks[0].name contains invalid characters"),
        ({"checks": [{"name": "db", "message": ""}]}, "checks[0].status must be 0 or 1"),
        ({"checks": [result("db", True)]}, "checks[0].status must be 0 or 1"),
        ({"checks": [result("db", "1")]}, "checks[0].status must be 0 or 1"),
        ({"checks": [result("db", 1.5)]}, "checks[0].status must be 0 or 1"),
        ({"checks": [{"name": "db", "status": 1}]}, "checks[0].message is required"),
        ({"checks": [result("db", 1, ["x"])]}, "checks[0].message must be a string"),
        ({"checks": [result("db", 1, "\udfff")]}, "checks[0].message contains invalid characters"),
    ],
)
async def test_a_malformed_payload_is_400_naming_the_problem(client, factory, db, change, error):
    _, keys = await factory.project()
    body = payload(keys, result("Database"))
    for key, value in change.items():
        if value is MISSING:
            del body[key]
        else:
            body[key] = value

    # json.dumps escapes lone surrogates ("\\ud800"), which httpx's encoder cannot send.
    r = await client.post(URL, content=json.dumps(body))

    assert r.status_code == 400, r.text
    assert r.json() == {"error": error}
    assert await count(db, m.Check) == 0


@pytest.mark.parametrize("body", [[], "metrics", 42, None])
async def test_a_payload_that_is_not_an_object_is_400(client, body):
    r = await client.post(URL, content=json.dumps(body))

    assert r.status_code == 400, r.text
    assert r.json() == {"error": "payload must be a JSON object"}


async def test_validation_comes_before_the_sync_app_id_lookup(client):
    body = {"uuid": "x", "timestamp": 0, "sync_app_id": "nope", "checks": [result("db", 3)]}

    r = await client.post(URL, json=body)

    assert r.status_code == 400, r.text
    assert r.json() == {"error": "checks[0].status must be 0 or 1"}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_only_post_is_served(client, method):
    r = await client.request(method, URL)

    assert r.status_code == 405


async def test_the_run_uuid_need_not_be_a_uuid(client, factory):
    project, keys = await factory.project()
    await factory.check(project, slug="db")

    r = await client.post(URL, json=payload(keys, result("db"), uuid=str(uuid.uuid4()) + "-x"))

    assert r.status_code == 200, r.text
