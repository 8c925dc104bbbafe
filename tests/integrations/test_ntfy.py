"""ntfy: a JSON publish to the server URL, priority per direction."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from app.domain import delivery
from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.ntfy.transport import Config, notify
from tests.integrations.conftest import make_event

DETAILS_URL = "http://cronbeat.test/checks/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/"
DOWN_MESSAGE = "\n".join(
    [
        "Its expected ping did not arrive in time.",
        "Time: 2026-01-15 12:30:05 UTC",
        "Project: Acme",
        "Tags: prod db",
        "Period: 1 day, grace: 1 hour",
        "Total pings: 42",
        "Last ping: success #42 at 2026-01-15 12:30:05 UTC, exit status 0"
        " from 203.0.113.9 (https POST)",
        "Last ping body: exit 1: disk full",
        f"Details: {DETAILS_URL}",
    ]
)
ACTIONS = [{"action": "view", "label": "View on Cronbeat", "url": DETAILS_URL}]


def config(httpserver: HTTPServer, **value: object) -> Config:
    data = {"topic": "backups", "url": httpserver.url_for("/"), "priority": 5, "priority_up": 2}
    return msgspec.convert({**data, **value}, Config, strict=True)


async def test_it_publishes_down_message(ctx: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/",
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "Cronbeat"},
        json={
            "topic": "backups",
            "title": '"DB Backup" is DOWN',
            "message": DOWN_MESSAGE,
            "priority": 5,
            "tags": ["red_circle"],
            "actions": ACTIONS,
        },
    ).respond_with_json({"id": "abc"})

    await notify(make_event(), config(httpserver), ctx)

    httpserver.check_assertions()
    assert len(httpserver.log) == 1
    assert "Authorization" not in httpserver.log[0][0].headers


async def test_it_publishes_up_message_with_up_priority(
    ctx: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/", method="POST").respond_with_json({"id": "abc"})

    await notify(make_event("up", ""), config(httpserver), ctx)

    body = httpserver.log[0][0].get_json()
    assert body["title"] == '"DB Backup" is UP'
    assert body["message"].startswith("It received a success ping.\n")
    assert body["priority"] == 2
    assert body["tags"] == ["green_circle"]
    assert body["actions"] == ACTIONS


async def test_it_marks_repeat_notifications(ctx: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/", method="POST").respond_with_json({"id": "abc"})

    await notify(make_event("down", "nag"), config(httpserver), ctx)

    assert httpserver.log[0][0].get_json()["title"] == '"DB Backup" is DOWN (repeat notification)'


async def test_it_sends_bearer_token(ctx: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/", method="POST", headers={"Authorization": "Bearer tk_secret"}
    ).respond_with_json({"id": "abc"})

    await notify(make_event(), config(httpserver, token="tk_secret"), ctx)

    httpserver.check_assertions()
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("priority", "priority_up", "expected"),
    [(3, 3, (True, True)), (0, 3, (False, True)), (4, 0, (True, False)), (0, 0, (False, False))],
)
def test_directions_follow_priorities(
    httpserver: HTTPServer, priority: int, priority_up: int, expected: tuple[bool, bool]
) -> None:
    value = config(httpserver, priority=priority, priority_up=priority_up)
    assert registry.get("ntfy").directions(value) == expected


async def test_it_skips_a_direction_with_priority_zero(
    ctx: DeliveryContext, httpserver: HTTPServer
) -> None:
    await notify(make_event("up", ""), config(httpserver, priority_up=0), ctx)

    assert httpserver.log == []


async def test_it_treats_server_error_as_transient(
    ctx: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/").respond_with_data("oops", status=500)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(httpserver), ctx)

    assert not info.value.permanent
    assert info.value.message == "Received status code 500"


async def test_it_requires_ntfy_enabled(ctx: DeliveryContext, httpserver: HTTPServer) -> None:
    disabled = DeliveryContext(settings=replace(ctx.settings, ntfy_enabled=False), http=ctx.http)

    with pytest.raises(TransportError) as info:
        await delivery.send(make_event(), "ntfy", msgspec.to_builtins(config(httpserver)), disabled)

    assert info.value.permanent
    assert info.value.message == "ntfy notifications are not enabled."
    assert httpserver.log == []


def test_it_defaults_to_ntfy_sh() -> None:
    value = registry.parse_config("ntfy", {"topic": "backups"})
    assert value == Config(topic="backups", url="https://ntfy.sh", priority=3, priority_up=3)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"topic": "a/b"}, "topic"),
        ({"topic": ""}, "topic"),
        ({}, "topic"),
        ({"topic": "t", "url": "ftp://ntfy.sh"}, "url"),
        ({"topic": "t", "url": "ntfy.sh"}, "url"),
        ({"topic": "t", "priority": 6}, "priority"),
        ({"topic": "t", "priority": -1}, "priority"),
        ({"topic": "t", "priority_up": 9}, "priority_up"),
        ({"topic": "t", "priority": "5"}, "priority"),
        ({"topic": "t", "token": ""}, "token"),
        ({"topic": "t", "tokn": "x"}, "tokn"),
    ],
)
def test_it_rejects_invalid_config_naming_the_field(value: dict[str, object], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        registry.parse_config("ntfy", value)
