"""Pause, resume, the ping log, ping bodies and flips in the management API (reference §2.5,
§2.6, §3.11-§3.13; checklist items 51-55)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, update

from app.db import models as m
from app.domain.checks import unique_key
from tests.http.test_api_checks import assert_cors, assert_error, check_url, ro, rw

UNKNOWN = "0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d"


async def set_ping_log_limit(db: Any, project: m.Project, limit: int) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            update(m.Project).where(m.Project.id == project.id).values(ping_log_limit=limit)
        )


async def add_pings(db: Any, check: m.Check, count: int, created: datetime) -> None:
    """``count`` success pings numbered 1…count, and n_pings to match."""
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(m.Ping),
            [
                {"check_id": check.id, "n": n, "kind": "success", "created": created}
                for n in range(1, count + 1)
            ],
        )
        await conn.execute(update(m.Check).where(m.Check.id == check.id).values(n_pings=count))


async def add_flip(db: Any, check: m.Check, created: datetime, old: str, new: str, **kw: Any):
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(m.Flip).values(
                check_id=check.id, created=created, old_status=old, new_status=new, **kw
            )
        )


# --- pause (item 51) -----------------------------------------------------------------------------


async def test_pause_makes_the_check_paused_and_records_a_processed_flip(client, factory, clock):
    project, keys = await factory.project()
    started = clock() - timedelta(seconds=30)
    check = await factory.check(
        project,
        status="up",
        last_ping=clock(),
        last_start=started,
        alert_after=clock() + timedelta(days=1),
    )

    r = await client.post(check_url(check) + "/pause", headers=rw(keys))

    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paused"
    assert r.json()["started"] is False
    assert_cors(r, "POST, OPTIONS")
    stored = await factory.reload(check)
    assert (stored.status, stored.alert_after, stored.last_start) == ("paused", None, None)
    assert stored.last_ping == clock()
    (flip,) = await factory.flips(check)
    assert (flip.old_status, flip.new_status, flip.reason) == ("up", "paused", "")
    assert flip.created == clock() and flip.processed == clock()


async def test_pause_of_a_down_check_stops_its_nags(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project, status="down", next_nag_at=clock() + timedelta(hours=1))
    await client.post(check_url(check) + "/pause", headers=rw(keys))
    assert (await factory.reload(check)).next_nag_at is None


async def test_pausing_a_paused_check_changes_nothing(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project)
    assert (await client.post(check_url(check) + "/pause", headers=rw(keys))).status_code == 200
    clock.advance(60)

    r = await client.post(check_url(check) + "/pause", headers=rw(keys))

    assert r.status_code == 200
    assert r.json()["status"] == "paused"
    assert len(await factory.flips(check)) == 1


async def test_pause_answers_get_with_405(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    r = await client.get(check_url(check) + "/pause", headers=rw(keys))
    assert r.status_code == 405
    assert_cors(r, "POST, OPTIONS")
    assert (await factory.reload(check)).status == "new"


async def test_pause_is_refused_to_the_read_only_key(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    r = await client.post(check_url(check) + "/pause", headers=ro(keys))
    assert_error(r, 401, "wrong api key")
    assert (await factory.reload(check)).status == "new"


async def test_pause_of_another_projects_check_is_forbidden(client, factory):
    _, keys = await factory.project()
    other, _ = await factory.project()
    theirs = await factory.check(other)
    r = await client.post(check_url(theirs) + "/pause", headers=rw(keys))
    assert r.status_code == 403
    assert (await factory.reload(theirs)).status == "new"


async def test_pause_of_an_unknown_check_is_not_found(client, factory):
    _, keys = await factory.project()
    r = await client.post(check_url(UNKNOWN) + "/pause", headers=rw(keys))
    assert r.status_code == 404


async def test_pause_by_unique_key_is_not_a_route(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    r = await client.post(f"/api/v3/checks/{unique_key(check.code)}/pause", headers=rw(keys))
    assert r.status_code == 404


async def test_a_ping_unpauses_a_paused_check(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    await client.post(check_url(check) + "/pause", headers=rw(keys))
    await client.get(f"/ping/{check.code}")
    assert (await client.get(check_url(check), headers=rw(keys))).json()["status"] == "up"


# --- resume (item 52) ----------------------------------------------------------------------------


async def test_resume_of_a_check_that_is_not_paused_is_a_conflict(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, status="up", last_ping=datetime(2026, 1, 1, tzinfo=UTC))

    r = await client.post(check_url(check) + "/resume", headers=rw(keys))

    # Plain text, as Healthchecks answers it (its other API errors are JSON).
    assert (r.status_code, r.text) == (409, "check is not paused")
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert_cors(r, "POST, OPTIONS")
    stored = await factory.reload(check)
    assert stored.status == "up" and stored.last_ping is not None
    assert await factory.flips(check) == []


async def test_resume_makes_a_paused_check_new_as_if_never_pinged(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(
        project, status="paused", last_ping=clock() - timedelta(days=1), n_pings=5
    )

    r = await client.post(check_url(check) + "/resume", headers=rw(keys))

    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["status"], data["last_ping"], data["n_pings"]) == ("new", None, 5)
    stored = await factory.reload(check)
    assert (stored.status, stored.last_ping, stored.alert_after) == ("new", None, None)
    (flip,) = await factory.flips(check)
    assert (flip.old_status, flip.new_status) == ("paused", "new")
    assert flip.processed == clock()


async def test_resume_is_refused_to_the_read_only_key(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, status="paused")
    r = await client.post(check_url(check) + "/resume", headers=ro(keys))
    assert_error(r, 401, "wrong api key")


async def test_resume_answers_get_with_405(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, status="paused")
    assert (await client.get(check_url(check) + "/resume", headers=rw(keys))).status_code == 405


@pytest.mark.parametrize("version", [1, 2])
async def test_pause_and_resume_work_under_every_version(client, factory, version):
    project, keys = await factory.project()
    check = await factory.check(project)
    r = await client.post(check_url(check, version) + "/pause", headers=rw(keys))
    assert r.json()["update_url"].endswith(f"/api/v{version}/checks/{check.code}")
    r = await client.post(check_url(check, version) + "/resume", headers=rw(keys))
    assert r.json()["status"] == "new"


# --- the ping log (item 53) ----------------------------------------------------------------------


async def test_the_ping_log_lists_pings_newest_first_with_every_field(
    client, factory, clock, settings
):
    project, keys = await factory.project()
    check = await factory.check(project)
    rid = uuid.uuid4()
    clock.now = datetime(2026, 1, 15, 12, 0, 0, 250000, tzinfo=UTC)
    await client.get(
        f"/ping/{check.code}/start?rid={rid}",
        headers={"User-Agent": "cron/1.0", "X-Forwarded-For": "1.1.1.1"},
    )
    clock.advance(12.3456)
    await client.post(
        f"/ping/{check.code}?rid={rid}",
        content=b"all good",
        headers={"User-Agent": "cron/1.0", "X-Forwarded-Proto": "https"},
    )

    r = await client.get(check_url(check) + "/pings/", headers=rw(keys))

    assert r.status_code == 200, r.text
    assert_cors(r, "GET, OPTIONS")
    body_url = f"{settings.site_root}/api/v3/checks/{check.code}/pings/2/body"
    assert r.json() == {
        "pings": [
            {
                "type": "success",
                "date": "2026-01-15T12:00:12.595600+00:00",
                "n": 2,
                "scheme": "https",
                "remote_addr": "10.1.2.3",
                "method": "POST",
                "ua": "cron/1.0",
                "rid": str(rid),
                "body_url": body_url,
                "duration": 12.35,
            },
            {
                "type": "start",
                "date": "2026-01-15T12:00:00.250000+00:00",
                "n": 1,
                "scheme": "http",
                "remote_addr": "1.1.1.1",
                "method": "GET",
                "ua": "cron/1.0",
                "rid": str(rid),
                "body_url": None,
            },
        ]
    }


@pytest.mark.parametrize(
    ("path", "kind"),
    [("", "success"), ("/fail", "fail"), ("/start", "start"), ("/log", "log"), ("/7", "fail")],
)
async def test_the_ping_log_shows_each_kind(client, factory, path, kind):
    project, keys = await factory.project()
    check = await factory.check(project)
    await client.get(f"/ping/{check.code}{path}")
    r = await client.get(check_url(check) + "/pings/", headers=rw(keys))
    assert r.json()["pings"][0]["type"] == kind


async def test_an_ignored_ping_is_listed_as_ign(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project, methods="POST")
    await client.get(f"/ping/{check.code}")
    r = await client.get(check_url(check) + "/pings/", headers=rw(keys))
    assert r.json()["pings"][0]["type"] == "ign"


async def test_a_duration_of_72_hours_or_more_is_not_reported(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project)
    await client.get(f"/ping/{check.code}/start")
    clock.advance(hours=72)
    await client.get(f"/ping/{check.code}")
    r = await client.get(check_url(check) + "/pings/", headers=rw(keys))
    assert "duration" not in r.json()["pings"][0]


async def test_the_body_url_follows_the_api_version(client, factory, settings):
    project, keys = await factory.project()
    check = await factory.check(project)
    await client.post(f"/ping/{check.code}", content=b"x")
    r = await client.get(check_url(check, 1) + "/pings/", headers=rw(keys))
    expected = f"{settings.site_root}/api/v1/checks/{check.code}/pings/1/body"
    assert r.json()["pings"][0]["body_url"] == expected


async def test_the_ping_log_is_capped_at_the_ping_log_limit(client, factory, db, clock):
    project, keys = await factory.project()
    await set_ping_log_limit(db, project, 3)
    check = await factory.check(project)
    await add_pings(db, check, 5, clock())

    r = await client.get(check_url(check) + "/pings/", headers=rw(keys))

    assert [p["n"] for p in r.json()["pings"]] == [5, 4, 3]


async def test_the_ping_log_never_lists_more_than_1000_pings(client, factory, db, clock):
    project, keys = await factory.project()
    await set_ping_log_limit(db, project, 5000)
    check = await factory.check(project)
    await add_pings(db, check, 1005, clock())

    r = await client.get(check_url(check) + "/pings/", headers=rw(keys))

    pings = r.json()["pings"]
    assert len(pings) == 1000
    assert (pings[0]["n"], pings[-1]["n"]) == (1005, 6)


async def test_the_ping_log_of_a_check_without_pings_is_empty(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    r = await client.get(check_url(check) + "/pings/", headers=rw(keys))
    assert r.json() == {"pings": []}


async def test_the_ping_log_needs_the_read_write_key(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    r = await client.get(check_url(check) + "/pings/", headers=ro(keys))
    assert_error(r, 401, "wrong api key")


async def test_the_ping_log_of_another_projects_check_is_forbidden(client, factory):
    _, keys = await factory.project()
    other, _ = await factory.project()
    theirs = await factory.check(other)
    assert (await client.get(check_url(theirs) + "/pings/", headers=rw(keys))).status_code == 403


async def test_the_ping_log_of_an_unknown_check_is_not_found(client, factory):
    _, keys = await factory.project()
    assert (await client.get(check_url(UNKNOWN) + "/pings/", headers=rw(keys))).status_code == 404


async def test_the_ping_log_is_not_served_by_unique_key(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    r = await client.get(f"/api/v3/checks/{unique_key(check.code)}/pings/", headers=rw(keys))
    assert r.status_code == 404


# --- ping bodies (item 54) -----------------------------------------------------------------------


async def test_a_ping_body_comes_back_as_the_exact_bytes(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    raw = b"caf\xc3\xa9 \xff\xfe not utf-8 \x00 end"
    await client.post(f"/ping/{check.code}", content=raw)

    r = await client.get(check_url(check) + "/pings/1/body", headers=rw(keys))

    assert r.status_code == 200, r.text
    assert r.content == raw
    assert r.headers["content-type"] == "text/plain"
    assert_cors(r, "GET, OPTIONS")


async def test_a_ping_without_a_body_has_no_body_to_show(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    await client.get(f"/ping/{check.code}")
    assert (
        await client.get(check_url(check) + "/pings/1/body", headers=rw(keys))
    ).status_code == 404


@pytest.mark.parametrize("n", ["0", "2", "99999999999", "-1", "abc"])
async def test_a_ping_that_does_not_exist_has_no_body(client, factory, n):
    project, keys = await factory.project()
    check = await factory.check(project)
    await client.post(f"/ping/{check.code}", content=b"x")
    r = await client.get(check_url(check) + f"/pings/{n}/body", headers=rw(keys))
    assert r.status_code == 404


async def test_a_body_outside_the_ping_log_window_is_gone(client, factory, db):
    project, keys = await factory.project()
    await set_ping_log_limit(db, project, 2)
    check = await factory.check(project)
    for n in range(3):
        await client.post(f"/ping/{check.code}", content=f"body {n + 1}".encode())

    first = await client.get(check_url(check) + "/pings/1/body", headers=rw(keys))
    second = await client.get(check_url(check) + "/pings/2/body", headers=rw(keys))

    assert first.status_code == 404
    assert (second.status_code, second.content) == (200, b"body 2")


async def test_a_ping_body_needs_the_read_write_key(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    await client.post(f"/ping/{check.code}", content=b"x")
    r = await client.get(check_url(check) + "/pings/1/body", headers=ro(keys))
    assert_error(r, 401, "wrong api key")


async def test_a_ping_body_of_another_projects_check_is_forbidden(client, factory):
    _, keys = await factory.project()
    other, _ = await factory.project()
    theirs = await factory.check(other)
    await client.post(f"/ping/{theirs.code}", content=b"secret")
    r = await client.get(check_url(theirs) + "/pings/1/body", headers=rw(keys))
    assert r.status_code == 403
    assert b"secret" not in r.content


# --- flips (item 55) -----------------------------------------------------------------------------


async def test_flips_are_listed_newest_first_without_microseconds(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project)
    await add_flip(db, check, datetime(2020, 6, 1, 12, 24, 32, 123456, tzinfo=UTC), "new", "up")
    await add_flip(db, check, datetime(2020, 6, 2, 8, 0, tzinfo=UTC), "up", "down", reason="fail")

    r = await client.get(check_url(check) + "/flips/", headers=rw(keys))

    assert r.status_code == 200, r.text
    assert_cors(r, "GET, OPTIONS")
    assert r.json() == {
        "flips": [
            {"timestamp": "2020-06-02T08:00:00+00:00", "up": 0},
            {"timestamp": "2020-06-01T12:24:32+00:00", "up": 1},
        ]
    }


async def test_flips_come_from_pings_pause_and_resume(client, factory, clock):
    project, keys = await factory.project()
    check = await factory.check(project)
    await client.get(f"/ping/{check.code}")
    clock.advance(60)
    await client.get(f"/ping/{check.code}/fail")
    clock.advance(60)
    await client.post(check_url(check) + "/pause", headers=rw(keys))
    clock.advance(60)
    await client.post(check_url(check) + "/resume", headers=rw(keys))

    r = await client.get(check_url(check) + "/flips/", headers=rw(keys))

    assert [f["up"] for f in r.json()["flips"]] == [0, 0, 0, 1]
    assert r.json()["flips"][0]["timestamp"] == "2026-01-15T12:03:00+00:00"


async def test_nag_reminders_are_not_listed_as_flips(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project, status="down")
    await add_flip(db, check, datetime(2026, 1, 1, tzinfo=UTC), "up", "down", reason="timeout")
    await add_flip(db, check, datetime(2026, 1, 2, tzinfo=UTC), "down", "down", reason="nag")
    r = await client.get(check_url(check) + "/flips/", headers=rw(keys))
    assert r.json() == {"flips": [{"timestamp": "2026-01-01T00:00:00+00:00", "up": 0}]}


async def test_flips_are_filtered_by_start_and_end(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project)
    for day in (1, 2, 3):
        await add_flip(db, check, datetime(2020, 6, day, tzinfo=UTC), "new", "up")
    start = int(datetime(2020, 6, 2, tzinfo=UTC).timestamp())
    end = int(datetime(2020, 6, 3, tzinfo=UTC).timestamp())

    r = await client.get(
        check_url(check) + "/flips/", params={"start": start, "end": end}, headers=rw(keys)
    )

    assert r.json() == {"flips": [{"timestamp": "2020-06-02T00:00:00+00:00", "up": 1}]}


async def test_flips_are_filtered_by_seconds_ago(client, factory, db, clock):
    project, keys = await factory.project()
    check = await factory.check(project)
    await add_flip(db, check, clock() - timedelta(seconds=3601), "new", "up")
    await add_flip(db, check, clock() - timedelta(seconds=3600), "up", "down")

    recent = await client.get(
        check_url(check) + "/flips/", params={"seconds": 3600}, headers=rw(keys)
    )
    everything = await client.get(
        check_url(check) + "/flips/", params={"seconds": 0}, headers=rw(keys)
    )

    assert [f["up"] for f in recent.json()["flips"]] == [0]
    assert len(everything.json()["flips"]) == 2


async def test_flip_filters_at_their_bounds_are_accepted(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    for params in (
        {"start": 0},
        {"end": 10_000_000_000},
        {"seconds": 31_536_000},
        {"seconds": ""},
        {"seconds": "60.0"},
    ):
        r = await client.get(check_url(check) + "/flips/", params=params, headers=rw(keys))
        assert r.status_code == 200, params


@pytest.mark.parametrize(
    "params",
    [
        {"start": "abc"},
        {"start": "-1"},
        {"start": "10000000001"},
        {"start": ""},
        {"start": "1.5"},
        {"end": "abc"},
        {"end": "-1"},
        {"seconds": "-1"},
        {"seconds": "31536001"},
        {"seconds": "abc"},
        {"seconds": "1.5"},
    ],
)
async def test_bad_flip_filters_answer_400_with_an_empty_body(client, factory, params):
    project, keys = await factory.project()
    check = await factory.check(project)
    r = await client.get(check_url(check) + "/flips/", params=params, headers=rw(keys))
    assert r.status_code == 400
    assert r.content == b""
    assert r.headers["access-control-allow-origin"] == "*"


async def test_flips_are_served_to_the_read_only_key(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project)
    await add_flip(db, check, datetime(2026, 1, 1, tzinfo=UTC), "new", "up")
    r = await client.get(check_url(check) + "/flips/", headers=ro(keys))
    assert r.status_code == 200, r.text
    assert len(r.json()["flips"]) == 1


async def test_flips_are_served_by_unique_key(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project)
    await add_flip(db, check, datetime(2026, 1, 1, tzinfo=UTC), "new", "up")
    url = f"/api/v3/checks/{unique_key(check.code)}/flips/"
    for headers in (ro(keys), rw(keys)):
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"flips": [{"timestamp": "2026-01-01T00:00:00+00:00", "up": 1}]}


async def test_flips_of_another_projects_check_are_forbidden(client, factory):
    _, keys = await factory.project()
    other, _ = await factory.project()
    theirs = await factory.check(other)
    assert (await client.get(check_url(theirs) + "/flips/", headers=rw(keys))).status_code == 403
    r = await client.get(f"/api/v3/checks/{unique_key(theirs.code)}/flips/", headers=rw(keys))
    assert r.status_code == 404


async def test_flips_of_an_unknown_check_are_not_found(client, factory):
    _, keys = await factory.project()
    r = await client.get(check_url(UNKNOWN) + "/flips/", params={"start": "x"}, headers=rw(keys))
    assert r.status_code == 404


async def test_flips_answer_post_with_405(client, factory):
    project, keys = await factory.project()
    check = await factory.check(project)
    r = await client.post(check_url(check) + "/flips/", headers=rw(keys))
    assert r.status_code == 405
