"""Gotify: a Markdown message POSTed to <server>/message?token=…, priority per direction."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from app.domain import delivery
from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.gotify.transport import Config, notify
from tests.integrations.conftest import make_event

TOKEN = "AvKxCyWn.4pJ2Tm"
DETAILS_URL = "http://cronbeat.test/checks/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/"
DOWN_MESSAGE = (
    "Its expected ping did not arrive in time.  \n"
    "Time: 2026-01-15 12:30:05 UTC  \n"
    "Project: Acme  \n"
    "Tags: prod db  \n"
    "Period: 1 day, grace: 1 hour  \n"
    "Total pings: 42  \n"
    "Last ping: success #42 at 2026-01-15 12:30:05 UTC, exit status 0"
    " from 203.0.113.9 (https POST)\n"
    "\n"
    "Last ping body:\n"
    "\n"
    "```\n"
    "exit 1: disk full\n"
    "```\n"
    "\n"
    f"[View on Cronbeat]({DETAILS_URL})"
)


def config(httpserver: HTTPServer, **value: object) -> Config:
    data = {"url": httpserver.url_for("/gotify/"), "token": TOKEN, "priority": 8}
    return msgspec.convert({**data, **value}, Config, strict=True)


async def test_it_sends_down_message(ctx: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/gotify/message",
        method="POST",
        query_string={"token": TOKEN},
        headers={"Content-Type": "application/json", "User-Agent": "Cronbeat"},
        json={
            "title": '"DB Backup" is DOWN',
            "message": DOWN_MESSAGE,
            "priority": 8,
            "extras": {
                "client::display": {"contentType": "text/markdown"},
                "client::notification": {"click": {"url": DETAILS_URL}},
            },
        },
    ).respond_with_json({"id": 1})

    await notify(make_event(), config(httpserver), ctx)

    httpserver.check_assertions()
    assert len(httpserver.log) == 1


async def test_it_sends_up_message_with_up_priority(
    ctx: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/gotify/message", method="POST").respond_with_json({"id": 1})

    await notify(make_event("up", ""), config(httpserver, priority_up=2), ctx)

    body = httpserver.log[0][0].get_json()
    assert body["title"] == '"DB Backup" is UP'
    assert body["message"].startswith("It received a success ping.  \n")
    assert body["priority"] == 2


async def test_it_marks_repeat_notifications(ctx: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gotify/message", method="POST").respond_with_json({"id": 1})

    await notify(make_event("down", "nag"), config(httpserver), ctx)

    assert httpserver.log[0][0].get_json()["title"] == '"DB Backup" is DOWN (repeat notification)'


async def test_it_escapes_markdown(ctx: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gotify/message", method="POST").respond_with_json({"id": 1})

    await notify(make_event(project_name="*ops*_[x]"), config(httpserver), ctx)

    assert "Project: \\*ops\\*\\_\\[x\\]  \n" in httpserver.log[0][0].get_json()["message"]


async def test_it_fences_a_ping_body_containing_backticks(
    ctx: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/gotify/message", method="POST").respond_with_json({"id": 1})
    event = make_event()
    assert event.last_ping is not None
    event = replace(event, last_ping=replace(event.last_ping, body="a ```` b"))

    await notify(event, config(httpserver), ctx)

    assert "\n`````\na ```` b\n`````\n" in httpserver.log[0][0].get_json()["message"]


@pytest.mark.parametrize(
    ("priority", "priority_up", "expected"),
    [(5, 5, (True, True)), (0, 5, (False, True)), (10, 0, (True, False)), (0, 0, (False, False))],
)
def test_directions_follow_priorities(
    httpserver: HTTPServer, priority: int, priority_up: int, expected: tuple[bool, bool]
) -> None:
    value = config(httpserver, priority=priority, priority_up=priority_up)
    assert registry.get("gotify").directions(value) == expected


async def test_it_skips_a_direction_with_priority_zero(
    ctx: DeliveryContext, httpserver: HTTPServer
) -> None:
    await notify(make_event(), config(httpserver, priority=0), ctx)

    assert httpserver.log == []


async def test_it_treats_server_error_as_transient(
    ctx: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/gotify/message").respond_with_data("oops", status=500)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(httpserver), ctx)

    assert not info.value.permanent
    assert info.value.message == "Received status code 500"


async def test_it_requires_gotify_enabled(ctx: DeliveryContext, httpserver: HTTPServer) -> None:
    disabled = DeliveryContext(settings=replace(ctx.settings, gotify_enabled=False), http=ctx.http)

    with pytest.raises(TransportError) as info:
        await delivery.send(
            make_event(), "gotify", msgspec.to_builtins(config(httpserver)), disabled
        )

    assert info.value.permanent
    assert info.value.message == "Gotify notifications are not enabled."
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"token": TOKEN}, "url"),
        ({"url": "gotify.example.com", "token": TOKEN}, "url"),
        ({"url": "https://gotify.example.com/?x=1", "token": TOKEN}, "url"),
        ({"url": "https://gotify.example.com"}, "token"),
        ({"url": "https://gotify.example.com", "token": "a b"}, "token"),
        ({"url": "https://gotify.example.com", "token": TOKEN, "priority": 11}, "priority"),
        ({"url": "https://gotify.example.com", "token": TOKEN, "priority_up": -1}, "priority_up"),
        ({"url": "https://gotify.example.com", "token": TOKEN, "app": "x"}, "app"),
    ],
)
def test_it_rejects_invalid_config_naming_the_field(value: dict[str, object], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        registry.parse_config("gotify", value)
