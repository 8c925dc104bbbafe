"""Channels in the management API: list, create, show, delete, send a test notification."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from app.db import models as m
from app.db.engine import write_session
from app.domain import alerts, channels, email_links

LIST_URL = "/api/v3/channels/"
WEBHOOK = {"url_down": "https://example.org/down"}
UNKNOWN = "0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d"


def key(keys) -> dict[str, str]:
    return {"X-Api-Key": keys.api_key}


def assert_error(r: httpx.Response, status: int, message: str) -> None:
    assert r.status_code == status, r.text
    assert r.json() == {"error": message}
    assert r.headers["access-control-allow-origin"] == "*"


async def load_channel(db, code: uuid.UUID | str) -> m.Channel | None:
    async with db.sessionmaker() as session:
        return await session.scalar(select(m.Channel).where(m.Channel.code == uuid.UUID(str(code))))


async def count_channels(db) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(m.Channel)) or 0)


async def notifications(db) -> list[m.Notification]:
    async with db.sessionmaker() as session:
        return list((await session.scalars(select(m.Notification))).all())


# --- list --------------------------------------------------------------------------------------


async def test_it_lists_the_channels_of_the_project(client, factory):
    project, keys = await factory.project()
    other, _ = await factory.project()
    first = await factory.channel(project, name="Ops hook", value=WEBHOOK)
    second = await factory.channel(project, kind="email", name="", value={"value": "a@b.org"})
    await factory.channel(other, name="Not mine", value=WEBHOOK)

    r = await client.get(LIST_URL, headers=key(keys))

    assert r.status_code == 200, r.text
    assert r.json() == {
        "channels": [
            {"id": str(first.code), "name": "Ops hook", "kind": "webhook"},
            {"id": str(second.code), "name": "", "kind": "email"},
        ]
    }


# --- create ------------------------------------------------------------------------------------


async def test_it_creates_a_webhook_channel(client, factory, db, clock):
    project, keys = await factory.project()
    value = {"url_up": "https://example.org/up", "method_up": "POST", "body_up": "$NAME"}
    payload = {"name": "Recoveries", "kind": "webhook", "value": value}

    r = await client.post(LIST_URL, json=payload, headers=key(keys))

    assert r.status_code == 201, r.text
    body = r.json()
    assert body == {"id": body["id"], "name": "Recoveries", "kind": "webhook"}
    channel = await load_channel(db, body["id"])
    assert channel is not None
    assert channel.project_id == project.id
    assert channel.value == value
    assert channel.created == clock.now
    # Only an up URL: the channel takes part in up notifications only.
    assert (channel.notify_down, channel.notify_up) == (False, True)
    assert channel.disabled is False
    assert channel.last_notify is None
    assert channel.last_error == ""


async def test_it_accepts_a_name_of_100_characters(client, factory):
    _, keys = await factory.project()
    payload = {"name": "n" * 100, "kind": "webhook", "value": WEBHOOK}
    r = await client.post(LIST_URL, json=payload, headers=key(keys))
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "n" * 100


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"kind": "carrier-pigeon", "value": WEBHOOK}, "kind has unexpected value"),
        ({"value": WEBHOOK}, "kind has unexpected value"),
        ({"kind": 5, "value": WEBHOOK}, "kind is not a string"),
        ({"kind": "webhook", "name": None, "value": WEBHOOK}, "name is not a string"),
        ({"kind": "webhook", "name": "n" * 101, "value": WEBHOOK}, "name is too long"),
        (
            {"kind": "webhook", "value": {"url_down": "ftp://x"}},
            "value: url_down: must be an http:// or https:// URL with a host",
        ),
        (
            {"kind": "webhook", "value": {"url_down": 1}},
            "value: Expected `str`, got `int` - at `$.url_down`",
        ),
        ({"kind": "webhook"}, "value: url_down: enter a URL for at least one direction"),
        ({"kind": "webhook", "value": "https://x.org"}, "value: Expected `object`, got `str`"),
        ({"kind": "email", "value": {"value": "nobody"}}, "value: value: must be an email address"),
    ],
)
async def test_it_rejects_an_invalid_channel(client, factory, db, payload, message):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, json=payload, headers=key(keys))
    assert_error(r, 400, f"json validation error: {message}")
    assert await count_channels(db) == 0


# --- show --------------------------------------------------------------------------------------


async def test_it_shows_a_channel(client, factory):
    project, keys = await factory.project()
    channel = await factory.channel(
        project,
        name="Ops",
        value=WEBHOOK,
        last_notify=datetime(2026, 1, 14, 8, 30, 15, 123456, tzinfo=UTC),
        last_error="Received status code 502",
    )

    r = await client.get(f"/api/v1/channels/{channel.code}", headers=key(keys))

    assert r.status_code == 200, r.text
    assert r.json() == {
        "id": str(channel.code),
        "name": "Ops",
        "kind": "webhook",
        "value": WEBHOOK,
        "disabled": False,
        "last_notify": "2026-01-14T08:30:15+00:00",
        "last_error": "Received status code 502",
    }
    assert r.headers["access-control-allow-methods"] == "GET, DELETE, OPTIONS"


async def test_it_refuses_the_read_only_key_for_a_channel(client, factory):
    project, keys = await factory.project()
    channel = await factory.channel(project, value=WEBHOOK)
    r = await client.get(f"{LIST_URL}{channel.code}", headers={"X-Api-Key": keys.api_key_readonly})
    assert_error(r, 401, "wrong api key")


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("DELETE", ""), ("POST", "/test")])
async def test_it_refuses_a_channel_of_another_project(client, factory, db, method, suffix):
    _, keys = await factory.project()
    other, _ = await factory.project()
    channel = await factory.channel(other, value=WEBHOOK)

    r = await client.request(method, f"{LIST_URL}{channel.code}{suffix}", headers=key(keys))

    assert_error(r, 403, "channel belongs to another project")
    assert await load_channel(db, channel.code) is not None
    assert await notifications(db) == []


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("DELETE", ""), ("POST", "/test")])
async def test_it_answers_404_for_an_unknown_channel(client, factory, method, suffix):
    _, keys = await factory.project()
    r = await client.request(method, f"{LIST_URL}{UNKNOWN}{suffix}", headers=key(keys))
    assert_error(r, 404, "not found")


@pytest.mark.parametrize("suffix", ["", "/test"])
async def test_it_answers_404_for_a_malformed_uuid(client, factory, suffix):
    _, keys = await factory.project()
    r = await client.get(f"{LIST_URL}not-a-uuid{suffix}", headers=key(keys))
    assert r.status_code == 404


# --- delete ------------------------------------------------------------------------------------


async def test_it_deletes_a_channel(client, factory, db):
    project, keys = await factory.project()
    check = await factory.check(project)
    channel = await factory.channel(project, name="Ops", value=WEBHOOK)
    await factory.assign(check, channel)

    r = await client.delete(f"{LIST_URL}{channel.code}", headers=key(keys))

    assert r.status_code == 200, r.text
    assert r.json() == {
        "id": str(channel.code),
        "name": "Ops",
        "kind": "webhook",
        "value": WEBHOOK,
        "disabled": False,
        "last_notify": None,
        "last_error": "",
    }
    assert await load_channel(db, channel.code) is None
    assert await factory.reload(check)  # the check stays, without the channel
    async with db.sessionmaker() as session:
        assigned = await session.scalar(select(func.count()).select_from(m.check_channels))
    assert assigned == 0
    r = await client.get(f"{LIST_URL}{channel.code}", headers=key(keys))
    assert_error(r, 404, "not found")


async def test_it_refuses_the_read_only_key_for_a_delete(client, factory, db):
    project, keys = await factory.project()
    channel = await factory.channel(project, value=WEBHOOK)
    r = await client.delete(
        f"{LIST_URL}{channel.code}", headers={"X-Api-Key": keys.api_key_readonly}
    )
    assert_error(r, 401, "wrong api key")
    assert await load_channel(db, channel.code) is not None


# --- test notification -------------------------------------------------------------------------


async def test_it_sends_a_test_notification(client, factory, db, clock, httpserver: HTTPServer):
    project, keys = await factory.project(name="Acme")
    httpserver.expect_oneshot_request(
        "/hook/down", method="GET", query_string="name=Acme"
    ).respond_with_data("OK")
    value = {"url_down": httpserver.url_for("/hook/$STATUS") + "?name=$NAME"}
    channel = await factory.channel(project, value=value)

    r = await client.post(f"/api/v2/channels/{channel.code}/test", headers=key(keys))

    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "error": ""}
    assert r.headers["access-control-allow-methods"] == "POST, OPTIONS"
    httpserver.check_assertions()
    assert len(httpserver.log) == 1

    [notification] = await notifications(db)
    assert notification.channel_id == channel.id
    assert notification.flip_id is None
    assert notification.check_id is None
    assert notification.check_status == "down"
    assert notification.attempts == 1
    assert notification.sent_at == clock.now
    assert notification.failed_at is None
    assert notification.error == ""
    channel = await load_channel(db, channel.code)
    assert channel is not None
    assert channel.last_notify == clock.now
    assert channel.last_error == ""
    # Delivered already: the outbox has nothing to send.
    assert await alerts.dispatch_due(db, clock.now) == []


async def test_it_reports_a_failed_test_notification(
    client, factory, db, clock, httpserver: HTTPServer
):
    project, keys = await factory.project()
    httpserver.expect_oneshot_request("/hook", method="GET").respond_with_data("oops", status=500)
    channel = await factory.channel(project, value={"url_down": httpserver.url_for("/hook")})

    r = await client.post(f"{LIST_URL}{channel.code}/test", headers=key(keys))

    assert r.status_code == 200, r.text
    assert r.json() == {"ok": False, "error": "Received status code 500"}
    httpserver.check_assertions()
    [notification] = await notifications(db)
    assert notification.sent_at is None
    assert notification.failed_at == clock.now
    assert notification.error == "Received status code 500"
    channel = await load_channel(db, channel.code)
    assert channel is not None
    assert channel.last_notify == clock.now
    assert channel.last_error == "Received status code 500"
    # A test is tried once: the failure is final, not a pending retry.
    assert await alerts.dispatch_due(db, clock.now) == []


async def test_a_test_refused_for_good_disables_the_channel_and_one_that_gets_through_enables_it(
    client, factory, db, httpserver: HTTPServer
):
    project, keys = await factory.project()
    value = {"url": httpserver.url_for("/slack")}
    channel = await factory.channel(project, kind="slack", value=value)
    url = f"{LIST_URL}{channel.code}"

    async def test_answered(status: int) -> tuple[bool, bool]:
        httpserver.expect_oneshot_request("/slack").respond_with_data("x", status=status)
        ok = (await client.post(f"{url}/test", headers=key(keys))).json()["ok"]
        return ok, (await client.get(url, headers=key(keys))).json()["disabled"]

    assert await test_answered(404) == (False, True)  # Slack: the webhook is gone
    assert await test_answered(500) == (False, True)  # transient: as it was
    assert await test_answered(200) == (True, False)
    assert await test_answered(500) == (False, False)


async def test_it_accepts_the_api_key_in_the_test_body(client, factory, httpserver: HTTPServer):
    project, keys = await factory.project()
    httpserver.expect_oneshot_request("/hook").respond_with_data("OK")
    channel = await factory.channel(project, value={"url_down": httpserver.url_for("/hook")})

    r = await client.post(f"{LIST_URL}{channel.code}/test", json={"api_key": keys.api_key})

    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "error": ""}


async def test_it_records_nothing_for_a_channel_deleted_while_testing(
    factory, db, settings, clock, httpserver: HTTPServer
):
    project, _ = await factory.project()
    httpserver.expect_oneshot_request("/hook").respond_with_data("OK")
    channel = await factory.channel(project, value={"url_down": httpserver.url_for("/hook")})
    async with write_session(db) as session:
        await channels.delete_channel(session, channel)

    result = await channels.send_test(db, channel, settings, clock.now)

    assert result == channels.SendResult(ok=True, error="")
    assert await notifications(db) == []


async def test_a_channel_that_only_notifies_up_is_tested_with_an_up_notification(
    client, factory, db, httpserver: HTTPServer
):
    project, keys = await factory.project()
    httpserver.expect_oneshot_request("/up", query_string="status=up").respond_with_data("OK")
    value = {"url_up": httpserver.url_for("/up") + "?status=$STATUS"}
    channel = await factory.channel(project, value=value, notify_down=False)

    r = await client.post(f"{LIST_URL}{channel.code}/test", headers=key(keys))

    assert r.json() == {"ok": True, "error": ""}
    httpserver.check_assertions()
    [notification] = await notifications(db)
    assert notification.check_status == "up"


# --- email addresses are verified before they are alerted ---------------------------------------


async def test_an_email_channel_to_an_outside_address_waits_for_its_link(
    client, factory, db, settings, caplog: pytest.LogCaptureFixture
):
    caplog.set_level("INFO", logger="cronbeat.mail")
    _, keys = await factory.project()
    body = {"name": "ops", "kind": "email", "value": {"value": "ops@example.org"}}

    r = await client.post(LIST_URL, headers=key(keys), json=body)

    assert r.status_code == 201, r.text
    channel = await load_channel(db, r.json()["id"])
    assert channel is not None and channel.email_verified is False
    link = email_links.url(settings, channel.code, email_links.VERIFY)
    assert "to=ops@example.org" in caplog.text and link in caplog.text  # the mail (logged)
    test_url = f"{LIST_URL}{channel.code}/test"
    r = await client.post(test_url, headers=key(keys))
    assert r.json() == {"ok": False, "error": "Email not verified"}

    r = await client.get(urlsplit(link).path)  # the recipient opens the link

    assert r.status_code == 200
    assert "<strong>ops@example.org</strong>" in r.text
    channel = await load_channel(db, channel.code)
    assert channel is not None and channel.email_verified is True
    assert (await client.post(test_url, headers=key(keys))).json() == {"ok": True, "error": ""}


async def test_an_email_channel_to_someone_on_the_project_needs_no_link(client, factory, db):
    owner = await factory.user("owner@example.org")
    _, keys = await factory.project(owner)
    body = {"name": "me", "kind": "email", "value": {"value": "Owner@Example.org"}}

    r = await client.post(LIST_URL, headers=key(keys), json=body)

    channel = await load_channel(db, r.json()["id"])
    assert channel is not None and channel.email_verified is True


async def test_a_verification_link_works_only_for_its_own_channel(client, factory, db, settings):
    project, _ = await factory.project()
    value = {"value": "ops@example.org"}
    channel = await factory.channel(project, kind="email", value=value, email_verified=False)
    other = await factory.channel(project, kind="email", value=value, email_verified=False)
    forged = urlsplit(email_links.url(settings, other.code, email_links.VERIFY)).path.replace(
        str(other.code), str(channel.code)
    )
    assert (await client.get(forged)).status_code == 404
    channel = await load_channel(db, channel.code)
    assert channel is not None and channel.email_verified is False
