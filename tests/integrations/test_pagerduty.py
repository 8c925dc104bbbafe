"""PagerDuty: Events API v2 trigger on down, resolve on up."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from app.domain import delivery
from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.pagerduty.transport import Config, notify
from tests.integrations.conftest import make_event

ROUTING_KEY = "R0ut1ngK3yR0ut1ngK3yR0ut1ngK3y12"
DEDUP_KEY = "a" * 40
DETAILS_URL = "http://cronbeat.test/checks/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/"
ACCEPTED = {"status": "success", "message": "Event processed", "dedup_key": DEDUP_KEY}


@pytest.fixture
def pd(ctx: DeliveryContext, httpserver: HTTPServer) -> DeliveryContext:
    settings = replace(ctx.settings, pagerduty_api_url=httpserver.url_for("").rstrip("/"))
    return DeliveryContext(settings=settings, http=ctx.http)


def config(**value: object) -> Config:
    return msgspec.convert({"service_key": ROUTING_KEY, **value}, Config, strict=True)


async def test_it_triggers_an_incident(pd: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/v2/enqueue",
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "Cronbeat"},
        json={
            "routing_key": ROUTING_KEY,
            "event_action": "trigger",
            "dedup_key": DEDUP_KEY,
            "payload": {
                "summary": '"DB Backup" is DOWN',
                "source": "Cronbeat",
                "severity": "critical",
                "timestamp": "2026-01-15T12:30:05+00:00",
                "custom_details": {
                    "Cause": "Its expected ping did not arrive in time.",
                    "Time": "2026-01-15 12:30:05 UTC",
                    "Description": "Nightly pg_dump",
                    "Project": "Acme",
                    "Tags": "prod db",
                    "Period": "1 day",
                    "Grace time": "1 hour",
                    "Total pings": 42,
                    "Last ping": "success #42 at 2026-01-15 12:30:05 UTC, exit status 0"
                    " from 203.0.113.9 (https POST)",
                    "Last ping body": "exit 1: disk full",
                },
            },
            "links": [{"href": DETAILS_URL, "text": "View details"}],
        },
    ).respond_with_json(ACCEPTED, status=202)

    await notify(make_event(), config(account="acme"), pd)

    httpserver.check_assertions()
    assert len(httpserver.log) == 1


async def test_it_resolves_the_incident(pd: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/v2/enqueue",
        method="POST",
        json={"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": DEDUP_KEY},
    ).respond_with_json(ACCEPTED, status=202)

    await notify(make_event("up", ""), config(), pd)

    httpserver.check_assertions()
    assert len(httpserver.log) == 1


async def test_it_marks_repeat_notifications(pd: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v2/enqueue").respond_with_json(ACCEPTED, status=202)

    await notify(make_event("down", "nag"), config(), pd)

    body = httpserver.log[0][0].get_json()
    assert body["payload"]["summary"] == '"DB Backup" is DOWN (repeat notification)'
    assert body["payload"]["custom_details"]["Cause"] == "It is still down."


async def test_it_describes_cron_schedules(pd: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v2/enqueue").respond_with_json(ACCEPTED, status=202)

    await notify(make_event(kind="cron", schedule="0 3 * * *", tz="Europe/Riga"), config(), pd)

    details = httpserver.log[0][0].get_json()["payload"]["custom_details"]
    assert details["Schedule"] == "0 3 * * *"
    assert details["Time zone"] == "Europe/Riga"
    assert "Period" not in details


def test_it_delivers_both_directions() -> None:
    assert registry.get("pagerduty").directions(config()) == (True, True)


async def test_it_treats_server_error_as_transient(
    pd: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v2/enqueue").respond_with_data("oops", status=500)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), pd)

    assert not info.value.permanent
    assert info.value.message == "Received status code 500"


async def test_it_requires_pagerduty_enabled(pd: DeliveryContext, httpserver: HTTPServer) -> None:
    disabled = DeliveryContext(settings=replace(pd.settings, pagerduty_enabled=False), http=pd.http)

    with pytest.raises(TransportError) as info:
        await delivery.send(make_event(), "pagerduty", msgspec.to_builtins(config()), disabled)

    assert info.value.permanent
    assert info.value.message == "PagerDuty notifications are not enabled."
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({}, "service_key"),
        ({"service_key": ""}, "service_key"),
        ({"service_key": "has space"}, "service_key"),
        ({"service_key": 42}, "service_key"),
        ({"service_key": ROUTING_KEY, "account": 1}, "account"),
        ({"service_key": ROUTING_KEY, "severity": "info"}, "severity"),
    ],
)
def test_it_rejects_invalid_config_naming_the_field(value: dict[str, object], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        registry.parse_config("pagerduty", value)
