"""Heartbeat Central's management API: /api/applications over simple checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.db import models as m

LIST_URL = "/api/applications"
NOW = "2026-01-15T12:00:00+00:00"  # the clock fixture's time, as the API writes it


def url(check: m.Check | str | uuid.UUID, suffix: str = "") -> str:
    code = check.code if isinstance(check, m.Check) else check
    return f"{LIST_URL}/{code}{suffix}"


def rw(keys: Any) -> dict[str, str]:
    return {"X-Api-Key": keys.api_key}


def ro(keys: Any) -> dict[str, str]:
    return {"X-Api-Key": keys.api_key_readonly}


def application(check: m.Check, **fields: Any) -> dict[str, Any]:
    """The JSON of ``check`` as stored, with ``fields`` overriding."""
    result = {
        "id": str(check.code),
        "uuid": str(check.code),
        "name": check.name,
        "expected_interval": check.timeout,
        "grace_period": check.grace,
        "last_heartbeat": None,
        "is_active": check.status != "paused",
        "created_at": NOW,
        "updated_at": NOW,
    }
    result.update(fields)
    return result


def beat(check: m.Check, n: int, received_at: str, kind: str) -> dict[str, Any]:
    """One entry of the heartbeat history."""
    return {"id": n, "application_id": str(check.code), "received_at": received_at, "kind": kind}


async def load(db, code: str | uuid.UUID) -> m.Check | None:
    async with db.sessionmaker() as session:
        return await session.scalar(select(m.Check).where(m.Check.code == uuid.UUID(str(code))))


async def assigned_channels(db, check: m.Check) -> set[int]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(m.check_channels.c.channel_id).where(m.check_channels.c.check_id == check.id)
        )
        return set(rows.all())


async def count(db, model: Any) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def heartbeat(client, check: m.Check) -> None:
    r = await client.post(f"/heartbeat/{check.code}")
    assert r.status_code == 200, r.text


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("POST", ""),
        ("GET", "/{code}"),
        ("PUT", "/{code}"),
        ("DELETE", "/{code}"),
        ("GET", "/{code}/heartbeats"),
    ],
)
async def test_every_endpoint_needs_an_api_key(client, factory, method, suffix):
    check = await factory.check()
    path = LIST_URL + suffix.format(code=check.code)

    missing = await client.request(method, path, json={"name": "x"})
    wrong = await client.request(method, path, headers={"X-Api-Key": "x" * 32})

    assert missing.status_code == 401, missing.text
    assert missing.json() == {"error": "missing api key"}
    assert wrong.status_code == 401, wrong.text
    assert wrong.json() == {"error": "wrong api key"}


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "", {"name": "x", "expected_interval": 60}),
        ("PUT", "/{code}", {"name": "x"}),
        ("DELETE", "/{code}", None),
    ],
)
async def test_the_read_only_key_may_not_write(client, factory, db, method, suffix, body):
    project, keys = await factory.project()
    check = await factory.check(project, name="Backups")

    r = await client.request(
        method, LIST_URL + suffix.format(code=check.code), json=body, headers=ro(keys)
    )

    assert r.status_code == 401, r.text
    assert r.json() == {"error": "wrong api key"}
    assert (await factory.reload(check)).name == "Backups"
    assert await count(db, m.Check) == 1


async def test_the_api_key_may_come_in_a_post_body(client, factory):
    _, keys = await factory.project()

    r = await client.post(
        LIST_URL, json={"name": "Backups", "expected_interval": 3600, "api_key": keys.api_key}
    )

    assert r.status_code == 201, r.text


# --- list ----------------------------------------------------------------------------------------


async def test_it_lists_the_projects_simple_checks_as_applications(client, factory, clock):
    project, keys = await factory.project()
    other, _ = await factory.project()
    first = await factory.check(project, name="Backups", timeout=300, grace=120)
    second = await factory.check(
        project,
        name="Billing",
        timeout=86400,
        grace=3600,
        status="up",
        last_ping=datetime(2026, 1, 15, 11, 30, 15, 123456, tzinfo=UTC),
    )
    paused = await factory.check(project, name="Old job", status="paused")
    await factory.check(project, name="Nightly", kind="cron", schedule="0 3 * * *")
    await factory.check(other, name="Not mine")

    r = await client.get(LIST_URL, headers=rw(keys))

    assert r.status_code == 200, r.text
    assert r.json() == [
        application(first),
        application(second, last_heartbeat="2026-01-15T11:30:15+00:00"),
        application(paused, is_active=False),
    ]


async def test_the_read_only_key_may_list(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, name="Backups")

    r = await client.get(LIST_URL, headers=ro(keys))

    assert r.status_code == 200, r.text
    assert r.json() == [application(check)]


async def test_an_empty_project_lists_no_applications(client, factory):
    _, keys = await factory.project()

    r = await client.get(LIST_URL, headers=rw(keys))

    assert r.status_code == 200, r.text
    assert r.json() == []


# --- create --------------------------------------------------------------------------------------


async def test_it_creates_an_application_as_a_simple_check(client, factory, db, clock):
    project, keys = await factory.project()
    hook = await factory.channel(project, value={"url_down": "https://example.org/down"})
    mail = await factory.channel(project, kind="email", value={"value": "ops@example.org"})
    other, _ = await factory.project()
    await factory.channel(other, value={"url_down": "https://example.org/other"})

    r = await client.post(
        LIST_URL,
        json={"name": " Billing API ", "expected_interval": 300, "grace_period": 120},
        headers=rw(keys),
    )

    assert r.status_code == 201, r.text
    body = r.json()
    check = await load(db, body["uuid"])
    assert check is not None
    assert body == {
        "id": str(check.code),
        "uuid": str(check.code),
        "name": "Billing API",
        "expected_interval": 300,
        "grace_period": 120,
        "last_heartbeat": None,
        "is_active": True,
        "created_at": NOW,
        "updated_at": NOW,
    }
    assert check.project_id == project.id
    assert (check.name, check.slug, check.kind) == ("Billing API", "billing-api", "simple")
    assert (check.timeout, check.grace, check.status) == (300, 120, "new")
    assert check.created == clock()
    assert await assigned_channels(db, check) == {hook.id, mail.id}


async def test_the_created_application_receives_heartbeats(client, factory, db, clock):
    _, keys = await factory.project()
    r = await client.post(
        LIST_URL, json={"name": "Billing", "expected_interval": 300}, headers=rw(keys)
    )
    code = r.json()["uuid"]
    clock.advance(90)

    beat = await client.post(f"/heartbeat/{code}")
    r = await client.get(url(code), headers=rw(keys))

    assert beat.status_code == 200, beat.text
    assert r.json()["last_heartbeat"] == "2026-01-15T12:01:30+00:00"
    check = await load(db, code)
    assert check is not None
    assert check.status == "up"
    assert check.alert_after == clock() + timedelta(seconds=300 + 60)


async def test_grace_period_defaults_to_the_shortest_cronbeat_allows(client, factory, db):
    _, keys = await factory.project()

    r = await client.post(
        LIST_URL, json={"name": "Billing", "expected_interval": 600}, headers=rw(keys)
    )

    assert r.status_code == 201, r.text
    assert r.json()["grace_period"] == 60
    check = await load(db, r.json()["uuid"])
    assert check is not None
    assert check.grace == 60


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ({"expected_interval": 1, "grace_period": 0}, (60, 60)),
        ({"expected_interval": 30, "grace_period": 59}, (60, 60)),
        ({"expected_interval": 60, "grace_period": 60}, (60, 60)),
        ({"expected_interval": 31536000, "grace_period": 31536000}, (31536000, 31536000)),
    ],
)
async def test_intervals_below_a_minute_are_raised_to_a_minute(client, factory, sent, stored):
    _, keys = await factory.project()

    r = await client.post(LIST_URL, json={"name": "Fast", **sent}, headers=rw(keys))

    assert r.status_code == 201, r.text
    assert (r.json()["expected_interval"], r.json()["grace_period"]) == stored


async def test_an_application_created_inactive_is_a_paused_check(client, factory, db, clock):
    _, keys = await factory.project()

    r = await client.post(
        LIST_URL,
        json={"name": "Billing", "expected_interval": 300, "is_active": False},
        headers=rw(keys),
    )

    assert r.status_code == 201, r.text
    assert r.json()["is_active"] is False
    assert r.json()["updated_at"] == NOW
    check = await load(db, r.json()["uuid"])
    assert check is not None
    assert check.status == "paused"
    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status, flip.processed) == ("new", "paused", clock())


async def test_unknown_fields_are_ignored(client, factory):
    _, keys = await factory.project()

    r = await client.post(
        LIST_URL,
        json={"name": "Billing", "expected_interval": 300, "id": 7, "color": "red"},
        headers=rw(keys),
    )

    assert r.status_code == 201, r.text
    assert r.json()["id"] == r.json()["uuid"]


_VALID = {"name": "Billing", "expected_interval": 300}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"expected_interval": 300}, "name is required"),
        ({"name": "Billing"}, "expected_interval is required"),
        ({**_VALID, "name": None}, "name is required"),
        ({**_VALID, "name": 5}, "name must be a string"),
        ({**_VALID, "name": "   "}, "name must not be empty"),
        ({**_VALID, "name": "x" * 101}, "name is longer than 100 characters"),
        ({**_VALID, "name": "a\x00b"}, "name contains invalid characters"),
        ({**_VALID, "expected_interval": "300"}, "expected_interval must be an integer (seconds)"),
        ({**_VALID, "expected_interval": 300.5}, "expected_interval must be an integer (seconds)"),
        ({**_VALID, "expected_interval": True}, "expected_interval must be an integer (seconds)"),
        ({**_VALID, "expected_interval": 0}, "expected_interval must be positive"),
        ({**_VALID, "expected_interval": -5}, "expected_interval must be positive"),
        ({**_VALID, "expected_interval": 31536001}, "expected_interval is too large"),
        ({**_VALID, "grace_period": None}, "grace_period must be an integer (seconds)"),
        ({**_VALID, "grace_period": -1}, "grace_period must be zero or more"),
        ({**_VALID, "grace_period": 31536001}, "grace_period is too large"),
        ({**_VALID, "is_active": "yes"}, "is_active must be true or false"),
        ({**_VALID, "is_active": None}, "is_active must be true or false"),
        ({**_VALID, "is_active": 1}, "is_active must be true or false"),
        ([_VALID], "json validation error: value is not an object"),
    ],
)
async def test_create_validation_errors_are_400(client, factory, db, body, error):
    _, keys = await factory.project()

    r = await client.post(LIST_URL, json=body, headers=rw(keys))

    assert r.status_code == 400, r.text
    assert r.json() == {"error": error}
    assert await count(db, m.Check) == 0


async def test_a_create_body_that_is_not_json_is_400(client, factory):
    _, keys = await factory.project()

    r = await client.post(LIST_URL, content=b"{name", headers=rw(keys))

    assert r.status_code == 400, r.text
    assert r.json() == {"error": "could not parse request body"}


async def test_create_is_refused_over_the_check_limit(client, factory, db):
    owner = await factory.user()
    project, keys = await factory.project(owner)
    await factory.check(project)
    async with db.engine.begin() as conn:
        await conn.execute(
            update(m.Profile).where(m.Profile.user_id == owner.id).values(check_limit=1)
        )

    r = await client.post(LIST_URL, json=_VALID, headers=rw(keys))

    assert r.status_code == 403, r.text
    assert r.json() == {"error": "check limit reached"}
    assert await count(db, m.Check) == 1


# --- detail --------------------------------------------------------------------------------------


async def test_it_shows_an_application_with_its_status_and_recent_heartbeats(
    client, factory, clock
):
    project, keys = await factory.project()
    check = await factory.check(project, name="Backups", timeout=300, grace=60)
    for _ in range(12):
        await heartbeat(client, check)
        clock.advance(10)

    r = await client.get(url(check), headers=rw(keys))

    assert r.status_code == 200, r.text
    assert r.json() == {
        **application(check, last_heartbeat="2026-01-15T12:01:50+00:00"),
        "is_overdue": False,
        "recent_heartbeats": [
            beat(check, n, f"2026-01-15T12:0{(n - 1) // 6}:{(n - 1) % 6}0+00:00", "success")
            for n in range(12, 2, -1)
        ],
    }


@pytest.mark.parametrize(
    ("pinged", "later", "overdue"),
    [
        (False, 359, False),
        (False, 360, True),
        (True, 359, False),
        (True, 360, True),
    ],
)
async def test_is_overdue_follows_heartbeat_centrals_rule(
    client, factory, clock, pinged, later, overdue
):
    project, keys = await factory.project()
    check = await factory.check(project, timeout=300, grace=60)
    if pinged:
        clock.advance(1000)
        await heartbeat(client, check)
    clock.advance(later)

    r = await client.get(url(check), headers=rw(keys))

    assert r.status_code == 200, r.text
    assert r.json()["is_overdue"] is overdue


async def test_the_read_only_key_may_show_an_application(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, name="Backups")

    r = await client.get(url(check), headers=ro(keys))

    assert r.status_code == 200, r.text
    assert r.json()["uuid"] == str(check.code)


# --- update --------------------------------------------------------------------------------------


async def test_it_updates_name_interval_and_grace(client, factory, db, clock):
    project, keys = await factory.project()
    check = await factory.check(project, name="Backups", slug="backups", timeout=300, grace=60)
    clock.advance(3600)

    r = await client.put(
        url(check),
        json={"name": "Nightly backups", "expected_interval": 86400, "grace_period": 7200},
        headers=rw(keys),
    )

    assert r.status_code == 200, r.text
    assert r.json() == application(
        check, name="Nightly backups", expected_interval=86400, grace_period=7200
    )
    check = await factory.reload(check)
    assert (check.name, check.timeout, check.grace) == ("Nightly backups", 86400, 7200)
    assert check.slug == "backups"  # renaming keeps the slug, as in API v3


async def test_an_update_changes_only_the_fields_given(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, name="Backups", timeout=300, grace=120)

    r = await client.put(url(check), json={"grace_period": 600}, headers=rw(keys))

    assert r.status_code == 200, r.text
    assert r.json() == application(check, grace_period=600)
    check = await factory.reload(check)
    assert (check.name, check.timeout, check.grace) == ("Backups", 300, 600)


async def test_a_new_expected_interval_moves_the_deadline(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project, timeout=300, grace=60)
    await heartbeat(client, check)

    r = await client.put(url(check), json={"expected_interval": 900}, headers=rw(keys))

    assert r.status_code == 200, r.text
    check = await factory.reload(check)
    assert check.alert_after == clock() + timedelta(seconds=900 + 60)


async def test_is_active_false_pauses_and_true_resumes(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project, name="Backups")
    await heartbeat(client, check)

    clock.advance(60)
    paused = await client.put(url(check), json={"is_active": False}, headers=rw(keys))
    clock.advance(60)
    resumed = await client.put(url(check), json={"is_active": True}, headers=rw(keys))

    assert paused.status_code == 200, paused.text
    assert paused.json() == application(
        check,
        is_active=False,
        last_heartbeat=NOW,
        updated_at="2026-01-15T12:01:00+00:00",
    )
    assert resumed.status_code == 200, resumed.text
    # Resuming starts the check afresh (Healthchecks' resume): no heartbeat yet.
    assert resumed.json() == application(
        check, is_active=True, updated_at="2026-01-15T12:02:00+00:00"
    )
    check = await factory.reload(check)
    assert check.status == "new"
    flips = [(f.old_status, f.new_status) for f in await factory.flips(check)]
    assert flips == [("new", "up"), ("up", "paused"), ("paused", "new")]


async def test_is_active_that_is_already_so_changes_nothing(client, factory):
    project, keys = await factory.project()
    active = await factory.check(project, status="up")
    inactive = await factory.check(project, status="paused")

    r1 = await client.put(url(active), json={"is_active": True}, headers=rw(keys))
    r2 = await client.put(url(inactive), json={"is_active": False}, headers=rw(keys))

    assert (r1.status_code, r2.status_code) == (200, 200)
    assert (await factory.reload(active)).status == "up"
    assert (await factory.reload(inactive)).status == "paused"
    assert await factory.flips(active) == []
    assert await factory.flips(inactive) == []


async def test_updated_at_does_not_move_with_heartbeats(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project)
    clock.advance(600)
    await heartbeat(client, check)

    r = await client.get(url(check), headers=rw(keys))

    assert r.json()["updated_at"] == NOW
    assert r.json()["last_heartbeat"] == "2026-01-15T12:10:00+00:00"


async def test_a_down_application_is_still_active(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, status="down")

    r = await client.get(url(check), headers=rw(keys))

    assert r.json()["is_active"] is True


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "no data provided"),
        ([], "body must be a JSON object"),
        ({"name": ""}, "name must not be empty"),
        ({"name": ["x"]}, "name must be a string"),
        ({"expected_interval": "1h"}, "expected_interval must be an integer (seconds)"),
        ({"expected_interval": 0}, "expected_interval must be positive"),
        ({"expected_interval": 31536001}, "expected_interval is too large"),
        ({"grace_period": -60}, "grace_period must be zero or more"),
        ({"grace_period": 31536001}, "grace_period is too large"),
        ({"is_active": "false"}, "is_active must be true or false"),
        ({"name": "ok", "is_active": 0}, "is_active must be true or false"),
    ],
)
async def test_update_validation_errors_are_400_and_change_nothing(client, factory, body, error):
    project, keys = await factory.project()
    check = await factory.check(project, name="Backups", timeout=300, grace=60)

    r = await client.put(url(check), json=body, headers=rw(keys))

    assert r.status_code == 400, r.text
    assert r.json() == {"error": error}
    check = await factory.reload(check)
    assert (check.name, check.timeout, check.grace, check.status) == ("Backups", 300, 60, "new")


@pytest.mark.parametrize("content", [b"", b"{oops", b"\xff"])
async def test_an_update_body_that_is_not_a_json_object_is_400(client, factory, content):
    project, keys = await factory.project()
    check = await factory.check(project)

    r = await client.put(url(check), content=content, headers=rw(keys))

    assert r.status_code == 400, r.text
    expected = "no data provided" if content == b"" else "could not parse request body"
    assert r.json() == {"error": expected}


# --- delete --------------------------------------------------------------------------------------


async def test_it_deletes_an_application_with_its_heartbeats(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project)
    keep = await factory.check(project)
    await heartbeat(client, check)

    r = await client.delete(url(check), headers=rw(keys))

    assert r.status_code == 204, r.text
    assert r.content == b""
    assert await load(db, check.code) is None
    assert await load(db, keep.code) is not None
    assert await count(db, m.Ping) == 0
    again = await client.delete(url(check), headers=rw(keys))
    assert again.status_code == 404
    assert again.json() == {"error": "application not found"}


# --- heartbeat history ---------------------------------------------------------------------------


async def test_it_lists_heartbeats_newest_first_with_their_kind(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project)
    await heartbeat(client, check)
    clock.advance(30)
    assert (await client.post(f"/ping/{check.code}/fail")).status_code == 200
    clock.advance(30)
    await heartbeat(client, check)

    r = await client.get(url(check, "/heartbeats"), headers=ro(keys))

    assert r.status_code == 200, r.text
    assert r.json() == {
        "heartbeats": [
            beat(check, 3, "2026-01-15T12:01:00+00:00", "success"),
            beat(check, 2, "2026-01-15T12:00:30+00:00", "fail"),
            beat(check, 1, NOW, "success"),
        ],
        "total": 3,
        "pages": 1,
        "current_page": 1,
    }


async def test_heartbeats_are_paginated(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project)
    for _ in range(5):
        await heartbeat(client, check)
        clock.advance(1)

    first = await client.get(url(check, "/heartbeats?per_page=2"), headers=rw(keys))
    last = await client.get(url(check, "/heartbeats?page=3&per_page=2"), headers=rw(keys))
    beyond = await client.get(url(check, "/heartbeats?page=4&per_page=2"), headers=rw(keys))

    assert [h["id"] for h in first.json()["heartbeats"]] == [5, 4]
    assert (first.json()["total"], first.json()["pages"], first.json()["current_page"]) == (
        5,
        3,
        1,
    )
    assert [h["id"] for h in last.json()["heartbeats"]] == [1]
    assert last.json()["current_page"] == 3
    assert beyond.status_code == 200
    assert beyond.json()["heartbeats"] == []


async def test_an_application_without_heartbeats_has_an_empty_history(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)

    r = await client.get(url(check, "/heartbeats"), headers=rw(keys))

    assert r.status_code == 200, r.text
    assert r.json() == {"heartbeats": [], "total": 0, "pages": 0, "current_page": 1}


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("page=0", "page must be an integer from 1 to 1000000"),
        ("page=-1", "page must be an integer from 1 to 1000000"),
        ("page=two", "page must be an integer from 1 to 1000000"),
        ("page=%C2%B2", "page must be an integer from 1 to 1000000"),
        ("per_page=0", "per_page must be an integer from 1 to 1000"),
        ("per_page=1001", "per_page must be an integer from 1 to 1000"),
        ("per_page=", "per_page must be an integer from 1 to 1000"),
    ],
)
async def test_bad_pagination_is_400(client, factory, query, error):
    project, keys = await factory.project()
    check = await factory.check(project)

    r = await client.get(url(check, f"/heartbeats?{query}"), headers=rw(keys))

    assert r.status_code == 400, r.text
    assert r.json() == {"error": error}


# --- errors common to one application -------------------------------------------------------------

_ONE_APPLICATION = [
    ("GET", "", None),
    ("PUT", "", {"name": "Mine now"}),
    ("DELETE", "", None),
    ("GET", "/heartbeats", None),
]


@pytest.mark.parametrize(("method", "suffix", "body"), _ONE_APPLICATION)
async def test_an_unknown_application_is_404(client, factory, method, suffix, body):
    _, keys = await factory.project()

    for code in (str(uuid.uuid4()), "not-a-uuid", "42"):
        r = await client.request(method, url(code, suffix), json=body, headers=rw(keys))

        assert r.status_code == 404, r.text
        assert r.json() == {"error": "application not found"}


@pytest.mark.parametrize(("method", "suffix", "body"), _ONE_APPLICATION)
async def test_another_projects_application_is_403(client, factory, method, suffix, body):
    _, keys = await factory.project()
    theirs = await factory.check(name="Theirs")

    r = await client.request(method, url(theirs, suffix), json=body, headers=rw(keys))

    assert r.status_code == 403, r.text
    assert r.json() == {"error": "application belongs to another project"}
    assert (await factory.reload(theirs)).name == "Theirs"


@pytest.mark.parametrize(("method", "suffix", "body"), _ONE_APPLICATION)
async def test_a_check_that_is_not_simple_is_no_application(client, factory, method, suffix, body):
    project, keys = await factory.project()
    cron = await factory.check(project, name="Nightly", kind="cron", schedule="0 3 * * *")

    r = await client.request(method, url(cron, suffix), json=body, headers=rw(keys))

    assert r.status_code == 404, r.text
    assert r.json() == {"error": "application not found"}
    assert (await factory.reload(cron)).kind == "cron"


@pytest.mark.parametrize(
    ("method", "path"),
    [("PATCH", LIST_URL), ("DELETE", LIST_URL), ("POST", LIST_URL + "/{code}")],
)
async def test_other_methods_are_405(client, factory, method, path):
    project, keys = await factory.project()
    check = await factory.check(project)

    r = await client.request(method, path.format(code=check.code), headers=rw(keys))

    assert r.status_code == 405
