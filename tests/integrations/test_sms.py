"""SMS: a form POST to Twilio's Messages API with basic auth, per-direction switches."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from app.domain import delivery
from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.sms.transport import Config, notify
from tests.integrations.conftest import make_event

ACCOUNT = "AC0123456789abcdef0123456789abcdef"
AUTH = "twilio-auth-token"
SENDER = "+15005550006"
PHONE = "+37120000000"
PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
BASIC = "Basic " + base64.b64encode(f"{ACCOUNT}:{AUTH}".encode()).decode()
DETAILS_URL = "http://cronbeat.test/checks/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/"
QUEUED = {"sid": "SM1", "status": "queued"}


@pytest.fixture
def twilio(ctx: DeliveryContext, httpserver: HTTPServer) -> DeliveryContext:
    settings = replace(
        ctx.settings,
        twilio_account=ACCOUNT,
        twilio_auth=AUTH,
        twilio_from=SENDER,
        twilio_api_url=httpserver.url_for("").rstrip("/"),
    )
    return DeliveryContext(settings=settings, http=ctx.http)


def config(**value: object) -> Config:
    return msgspec.convert({"value": PHONE, **value}, Config, strict=True)


async def test_it_sends_down_message(twilio: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        PATH,
        method="POST",
        headers={
            "Authorization": BASIC,
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Cronbeat",
        },
    ).respond_with_json(QUEUED, status=201)

    await notify(make_event(), config(), twilio)

    httpserver.check_assertions()
    assert len(httpserver.log) == 1
    assert httpserver.log[0][0].form.to_dict() == {
        "From": SENDER,
        "To": PHONE,
        "Body": "\n".join(
            [
                '"DB Backup" is DOWN',
                "Its expected ping did not arrive in time.",
                "Time: 2026-01-15 12:30:05 UTC",
                "Last ping: success #42 at 2026-01-15 12:30:05 UTC, exit status 0"
                " from 203.0.113.9 (https POST)",
                "Last ping body: exit 1: disk full",
                f"Details: {DETAILS_URL}",
            ]
        ),
    }


async def test_it_sends_up_message_when_asked(
    twilio: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json(QUEUED, status=201)

    await notify(make_event("up", ""), config(up=True), twilio)

    body = httpserver.log[0][0].form["Body"]
    assert body.startswith('"DB Backup" is UP\nIt received a success ping.\n')


async def test_it_marks_repeat_notifications(
    twilio: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json(QUEUED, status=201)

    await notify(make_event("down", "nag"), config(), twilio)

    body = httpserver.log[0][0].form["Body"]
    assert body.startswith('"DB Backup" is DOWN (repeat notification)\nIt is still down.\n')


async def test_it_keeps_the_message_short(twilio: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json(QUEUED, status=201)
    event = make_event(name="n" * 2000)
    assert event.last_ping is not None
    event = replace(event, last_ping=replace(event.last_ping, body="x" * 5000))

    await notify(event, config(), twilio)

    body = httpserver.log[0][0].form["Body"]
    assert len(body) == 1600
    assert body.startswith('"nnnn')
    assert body.endswith(f"…\nDetails: {DETAILS_URL}")


async def test_it_cuts_the_ping_body_to_one_segment(
    twilio: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json(QUEUED, status=201)
    event = make_event()
    assert event.last_ping is not None
    event = replace(event, last_ping=replace(event.last_ping, body="x" * 5000))

    await notify(event, config(), twilio)

    assert f"\nLast ping body: {'x' * 160}…\nDetails: " in httpserver.log[0][0].form["Body"]


@pytest.mark.parametrize(
    ("down", "up"), [(True, False), (False, True), (True, True), (False, False)]
)
def test_directions_follow_the_switches(down: bool, up: bool) -> None:
    assert registry.get("sms").directions(config(down=down, up=up)) == (down, up)


async def test_it_skips_up_by_default(twilio: DeliveryContext, httpserver: HTTPServer) -> None:
    await notify(make_event("up", ""), config(), twilio)

    assert httpserver.log == []


async def test_it_reports_invalid_number_as_permanent(
    twilio: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {
            "code": 21211,
            "message": f"The 'To' number {PHONE} is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
        status=400,
    )

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), twilio)

    assert info.value.permanent
    assert info.value.message == "Invalid phone number"


async def test_it_treats_other_client_errors_as_transient(
    twilio: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {"code": 20429, "message": "Too Many Requests", "status": 429}, status=429
    )

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), twilio)

    assert not info.value.permanent
    assert info.value.message == "Received status code 429"


async def test_it_treats_server_error_as_transient(
    twilio: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(PATH).respond_with_data("oops", status=500)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), twilio)

    assert not info.value.permanent
    assert info.value.message == "Received status code 500"


@pytest.mark.parametrize("missing", ["twilio_account", "twilio_auth", "twilio_from"])
async def test_it_requires_twilio_credentials(
    twilio: DeliveryContext, httpserver: HTTPServer, missing: str
) -> None:
    unset: dict[str, Any] = {missing: None}
    disabled = DeliveryContext(settings=replace(twilio.settings, **unset), http=twilio.http)

    with pytest.raises(TransportError) as info:
        await delivery.send(make_event(), "sms", msgspec.to_builtins(config()), disabled)

    assert info.value.permanent
    assert info.value.message == "SMS notifications are not enabled (no Twilio account)."
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({}, "value"),
        ({"value": "37120000000"}, "value"),
        ({"value": "+371 2000 0000"}, "value"),
        ({"value": "+1234"}, "value"),
        ({"value": "+1234567890123456"}, "value"),
        ({"value": PHONE, "up": "yes"}, "up"),
        ({"value": PHONE, "down": 1}, "down"),
        ({"value": PHONE, "whatsapp": True}, "whatsapp"),
    ],
)
def test_it_rejects_invalid_config_naming_the_field(value: dict[str, object], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        registry.parse_config("sms", value)
