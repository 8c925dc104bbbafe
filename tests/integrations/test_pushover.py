"""Pushover: a form POST to messages.json, priority per direction, emergency alerts cancelled."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from app.domain import delivery
from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.pushover.transport import Config, notify
from tests.integrations.conftest import make_event

APP_TOKEN = "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
USER_KEY = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
TAG = "a" * 40
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
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def po(ctx: DeliveryContext, httpserver: HTTPServer) -> DeliveryContext:
    settings = replace(
        ctx.settings,
        pushover_api_token=APP_TOKEN,
        pushover_api_url=httpserver.url_for("").rstrip("/"),
    )
    return DeliveryContext(settings=settings, http=ctx.http)


def config(**value: object) -> Config:
    return msgspec.convert({"user_key": USER_KEY, **value}, Config, strict=True)


async def test_it_sends_down_message(po: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/1/messages.json", method="POST", headers={"Content-Type": FORM, "User-Agent": "Cronbeat"}
    ).respond_with_json({"status": 1, "request": "r1"})

    await notify(make_event(), config(priority=1), po)

    httpserver.check_assertions()
    assert len(httpserver.log) == 1
    assert httpserver.log[0][0].form.to_dict() == {
        "token": APP_TOKEN,
        "user": USER_KEY,
        "title": '"DB Backup" is DOWN',
        "message": DOWN_MESSAGE,
        "html": "1",
        "priority": "1",
        "url": DETAILS_URL,
        "url_title": "View on Cronbeat",
    }


async def test_it_sends_up_message_with_up_priority(
    po: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/1/messages.json", method="POST").respond_with_json({"status": 1})

    await notify(make_event("up", ""), config(priority=1, priority_up=-1), po)

    form = httpserver.log[0][0].form
    assert form["title"] == '"DB Backup" is UP'
    assert form["message"].startswith("It received a success ping.\n")
    assert form["priority"] == "-1"


async def test_it_marks_repeat_notifications(po: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/1/messages.json", method="POST").respond_with_json({"status": 1})

    await notify(make_event("down", "nag"), config(), po)

    assert httpserver.log[0][0].form["title"] == '"DB Backup" is DOWN (repeat notification)'


async def test_it_escapes_html(po: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/1/messages.json", method="POST").respond_with_json({"status": 1})

    await notify(make_event(project_name="R&D <ops>"), config(), po)

    assert "Project: R&amp;D &lt;ops&gt;\n" in httpserver.log[0][0].form["message"]


async def test_it_cuts_a_long_ping_body_to_fit(po: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/1/messages.json", method="POST").respond_with_json({"status": 1})
    event = make_event()
    assert event.last_ping is not None
    event = replace(event, last_ping=replace(event.last_ping, body="x" * 5000))

    await notify(event, config(), po)

    message = httpserver.log[0][0].form["message"]
    assert len(message) <= 1024
    assert f"Last ping body: {'x' * 400}…\nDetails: {DETAILS_URL}" in message


async def test_it_sends_emergency_alert_with_retry_and_tag(
    po: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/1/messages.json", method="POST").respond_with_json({"status": 1})

    await notify(make_event(), config(priority=2), po)

    form = httpserver.log[0][0].form
    assert form["priority"] == "2"
    assert form["retry"] == "300"
    assert form["expire"] == "3600"
    assert form["tags"] == TAG


async def test_it_cancels_emergency_alert_before_up_message(
    po: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_ordered_request(
        f"/1/receipts/cancel_by_tag/{TAG}.json", method="POST"
    ).respond_with_json({"status": 1, "canceled": 1})
    httpserver.expect_ordered_request("/1/messages.json", method="POST").respond_with_json(
        {"status": 1}
    )

    await notify(make_event("up", ""), config(priority=2, priority_up=0), po)

    httpserver.check_assertions()
    cancel, message = (request for request, _ in httpserver.log)
    assert cancel.form.to_dict() == {"token": APP_TOKEN}
    assert message.form["priority"] == "0"
    assert "tags" not in message.form


async def test_it_cancels_emergency_alert_even_without_up_message(
    po: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(f"/1/receipts/cancel_by_tag/{TAG}.json").respond_with_json(
        {"status": 1, "canceled": 1}
    )

    await notify(make_event("up", ""), config(priority=2, priority_up=-3), po)

    assert [request.path for request, _ in httpserver.log] == [
        f"/1/receipts/cancel_by_tag/{TAG}.json"
    ]


@pytest.mark.parametrize(
    ("priority", "priority_up", "expected"),
    [
        (0, 0, (True, True)),
        (-3, 1, (False, True)),
        (1, -3, (True, False)),
        (-3, -3, (False, False)),
        (2, -3, (True, True)),  # the up side still cancels the emergency alert
    ],
)
def test_directions_follow_priorities(
    priority: int, priority_up: int, expected: tuple[bool, bool]
) -> None:
    value = config(priority=priority, priority_up=priority_up)
    assert registry.get("pushover").directions(value) == expected


async def test_it_skips_a_direction_with_priority_minus_three(
    po: DeliveryContext, httpserver: HTTPServer
) -> None:
    await notify(make_event(), config(priority=-3), po)

    assert httpserver.log == []


async def test_it_reports_invalid_user_key_as_permanent(
    po: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/1/messages.json").respond_with_json(
        {"user": "invalid", "errors": ["user identifier is invalid"], "status": 0}, status=400
    )

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), po)

    assert info.value.permanent
    assert info.value.message == (
        'Received status code 400 with a message: "user identifier is invalid"'
    )


async def test_it_treats_other_client_errors_as_transient(
    po: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/1/messages.json").respond_with_json(
        {"message": "cannot be blank", "errors": ["message cannot be blank"], "status": 0},
        status=400,
    )

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), po)

    assert not info.value.permanent


async def test_it_treats_server_error_as_transient(
    po: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/1/messages.json").respond_with_data("oops", status=500)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), po)

    assert not info.value.permanent
    assert info.value.message == "Received status code 500"


async def test_it_requires_an_app_token(ctx: DeliveryContext, httpserver: HTTPServer) -> None:
    with pytest.raises(TransportError) as info:
        await delivery.send(make_event(), "pushover", msgspec.to_builtins(config()), ctx)

    assert info.value.permanent
    assert info.value.message == "Pushover notifications are not enabled (no PUSHOVER_API_TOKEN)."
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"user_key": "short"}, "user_key"),
        ({"user_key": USER_KEY + "!"}, "user_key"),
        ({}, "user_key"),
        ({"user_key": USER_KEY, "priority": 3}, "priority"),
        ({"user_key": USER_KEY, "priority": -4}, "priority"),
        ({"user_key": USER_KEY, "priority_up": 5}, "priority_up"),
        ({"user_key": USER_KEY, "priority": "1"}, "priority"),
        ({"user_key": USER_KEY, "sound": "siren"}, "sound"),
    ],
)
def test_it_rejects_invalid_config_naming_the_field(value: dict[str, object], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        registry.parse_config("pushover", value)
