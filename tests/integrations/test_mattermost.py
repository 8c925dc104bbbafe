"""Mattermost: a Slack-style attachment POSTed to an incoming webhook (pytest-httpserver)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.mattermost.transport import INTEGRATION, Config, directions, notify
from tests.integrations.conftest import make_event

HOOK = "/hooks/xxx-generatedkey-xxx"
DETAILS = "http://cronbeat.test/checks/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/"


def config(url: str) -> Config:
    return msgspec.convert({"url": url}, Config, strict=True)


def sent_attachment(httpserver: HTTPServer) -> Any:
    httpserver.check_assertions()
    [(request, _response)] = httpserver.log
    assert request.method == "POST"
    assert request.path == HOOK
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "Cronbeat"
    message = json.loads(request.get_data())
    assert list(message) == ["attachments"]
    [attachment] = message["attachments"]
    return attachment


async def test_it_posts_an_attachment_for_a_down_event(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")

    await notify(make_event("down", "fail"), config(httpserver.url_for(HOOK)), ctx)

    assert sent_attachment(httpserver) == {
        "fallback": '"DB Backup" is DOWN',
        "color": "danger",
        "title": '"DB Backup" is DOWN',
        "title_link": DETAILS,
        "text": "It received a failure ping. Time: 2026-01-15 12:30:05 UTC",
        "fields": [
            {"title": "Description", "value": "Nightly pg_dump", "short": False},
            {"title": "Project", "value": "Acme", "short": True},
            {"title": "Tags", "value": "`prod` `db`", "short": True},
            {"title": "Period", "value": "1 day", "short": True},
            {"title": "Grace time", "value": "1 hour", "short": True},
            {"title": "Total pings", "value": "42", "short": True},
            {
                "title": "Last ping",
                "value": "fail #42 at 2026-01-15 12:30:05 UTC, exit status 1"
                " from 203.0.113.9 (https POST)",
                "short": False,
            },
            {"title": "Last ping body", "value": "```\nexit 1: disk full\n```", "short": False},
        ],
        "footer": "Cronbeat",
        "ts": 1768480205,
    }


async def test_it_says_up_in_green(httpserver: HTTPServer, ctx: DeliveryContext) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")

    await notify(make_event("up", ""), config(httpserver.url_for(HOOK)), ctx)

    attachment = sent_attachment(httpserver)
    assert attachment["color"] == "good"
    assert attachment["title"] == '"DB Backup" is UP'
    assert attachment["text"].startswith("It received a success ping.")


async def test_it_marks_a_nag_as_a_repeat_notification(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")

    await notify(make_event("down", "nag"), config(httpserver.url_for(HOOK)), ctx)

    attachment = sent_attachment(httpserver)
    assert attachment["fallback"] == '"DB Backup" is DOWN (repeat notification)'
    assert attachment["text"].startswith("It is still down.")


async def test_it_shows_schedule_and_time_zone_for_a_cron_check(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")
    event = make_event(kind="cron", schedule="0 3 * * *", tz="Europe/Riga")

    await notify(event, config(httpserver.url_for(HOOK)), ctx)

    fields = {f["title"]: f["value"] for f in sent_attachment(httpserver)["fields"]}
    assert (fields["Schedule"], fields["Time zone"]) == ("`0 3 * * *`", "Europe/Riga")
    assert "Period" not in fields


async def test_it_keeps_the_body_inside_its_code_block(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")
    event = make_event(tags="a`b")
    event = replace(event, last_ping=replace(event.last_ping, body="```\nhi\n" + "x" * 2000))

    await notify(event, config(httpserver.url_for(HOOK)), ctx)

    fields = {f["title"]: f["value"] for f in sent_attachment(httpserver)["fields"]}
    assert fields["Tags"] == "`a'b`"
    assert fields["Last ping body"].startswith("```\n`\u200b``\nhi\nxxx")
    assert fields["Last ping body"].endswith("x\n```")
    assert fields["Last ping body"].count("x") == 1000 - len("```\nhi\n")


async def test_it_says_never_without_a_last_ping(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")

    await notify(replace(make_event(), last_ping=None), config(httpserver.url_for(HOOK)), ctx)

    fields = {f["title"]: f["value"] for f in sent_attachment(httpserver)["fields"]}
    assert fields["Last ping"] == "never"
    assert "Last ping body" not in fields


@pytest.mark.parametrize("status", [400, 404, 500])
async def test_an_error_status_may_be_retried(
    httpserver: HTTPServer, ctx: DeliveryContext, status: int
) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_data("nope", status=status)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(httpserver.url_for(HOOK)), ctx)

    assert info.value.message == f"Received status code {status}"
    assert info.value.permanent is False


def test_it_delivers_both_directions() -> None:
    assert directions(config("https://chat.example.org/hooks/x")) == (True, True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": "chat.example.org/hooks/x"}, "url"),
        ({"url": "javascript://chat.example.org/%0aalert(1)"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://chat.example.org/\nx"}, "url"),
        ({"url": "https://chat.example.org/" + "a" * 1000}, "url"),
        ({"url": None}, "url"),
        ({"url": "https://chat.example.org/", "username": "bot"}, "username"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert(fields, Config, strict=True)


def test_it_is_registered() -> None:
    assert registry.get("mattermost") is INTEGRATION
    url = "https://chat.example.org/hooks/x"
    assert registry.parse_config("mattermost", {"url": url}) == Config(url=url)
