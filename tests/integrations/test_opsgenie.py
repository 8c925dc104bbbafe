"""Opsgenie: create an alert on down, close it by alias on up."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from app.domain import delivery
from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.opsgenie.transport import Config, notify
from tests.integrations.conftest import make_event

KEY = "eb243592-faa2-4ba2-a551-1afdf565c889"
ALIAS = "a" * 40
DETAILS_URL = "http://cronbeat.test/checks/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/"
LAST_PING = "success #42 at 2026-01-15 12:30:05 UTC, exit status 0 from 203.0.113.9 (https POST)"
ACCEPTED = {"result": "Request will be processed", "took": 0.1, "requestId": "r1"}


@pytest.fixture
def og(ctx: DeliveryContext, httpserver: HTTPServer) -> DeliveryContext:
    settings = replace(
        ctx.settings,
        opsgenie_api_url=httpserver.url_for("/us").rstrip("/"),
        opsgenie_eu_api_url=httpserver.url_for("/eu").rstrip("/"),
    )
    return DeliveryContext(settings=settings, http=ctx.http)


def config(**value: object) -> Config:
    return msgspec.convert({"key": KEY, **value}, Config, strict=True)


async def test_it_creates_an_alert(og: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/us/v2/alerts",
        method="POST",
        headers={
            "Authorization": f"GenieKey {KEY}",
            "Content-Type": "application/json",
            "User-Agent": "Cronbeat",
        },
        json={
            "alias": ALIAS,
            "message": '"DB Backup" is DOWN',
            "description": "\n".join(
                [
                    "Its expected ping did not arrive in time.",
                    "Time: 2026-01-15 12:30:05 UTC",
                    "Project: Acme",
                    "Tags: prod db",
                    "Period: 1 day, grace: 1 hour",
                    "Total pings: 42",
                    f"Last ping: {LAST_PING}",
                    "Last ping body: exit 1: disk full",
                    f"Details: {DETAILS_URL}",
                ]
            ),
            "note": "Its expected ping did not arrive in time.",
            "source": "Cronbeat",
            "tags": ["prod", "db"],
            "details": {
                "Project": "Acme",
                "Tags": "prod db",
                "Period": "1 day",
                "Grace time": "1 hour",
                "Total pings": "42",
                "Last ping": LAST_PING,
                "Details": DETAILS_URL,
            },
        },
    ).respond_with_json(ACCEPTED, status=202)

    await notify(make_event(), config(), og)

    httpserver.check_assertions()
    assert len(httpserver.log) == 1


async def test_it_closes_the_alert(og: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        f"/us/v2/alerts/{ALIAS}/close",
        method="POST",
        query_string={"identifierType": "alias"},
        headers={"Authorization": f"GenieKey {KEY}", "Content-Type": "application/json"},
        json={"source": "Cronbeat"},
    ).respond_with_json(ACCEPTED, status=202)

    await notify(make_event("up", ""), config(), og)

    httpserver.check_assertions()
    assert len(httpserver.log) == 1


async def test_it_uses_the_eu_endpoint(og: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/eu/v2/alerts", method="POST").respond_with_json(
        ACCEPTED, status=202
    )

    await notify(make_event(), config(region="eu"), og)

    httpserver.check_assertions()
    assert [request.path for request, _ in httpserver.log] == ["/eu/v2/alerts"]


async def test_it_marks_repeat_notifications(og: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/us/v2/alerts").respond_with_json(ACCEPTED, status=202)

    await notify(make_event("down", "nag"), config(), og)

    body = httpserver.log[0][0].get_json()
    assert body["message"] == '"DB Backup" is DOWN (repeat notification)'
    assert body["note"] == "It is still down."


async def test_it_shortens_the_check_name_to_fit_130_characters(
    og: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/us/v2/alerts").respond_with_json(ACCEPTED, status=202)

    await notify(make_event("down", "nag", name="n" * 200), config(), og)

    message = httpserver.log[0][0].get_json()["message"]
    assert message == '"' + "n" * 97 + '…" is DOWN (repeat notification)'
    assert len(message) == 130


def test_it_delivers_both_directions() -> None:
    assert registry.get("opsgenie").directions(config()) == (True, True)


async def test_it_treats_server_error_as_transient(
    og: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/us/v2/alerts").respond_with_data("oops", status=500)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), og)

    assert not info.value.permanent
    assert info.value.message == "Received status code 500"


async def test_it_requires_opsgenie_enabled(og: DeliveryContext, httpserver: HTTPServer) -> None:
    disabled = DeliveryContext(settings=replace(og.settings, opsgenie_enabled=False), http=og.http)

    with pytest.raises(TransportError) as info:
        await delivery.send(make_event(), "opsgenie", msgspec.to_builtins(config()), disabled)

    assert info.value.permanent
    assert info.value.message == "Opsgenie notifications are not enabled."
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({}, "key"),
        ({"key": ""}, "key"),
        ({"key": "a b"}, "key"),
        ({"key": KEY, "region": "apac"}, "region"),
        ({"key": KEY, "region": None}, "region"),
        ({"key": KEY, "team": "ops"}, "team"),
    ],
)
def test_it_rejects_invalid_config_naming_the_field(value: dict[str, object], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        registry.parse_config("opsgenie", value)
