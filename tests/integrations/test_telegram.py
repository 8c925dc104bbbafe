"""Telegram: Bot API sendMessage with an HTML body."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from app.domain import delivery
from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.telegram.transport import Config, notify
from tests.integrations.conftest import make_event

TOKEN = "123456:ABC-secret"
PATH = f"/bot{TOKEN}/sendMessage"

DOWN_TEXT = "\n".join(
    [
        '<b>"DB Backup" is DOWN</b>',
        "Its expected ping did not arrive in time.",
        "Time: 2026-01-15 12:30:05 UTC",
        "Project: Acme",
        "Tags: prod db",
        "Period: 1 day, grace: 1 hour",
        "Total pings: 42",
        "Last ping: success #42 at 2026-01-15 12:30:05 UTC, exit status 0"
        " from 203.0.113.9 (https POST)",
        "Last ping body: exit 1: disk full",
        "Details: http://cronbeat.test/checks/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/",
    ]
)


@pytest.fixture
def tg(ctx: DeliveryContext, httpserver: HTTPServer) -> DeliveryContext:
    settings = replace(
        ctx.settings, telegram_token=TOKEN, telegram_api_url=httpserver.url_for("").rstrip("/")
    )
    return DeliveryContext(settings=settings, http=ctx.http)


def config(**value: object) -> Config:
    return msgspec.convert({"chat_id": -100123, **value}, Config, strict=True)


async def test_it_sends_down_message(tg: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        PATH,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "Cronbeat"},
        json={
            "chat_id": -100123,
            "text": DOWN_TEXT,
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        },
    ).respond_with_json({"ok": True, "result": {}})

    await notify(make_event(), config(), tg)

    httpserver.check_assertions()
    assert len(httpserver.log) == 1


async def test_it_sends_up_message(tg: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json({"ok": True})

    await notify(make_event("up", ""), config(), tg)

    text = httpserver.log[0][0].get_json()["text"]
    assert text.startswith('<b>"DB Backup" is UP</b>\nIt received a success ping.\n')


async def test_it_posts_into_a_forum_topic(tg: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json({"ok": True})

    await notify(make_event(), config(chat_id="@cronbeat_alerts", thread_id=7), tg)

    body = httpserver.log[0][0].get_json()
    assert body["chat_id"] == "@cronbeat_alerts"
    assert body["message_thread_id"] == 7


async def test_it_marks_repeat_notifications(tg: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json({"ok": True})

    await notify(make_event("down", "nag"), config(), tg)

    text = httpserver.log[0][0].get_json()["text"]
    assert text.startswith('<b>"DB Backup" is DOWN (repeat notification)</b>\nIt is still down.')


async def test_it_escapes_html(tg: DeliveryContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json({"ok": True})

    await notify(make_event(name="<b>a & b</b>"), config(), tg)

    text = httpserver.log[0][0].get_json()["text"]
    assert text.startswith('<b>"&lt;b&gt;a &amp; b&lt;/b&gt;" is DOWN</b>\n')


def test_it_delivers_both_directions() -> None:
    assert registry.get("telegram").directions(config()) == (True, True)


async def test_it_reports_blocked_bot_as_permanent(
    tg: DeliveryContext, httpserver: HTTPServer
) -> None:
    description = "Forbidden: bot was blocked by the user"
    httpserver.expect_request(PATH).respond_with_json(
        {"ok": False, "error_code": 403, "description": description}, status=403
    )

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), tg)

    assert info.value.permanent
    assert info.value.message == f'Received status code 403 with a message: "{description}"'


async def test_it_reports_missing_chat_as_permanent(
    tg: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, status=400
    )

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), tg)

    assert info.value.permanent
    assert info.value.message == (
        'Received status code 400 with a message: "Bad Request: chat not found"'
    )


async def test_it_treats_rate_limit_as_transient(
    tg: DeliveryContext, httpserver: HTTPServer
) -> None:
    description = "Too Many Requests: retry after 5"
    httpserver.expect_request(PATH).respond_with_json(
        {"ok": False, "error_code": 429, "description": description}, status=429
    )

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), tg)

    assert not info.value.permanent
    assert info.value.message == f'Received status code 429 with a message: "{description}"'


async def test_it_treats_server_error_as_transient(
    tg: DeliveryContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(PATH).respond_with_data("oops", status=500)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), tg)

    assert not info.value.permanent
    assert info.value.message == "Received status code 500"


async def test_it_refuses_private_addresses(tg: DeliveryContext, httpserver: HTTPServer) -> None:
    guarded = DeliveryContext(
        settings=replace(tg.settings, integrations_allow_private_ips=False), http=tg.http
    )

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), guarded)

    assert info.value.permanent
    assert info.value.message == "Connections to private IP addresses are not allowed"
    assert httpserver.log == []


async def test_it_requires_a_bot_token(ctx: DeliveryContext, httpserver: HTTPServer) -> None:
    with pytest.raises(TransportError) as info:
        await delivery.send(make_event(), "telegram", msgspec.to_builtins(config()), ctx)

    assert info.value.permanent
    assert info.value.message == "Telegram notifications are not enabled (no TELEGRAM_TOKEN)."
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"chat_id": "general"}, "chat_id"),
        ({"chat_id": 0}, "chat_id"),
        ({"chat_id": True}, "chat_id"),
        ({"chat_id": 5, "thread_id": 0}, "thread_id"),
        ({"chat_id": 5, "thread_id": "7"}, "thread_id"),
        ({}, "chat_id"),
        ({"chat_id": 5, "chat": 5}, "chat"),
    ],
)
def test_it_rejects_invalid_config_naming_the_field(value: dict[str, object], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        registry.parse_config("telegram", value)
