"""The integrations pages: list, add/edit per kind, choose checks, test, remove, roles."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, insert, select

from app.config import Settings
from app.db import models as m
from app.db.engine import Database
from app.domain import email_links
from app.integrations import registry
from app.main import create_app
from tests.factories import Factory
from tests.ui import PASSWORD, post_form, recorded_statements, sign_in

OWNER = "owner@example.org"
HOOK = "https://hooks.example.org/services/T0/B0/xyz"

# kind -> (form fields, the config JSON the API would be given for the same channel)
VALID: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "email": (
        {"value": "alice@example.org", "down": "on"},
        {"value": "alice@example.org", "down": True, "up": False},
    ),
    "webhook": (
        {
            "url_down": "https://example.org/down?n=$NAME",
            "method_down": "POST",
            "body_down": "check $NAME is $STATUS",
            "headers_down": "X-Token: abc\r\nContent-Type: text/plain",
            "method_up": "GET",
        },
        {
            "url_down": "https://example.org/down?n=$NAME",
            "method_down": "POST",
            "body_down": "check $NAME is $STATUS",
            "headers_down": {"X-Token": "abc", "Content-Type": "text/plain"},
            "method_up": "GET",
        },
    ),
    "slack": ({"url": HOOK}, {"url": HOOK}),
    "discord": ({"url": HOOK}, {"url": HOOK}),
    "mattermost": ({"url": HOOK}, {"url": HOOK}),
    "msteams": ({"url": HOOK}, {"url": HOOK}),
    "telegram": ({"chat_id": "-1001234", "thread_id": "7"}, {"chat_id": -1001234, "thread_id": 7}),
    "ntfy": (
        {
            "url": "https://ntfy.example.org",
            "topic": "backups",
            "priority": "5",
            "priority_up": "0",
            "token": "tk_secret",
        },
        {
            "url": "https://ntfy.example.org",
            "topic": "backups",
            "priority": 5,
            "priority_up": 0,
            "token": "tk_secret",
        },
    ),
    "pushover": (
        {"user_key": "u" * 30, "priority": "2", "priority_up": "-3"},
        {"user_key": "u" * 30, "priority": 2, "priority_up": -3},
    ),
    "pagerduty": ({"service_key": "R0UT1NGKEY"}, {"service_key": "R0UT1NGKEY"}),
    "opsgenie": ({"key": "og-key-1", "region": "eu"}, {"key": "og-key-1", "region": "eu"}),
    "gotify": (
        {
            "url": "https://gotify.example.org",
            "token": "AbC.1",
            "priority": "8",
            "priority_up": "0",
        },
        {"url": "https://gotify.example.org", "token": "AbC.1", "priority": 8, "priority_up": 0},
    ),
    "sms": (
        {"value": "+15551234567", "down": "on", "up": "on"},
        {"value": "+15551234567", "down": True, "up": True},
    ),
}

# kind -> (form fields, the field whose error shows, the error text)
INVALID: dict[str, tuple[dict[str, str], str, str]] = {
    "email": ({"value": "not-an-address", "down": "on"}, "value", "must be an email address"),
    "webhook": (
        {"url_down": "", "url_up": "", "method_down": "GET", "method_up": "GET"},
        "url_down",
        "enter a URL for at least one direction",
    ),
    "slack": ({"url": "ftp://x"}, "url", "must be an http:// or https:// URL with a host"),
    "discord": ({"url": "nope"}, "url", "must be an http:// or https:// URL with a host"),
    "mattermost": ({"url": ""}, "url", "must be an http:// or https:// URL with a host"),
    "msteams": ({"url": "https://"}, "url", "must be an http:// or https:// URL with a host"),
    "telegram": ({"chat_id": "abc"}, "chat_id", "must be a numeric chat id or a @username"),
    "ntfy": (
        {"url": "https://ntfy.sh", "topic": "no spaces", "priority": "3", "priority_up": "3"},
        "topic",
        "must be 1-64 letters, digits, dashes or underscores",
    ),
    "pushover": (
        {"user_key": "short", "priority": "0", "priority_up": "0"},
        "user_key",
        "must be 30 letters and digits",
    ),
    "pagerduty": ({"service_key": ""}, "service_key", "must be a PagerDuty integration key"),
    "opsgenie": ({"key": "", "region": "us"}, "key", "must be an Opsgenie API key"),
    "gotify": (
        {"url": "https://gotify.example.org", "token": "", "priority": "5", "priority_up": "5"},
        "token",
        "must be a Gotify application token",
    ),
    "sms": ({"value": "555-1234", "down": "on"}, "value", "must be a phone number"),
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The kinds that need credentials are switched on by giving them some.
    return replace(
        settings,
        telegram_token="123:bot",
        pushover_api_token="app-token",
        twilio_account="AC1",
        twilio_auth="secret",
        twilio_from="+15550000000",
    )


async def owner_project(client: httpx.AsyncClient, factory: Factory) -> tuple[m.Project, Any]:
    user = await factory.user(OWNER, password=PASSWORD)
    project, keys = await factory.project(user, name="Acme")
    await sign_in(client, OWNER)
    return project, keys


async def member_of(
    client: httpx.AsyncClient, factory: Factory, db: Database, project: m.Project, role: str
) -> None:
    user = await factory.user(f"{role}@example.org", password=PASSWORD)
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(m.Member).values(project_id=project.id, user_id=user.id, role=role)
        )
    await sign_in(client, user.email)


async def project_channels(db: Database, project: m.Project) -> list[m.Channel]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(m.Channel).where(m.Channel.project_id == project.id).order_by(m.Channel.id)
        )
        return list(rows.all())


async def channel_check_ids(db: Database, channel: m.Channel) -> set[int]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(m.check_channels.c.check_id).where(m.check_channels.c.channel_id == channel.id)
        )
        return set(rows.all())


async def count_channels(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(m.Channel)) or 0)


def field_error(page: str, field: str) -> str | None:
    match = re.search(rf'<p class="error" id="f-{field}-error">(.*?)</p>', page, re.DOTALL)
    return html.unescape(match.group(1)) if match else None


async def flashes_after(client: httpx.AsyncClient, response: httpx.Response) -> str:
    """The page a 303 leads to (its flash is shown there)."""
    assert response.status_code == 303, response.text
    return (await client.get(response.headers["location"])).text


def add_url(project: m.Project, kind: str) -> str:
    return f"/projects/{project.code}/integrations/add/{kind}/"


# --- list ----------------------------------------------------------------------------------------


async def test_it_explains_channels_when_there_are_none(client, factory):
    project, _ = await owner_project(client, factory)
    r = await client.get(f"/projects/{project.code}/integrations/")
    assert r.status_code == 200
    assert "has no integrations yet" in r.text
    assert 'aria-current="page">Integrations</a>' in r.text
    for kind in registry.kinds():
        assert f'href="/projects/{project.code}/integrations/add/{kind}"' in r.text


async def test_it_lists_channels_with_their_kind_checks_and_last_result(client, factory, clock):
    project, _ = await owner_project(client, factory)
    check = await factory.check(project, name="backup")
    failing = await factory.channel(
        project,
        kind="slack",
        name="Ops room",
        value={"url": HOOK},
        last_notify=clock(),
        last_error="Received status code 404",
        disabled=True,
    )
    await factory.assign(check, failing)
    await factory.channel(
        project,
        kind="email",
        value={"value": "bob@example.org", "up": False, "down": True},
        notify_up=False,
        last_notify=clock(),
        last_error="",
    )
    r = await client.get(f"/projects/{project.code}/integrations/")
    assert r.status_code == 200
    rows = r.text.split('<tr id="channel-')[1:]
    assert len(rows) == 2
    assert "Ops room" in rows[0] and "Slack" in rows[0] and HOOK in rows[0]
    assert "Received status code 404" in rows[0] and "Disabled" in rows[0]
    assert "until you edit it or a test gets through" in rows[0]
    assert '<td data-label="Checks">1</td>' in rows[0]
    assert "bob@example.org" in rows[1] and "down only" in rows[1]
    assert "OK" in rows[1] and '<td data-label="Checks">0</td>' in rows[1]


async def test_it_offers_only_the_kinds_switched_on(client, factory, settings):
    # The overridden settings switch everything on; a project page built without the
    # Telegram token must not offer Telegram (checked on the plain settings below).
    project, _ = await owner_project(client, factory)
    r = await client.get(f"/projects/{project.code}/integrations/")
    assert "/add/telegram" in r.text
    assert registry.enabled_kinds(replace(settings, telegram_token=None, slack_enabled=False)) == [
        kind for kind in registry.enabled_kinds(settings) if kind not in ("telegram", "slack")
    ]


# --- add -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(VALID))
async def test_every_kind_form_renders_with_labelled_fields(client, factory, kind):
    project, _ = await owner_project(client, factory)
    r = await client.get(add_url(project, kind))
    assert r.status_code == 200
    for field in registry.setup_form(kind).fields:
        assert f'<label for="f-{field.name}">' in r.text
        assert f'id="f-{field.name}" name="{field.name}"' in r.text
    assert 'name="_csrf_token"' in r.text


@pytest.mark.parametrize("kind", sorted(VALID))
async def test_a_valid_form_stores_what_the_api_would(client, factory, db, kind):
    project, keys = await owner_project(client, factory)
    form, config = VALID[kind]
    r = await post_form(client, add_url(project, kind), {**form, "name": f"My {kind}"})
    assert f"{registry.get(kind).label} integration added." in await flashes_after(client, r)

    api = await client.post(
        "/api/v3/channels/",
        json={"name": "via api", "kind": kind, "value": config},
        headers={"X-Api-Key": keys.api_key},
    )
    assert api.status_code == 201, api.text
    from_page, from_api = await project_channels(db, project)
    assert from_page.name == f"My {kind}" and from_page.kind == kind
    assert from_page.value == config == from_api.value
    assert (from_page.notify_down, from_page.notify_up) == (
        from_api.notify_down,
        from_api.notify_up,
    )


@pytest.mark.parametrize("kind", sorted(INVALID))
async def test_an_invalid_form_shows_the_error_next_to_its_field(client, factory, db, kind):
    project, _ = await owner_project(client, factory)
    form, field, message = INVALID[kind]
    r = await post_form(client, add_url(project, kind), form)
    assert r.status_code == 400
    error = field_error(r.text, field)
    assert error is not None and message in error, r.text
    assert f'aria-describedby="f-{field}-error' in r.text
    assert await count_channels(db) == 0


async def test_the_form_keeps_what_was_typed_after_an_error(client, factory):
    project, _ = await owner_project(client, factory)
    r = await post_form(
        client, add_url(project, "ntfy"), {"url": "https://ntfy.sh", "topic": "bad topic"}
    )
    assert r.status_code == 400
    assert 'value="bad topic"' in r.text


async def test_it_rejects_a_malformed_header_line(client, factory, db):
    project, _ = await owner_project(client, factory)
    form = {"url_down": "https://example.org/", "headers_down": "no colon here"}
    r = await post_form(client, add_url(project, "webhook"), form)
    assert r.status_code == 400
    assert field_error(r.text, "headers_down") == 'Line 1: write each header as "Name: value".'
    assert await count_channels(db) == 0


async def test_it_rejects_an_invalid_header_name_from_the_config_rules(client, factory):
    project, _ = await owner_project(client, factory)
    form = {"url_down": "https://example.org/", "headers_down": "Bad Name: 1"}
    r = await post_form(client, add_url(project, "webhook"), form)
    assert r.status_code == 400
    assert field_error(r.text, "headers_down") == "'Bad Name' is not a valid header name"


async def test_it_rejects_a_priority_that_is_not_offered(client, factory):
    project, _ = await owner_project(client, factory)
    form = {**VALID["gotify"][0], "priority": "11"}
    r = await post_form(client, add_url(project, "gotify"), form)
    assert r.status_code == 400
    assert field_error(r.text, "priority") == "Choose one of the options."


async def test_it_rejects_a_topic_id_that_is_not_a_number(client, factory):
    project, _ = await owner_project(client, factory)
    r = await post_form(client, add_url(project, "telegram"), {"chat_id": "1", "thread_id": "x"})
    assert r.status_code == 400
    assert field_error(r.text, "thread_id") == "Enter a whole number."


async def test_it_rejects_a_name_over_100_characters(client, factory, db):
    project, _ = await owner_project(client, factory)
    form = {**VALID["slack"][0], "name": "n" * 101}
    r = await post_form(client, add_url(project, "slack"), form)
    assert r.status_code == 400
    assert field_error(r.text, "name") == "At most 100 characters."
    assert await count_channels(db) == 0


async def test_a_new_channel_is_used_by_every_existing_check(client, factory, db):
    project, _ = await owner_project(client, factory)
    first = await factory.check(project, name="a")
    second = await factory.check(project, name="b")
    other_project, _ = await factory.project()
    await factory.check(other_project, name="elsewhere")
    await post_form(client, add_url(project, "slack"), VALID["slack"][0])
    (channel,) = await project_channels(db, project)
    assert await channel_check_ids(db, channel) == {first.id, second.id}


async def test_it_answers_404_for_an_unknown_kind(client, factory):
    project, _ = await owner_project(client, factory)
    assert (await client.get(add_url(project, "carrier-pigeon"))).status_code == 404
    r = await post_form(client, add_url(project, "carrier-pigeon"), {"url": HOOK})
    assert r.status_code == 404


async def test_it_refuses_a_kind_switched_off(factory, settings, db, clock):
    app = create_app(replace(settings, slack_enabled=False), db=db, clock=clock, debug=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        project, _ = await owner_project(client, factory)
        r = await client.get(add_url(project, "slack"))
        assert r.status_code == 403
        assert "Slack notifications are not enabled." in r.text
        r = await post_form(client, add_url(project, "slack"), VALID["slack"][0])
        assert r.status_code == 403
        listing = await client.get(f"/projects/{project.code}/integrations/")
        assert "/add/slack" not in listing.text and "/add/discord" in listing.text
    assert await count_channels(db) == 0


# --- edit ----------------------------------------------------------------------------------------


async def test_the_edit_form_shows_a_config_stored_by_the_api(client, factory):
    project, _ = await owner_project(client, factory)
    # Healthchecks (and so the API) may store an email channel as the bare address.
    channel = await factory.channel(project, kind="email", name="Me", value="me@example.org")
    r = await client.get(f"/integrations/{channel.code}/")
    assert r.status_code == 200
    assert 'name="value" type="text" value="me@example.org"' in r.text
    assert re.search(r'name="down" type="checkbox" value="on" checked', r.text)
    assert 'value="Me"' in r.text


async def test_saving_the_edit_form_updates_config_and_directions(client, factory, db):
    project, _ = await owner_project(client, factory)
    channel = await factory.channel(
        project, kind="webhook", value={"url_down": HOOK}, disabled=True, notify_up=False
    )
    form = {"url_up": "https://example.org/up", "method_up": "PUT", "name": "Renamed"}
    r = await post_form(client, f"/integrations/{channel.code}/", form)
    assert "Integration saved." in await flashes_after(client, r)
    (saved,) = await project_channels(db, project)
    assert saved.name == "Renamed"
    assert saved.value == {
        "url_up": "https://example.org/up",
        "method_down": "GET",
        "method_up": "PUT",
    }
    assert (saved.notify_down, saved.notify_up, saved.disabled) == (False, True, False)


async def test_an_invalid_edit_keeps_the_stored_config(client, factory, db):
    project, _ = await owner_project(client, factory)
    channel = await factory.channel(project, kind="slack", value={"url": HOOK})
    r = await post_form(client, f"/integrations/{channel.code}/", {"url": "javascript:x"})
    assert r.status_code == 400
    assert field_error(r.text, "url") == "must be an http:// or https:// URL with a host"
    (saved,) = await project_channels(db, project)
    assert saved.value == {"url": HOOK}


async def test_a_stored_config_no_longer_valid_still_shows_the_form(client, factory):
    project, _ = await owner_project(client, factory)
    channel = await factory.channel(project, kind="slack", value={"url": "gopher://old"})
    r = await client.get(f"/integrations/{channel.code}/")
    assert r.status_code == 200
    assert "The saved configuration is no longer valid" in r.text


async def test_it_answers_404_for_an_unknown_channel(client, factory):
    await owner_project(client, factory)
    code = uuid.uuid4()
    assert (await client.get(f"/integrations/{code}/")).status_code == 404
    assert (await post_form(client, f"/integrations/{code}/test")).status_code == 404


# --- choose checks -------------------------------------------------------------------------------


async def test_it_sets_which_checks_use_the_channel(client, factory, db):
    project, _ = await owner_project(client, factory)
    first = await factory.check(project, name="first")
    second = await factory.check(project, name="second")
    foreign = await factory.check(name="foreign")
    channel = await factory.channel(project, kind="slack", value={"url": HOOK})
    await factory.assign(first, channel)
    url = f"/integrations/{channel.code}/checks"
    r = await post_form(client, url, {"check": [str(second.id), str(foreign.id)]})
    assert "1 of 2 checks use this integration." in await flashes_after(client, r)
    assert await channel_check_ids(db, channel) == {second.id}

    await post_form(client, url, {"select": "all"})
    assert await channel_check_ids(db, channel) == {first.id, second.id}
    await post_form(client, url, {"select": "none", "check": [str(first.id)]})
    assert await channel_check_ids(db, channel) == set()


async def test_the_edit_page_ticks_the_checks_that_use_it(client, factory):
    project, _ = await owner_project(client, factory)
    used = await factory.check(project, name="used")
    await factory.check(project, name="unused")
    channel = await factory.channel(project, kind="slack", value={"url": HOOK})
    await factory.assign(used, channel)
    r = await client.get(f"/integrations/{channel.code}/")
    assert f'name="check" value="{used.id}" checked> used' in r.text
    assert re.search(r'name="check" value="\d+"> unused', r.text)


async def test_htmx_gets_the_checks_form_back(client, factory, db):
    project, _ = await owner_project(client, factory)
    check = await factory.check(project, name="only")
    channel = await factory.channel(project, kind="slack", value={"url": HOOK})
    r = await post_form(
        client,
        f"/integrations/{channel.code}/checks",
        {"select": "all"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    assert r.text.lstrip().startswith("{#") is False
    assert '<form method="post"' in r.text and "<html" not in r.text
    assert "1 of 1 checks use this integration." in r.text
    assert await channel_check_ids(db, channel) == {check.id}


async def test_the_checks_form_answers_from_what_it_just_saved(client, factory, db):
    project, _ = await owner_project(client, factory)
    first = await factory.check(project, name="first")
    await factory.check(project, name="second")
    channel = await factory.channel(project, kind="slack", value={"url": HOOK})
    await factory.assign(first, channel)
    with recorded_statements(db) as statements:
        r = await post_form(
            client,
            f"/integrations/{channel.code}/checks",
            {"select": "all"},
            headers={"HX-Request": "true"},
        )
    assert r.status_code == 200
    assert "2 of 2 checks use this integration." in r.text
    assert len(re.findall(r'name="check" value="\d+" checked', r.text)) == 2
    # set_channel_checks reads the current selection once; the page reads neither it nor
    # the project's checks again to answer.
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len([s for s in reads if "FROM check_channels" in s]) == 1, reads
    assert len([s for s in reads if s.startswith("SELECT checks.id, checks.code")]) == 1, reads


async def test_it_rejects_a_check_that_is_not_a_number(client, factory):
    project, _ = await owner_project(client, factory)
    channel = await factory.channel(project, kind="slack", value={"url": HOOK})
    r = await post_form(client, f"/integrations/{channel.code}/checks", {"check": "x"})
    assert r.status_code == 400
    assert "Not a check: &#39;x&#39;." in r.text or "Not a check: 'x'." in r.text


# --- test notification ---------------------------------------------------------------------------


async def test_it_sends_a_test_notification(client, factory, db, httpserver: HTTPServer):
    project, _ = await owner_project(client, factory)
    httpserver.expect_oneshot_request("/hook/down", method="GET").respond_with_data("OK")
    channel = await factory.channel(
        project, kind="webhook", value={"url_down": httpserver.url_for("/hook/$STATUS")}
    )
    r = await post_form(client, f"/integrations/{channel.code}/test")
    assert r.headers["location"] == f"/projects/{project.code}/integrations"
    page = await flashes_after(client, r)
    assert "Test notification sent." in page
    httpserver.check_assertions()
    (saved,) = await project_channels(db, project)
    assert saved.last_notify is not None and saved.last_error == ""


async def test_it_shows_the_error_of_a_failed_test(client, factory, db, httpserver: HTTPServer):
    project, _ = await owner_project(client, factory)
    httpserver.expect_oneshot_request("/hook").respond_with_data("oops", status=500)
    channel = await factory.channel(
        project, kind="webhook", value={"url_down": httpserver.url_for("/hook")}
    )
    r = await post_form(
        client,
        f"/integrations/{channel.code}/test",
        {"next": f"/integrations/{channel.code}/"},
    )
    assert r.headers["location"] == f"/integrations/{channel.code}/"
    page = await flashes_after(client, r)
    assert "Test notification failed: Received status code 500" in page
    (saved,) = await project_channels(db, project)
    assert saved.last_error == "Received status code 500"


async def test_the_test_never_redirects_off_site(client, factory, httpserver: HTTPServer):
    project, _ = await owner_project(client, factory)
    httpserver.expect_oneshot_request("/hook").respond_with_data("OK")
    channel = await factory.channel(
        project, kind="webhook", value={"url_down": httpserver.url_for("/hook")}
    )
    r = await post_form(
        client, f"/integrations/{channel.code}/test", {"next": "https://evil.example/"}
    )
    assert r.headers["location"] == f"/projects/{project.code}/integrations"


# --- remove --------------------------------------------------------------------------------------


async def test_removing_asks_first_then_removes(client, factory, db):
    project, _ = await owner_project(client, factory)
    check = await factory.check(project)
    channel = await factory.channel(project, kind="slack", name="Ops", value={"url": HOOK})
    await factory.assign(check, channel)
    confirm = await client.get(f"/integrations/{channel.code}/remove")
    assert confirm.status_code == 200
    assert f'action="/integrations/{channel.code}/remove"' in confirm.text
    assert HOOK in confirm.text
    assert await count_channels(db) == 1
    r = await post_form(client, f"/integrations/{channel.code}/remove")
    assert "Slack integration removed." in await flashes_after(client, r)
    assert await count_channels(db) == 0


# --- access --------------------------------------------------------------------------------------


async def test_anonymous_visitors_are_sent_to_sign_in(client, factory):
    project, _ = await factory.project()
    channel = await factory.channel(project, kind="slack", value={"url": HOOK})
    for url in (
        f"/projects/{project.code}/integrations/",
        add_url(project, "slack"),
        f"/integrations/{channel.code}/",
        f"/integrations/{channel.code}/remove",
    ):
        r = await client.get(url)
        assert r.status_code == 303, url
        assert r.headers["location"].startswith("/accounts/login?next=") or r.headers[
            "location"
        ].startswith("/accounts/login/?next="), r.headers["location"]


async def test_anonymous_visitors_sign_in_before_learning_whether_a_channel_exists(client):
    r = await client.get(f"/integrations/{uuid.uuid4()}/")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/accounts/login?next=")


async def test_non_members_get_404_everywhere(client, factory, db):
    project, _ = await factory.project()
    channel = await factory.channel(project, kind="slack", value={"url": HOOK})
    await factory.user("stranger@example.org", password=PASSWORD)
    await sign_in(client, "stranger@example.org")
    for url in (
        f"/projects/{project.code}/integrations/",
        add_url(project, "slack"),
        f"/integrations/{channel.code}/",
        f"/integrations/{channel.code}/remove",
    ):
        assert (await client.get(url)).status_code == 404, url
    for url, data in (
        (add_url(project, "slack"), VALID["slack"][0]),
        (f"/integrations/{channel.code}/", VALID["slack"][0]),
        (f"/integrations/{channel.code}/test", {}),
        (f"/integrations/{channel.code}/checks", {"select": "all"}),
        (f"/integrations/{channel.code}/remove", {}),
    ):
        assert (await post_form(client, url, data)).status_code == 404, url
    assert await count_channels(db) == 1


async def test_read_only_members_see_but_cannot_change(client, factory, db):
    owner = await factory.user(OWNER, password=PASSWORD)
    project, _ = await factory.project(owner)
    await factory.check(project, name="job")
    channel = await factory.channel(project, kind="slack", name="Ops", value={"url": HOOK})
    await member_of(client, factory, db, project, "readonly")

    listing = await client.get(f"/projects/{project.code}/integrations/")
    assert listing.status_code == 200 and "Ops" in listing.text
    assert "/add/slack" not in listing.text and "Send test" not in listing.text
    form = await client.get(f"/integrations/{channel.code}/")
    assert form.status_code == 200
    assert f'value="{HOOK}"' in form.text and " disabled" in form.text
    assert "Save integration" not in form.text and "Send a test notification" not in form.text

    assert (await client.get(add_url(project, "slack"))).status_code == 403
    assert (await client.get(f"/integrations/{channel.code}/remove")).status_code == 403
    for url, data in (
        (add_url(project, "slack"), VALID["slack"][0]),
        (f"/integrations/{channel.code}/", {"url": "https://example.org/new"}),
        (f"/integrations/{channel.code}/test", {}),
        (f"/integrations/{channel.code}/checks", {"select": "all"}),
        (f"/integrations/{channel.code}/remove", {}),
    ):
        r = await post_form(client, url, data)
        assert r.status_code == 403, url
        assert "read-only" in r.text
    (saved,) = await project_channels(db, project)
    assert saved.value == {"url": HOOK}
    assert await channel_check_ids(db, saved) == set()


async def test_a_channel_page_finds_the_channel_project_and_role_in_one_query(client, factory, db):
    project, _ = await factory.project()
    channel = await factory.channel(project, kind="slack", value={"url": HOOK})
    await member_of(client, factory, db, project, "regular")
    with recorded_statements(db) as statements:
        response = await client.get(f"/integrations/{channel.code}/remove")
    assert response.status_code == 200
    # The session, the viewer, then one query for the channel, its project and the role.
    [session, viewer, access] = statements
    assert "web_sessions" in session and "users" in viewer
    assert all(table in access for table in ("channels.code", "projects", "members")), access


async def test_regular_members_can_add_and_remove(client, factory, db):
    owner = await factory.user(OWNER, password=PASSWORD)
    project, _ = await factory.project(owner)
    await member_of(client, factory, db, project, "regular")
    r = await post_form(client, add_url(project, "slack"), VALID["slack"][0])
    assert r.status_code == 303
    (channel,) = await project_channels(db, project)
    r = await post_form(client, f"/integrations/{channel.code}/remove")
    assert r.status_code == 303
    assert await count_channels(db) == 0


async def test_a_superscript_digit_is_not_a_check_id(client, factory):
    project, _ = await owner_project(client, factory)
    channel = await factory.channel(project, kind="slack", value={"url": HOOK})
    for raw in ("²", "9" * 40):
        r = await post_form(client, f"/integrations/{channel.code}/checks", {"check": raw})
        assert r.status_code == 400, raw


# --- unsubscribe (the link in alert emails) ------------------------------------------------------


async def test_the_unsubscribe_link_of_an_alert_email_disables_the_channel(
    client: httpx.AsyncClient, factory: Factory, settings: Settings, db: Database
) -> None:
    project, _ = await factory.project()
    channel = await factory.channel(project, kind="email", value={"value": "ops@example.org"})
    path = urlsplit(email_links.url(settings, channel.code, email_links.UNSUBSCRIBE)).path

    r = await client.get(path)  # not signed in: whoever got the email
    assert r.status_code == 200
    assert "<strong>ops@example.org</strong>" in r.text and ">Unsubscribe</button>" in r.text
    assert not (await reload_channel(db, channel)).disabled  # a mail scanner's GET: nothing

    # RFC 8058 one-click: a mail client POSTs, with no session and no CSRF token.
    r = await client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200
    assert "<h1>Unsubscribed</h1>" in r.text
    saved = await reload_channel(db, channel)
    assert (saved.disabled, saved.last_error) == (True, email_links.UNSUBSCRIBED)


async def test_an_unsubscribe_link_works_only_for_its_own_channel(
    client: httpx.AsyncClient, factory: Factory, settings: Settings, db: Database
) -> None:
    project, _ = await factory.project()
    channel = await factory.channel(project, kind="email", value={"value": "ops@example.org"})
    other = await factory.channel(project, kind="email", value={"value": "dev@example.org"})
    token = email_links.token(settings.secret_key, other.code, email_links.UNSUBSCRIBE)
    for path in (
        f"/integrations/{channel.code}/unsub/{token}/",
        f"/integrations/{channel.code}/unsub/not-a-token/",
        f"/integrations/{uuid.uuid4()}/unsub/{token}/",
    ):
        assert (await client.get(path)).status_code == 404
        assert (await client.post(path)).status_code == 404
    assert not (await reload_channel(db, channel)).disabled


async def reload_channel(db: Database, channel: m.Channel) -> m.Channel:
    async with db.sessionmaker() as session:
        saved = await session.scalar(select(m.Channel).where(m.Channel.id == channel.id))
    assert saved is not None
    return saved


async def test_an_email_integration_to_an_outside_address_waits_for_its_link(
    client: httpx.AsyncClient, factory: Factory, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="cronbeat.mail")
    project, _ = await owner_project(client, factory)

    r = await post_form(client, add_url(project, "email"), {"value": "ops@example.org"})

    flashes = await flashes_after(client, r)
    assert "We sent ops@example.org a link: alerts go to it once the link is opened." in flashes
    assert "to=ops@example.org" in caplog.text
    page = (await client.get(f"/projects/{project.code}/integrations/")).text
    assert "Unverified" in page and "until the link mailed to it is opened" in page
    [channel] = await project_channels(db, project)
    assert channel.email_verified is False

    # Changed to the owner's own address: nothing to verify any more.
    owner_email = re.search(r"[\w.+-]+@example\.org", (await client.get("/accounts/profile/")).text)
    assert owner_email is not None
    r = await post_form(client, f"/integrations/{channel.code}/", {"value": owner_email[0]})
    assert "Integration saved." in await flashes_after(client, r)
    [channel] = await project_channels(db, project)
    assert channel.email_verified is True
