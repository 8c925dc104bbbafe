"""Discord: an embed POSTed to a channel webhook (pytest-httpserver on localhost)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.discord.transport import (
    INTEGRATION,
    Config,
    directions,
    notify,
    webhook_url,
)
from tests.integrations.conftest import make_event

HOOK = "/api/webhooks/123456/tok3n"
DETAILS = "http://cronbeat.test/checks/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/"


def config(url: str) -> Config:
    return msgspec.convert({"url": url}, Config, strict=True)


def sent_json(httpserver: HTTPServer) -> Any:
    httpserver.check_assertions()
    [(request, _response)] = httpserver.log
    assert request.method == "POST"
    assert request.path == HOOK
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "Cronbeat"
    return json.loads(request.get_data())


async def test_it_posts_an_embed_for_a_down_event(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=204)

    await notify(make_event("down", "fail"), config(httpserver.url_for(HOOK)), ctx)

    assert sent_json(httpserver) == {
        "content": '"DB Backup" is DOWN',
        "embeds": [
            {
                "title": '"DB Backup" is DOWN',
                "url": DETAILS,
                "description": f"It received a failure ping.\n[View details]({DETAILS})",
                "color": 0xE74C3C,
                "fields": [
                    {"name": "Description", "value": "Nightly pg_dump", "inline": False},
                    {"name": "Project", "value": "Acme", "inline": True},
                    {"name": "Tags", "value": "`prod` `db`", "inline": True},
                    {"name": "Period", "value": "1 day", "inline": True},
                    {"name": "Grace time", "value": "1 hour", "inline": True},
                    {"name": "Total pings", "value": "42", "inline": True},
                    {
                        "name": "Last ping",
                        "value": "fail #42 at 2026-01-15 12:30:05 UTC, exit status 1"
                        " from 203.0.113.9 (https POST)",
                        "inline": False,
                    },
                    {
                        "name": "Last ping body",
                        "value": "```\nexit 1: disk full\n```",
                        "inline": False,
                    },
                ],
                "timestamp": "2026-01-15T12:30:05+00:00",
                "footer": {"text": "Cronbeat"},
            }
        ],
        "allowed_mentions": {"parse": []},
    }


async def test_it_says_up_in_green(httpserver: HTTPServer, ctx: DeliveryContext) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=204)

    await notify(make_event("up", ""), config(httpserver.url_for(HOOK)), ctx)

    message = sent_json(httpserver)
    assert message["content"] == '"DB Backup" is UP'
    [embed] = message["embeds"]
    assert embed["color"] == 0x2ECC71
    assert embed["description"].startswith("It received a success ping.\n")


async def test_it_marks_a_nag_as_a_repeat_notification(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=204)

    await notify(make_event("down", "nag"), config(httpserver.url_for(HOOK)), ctx)

    [embed] = sent_json(httpserver)["embeds"]
    assert embed["title"] == '"DB Backup" is DOWN (repeat notification)'
    assert embed["description"].startswith("It is still down.\n")


async def test_it_keeps_the_thread_id_query(httpserver: HTTPServer, ctx: DeliveryContext) -> None:
    httpserver.expect_oneshot_request(
        HOOK, method="POST", query_string="thread_id=987"
    ).respond_with_data("", status=204)

    await notify(make_event(), config(httpserver.url_for(HOOK) + "?thread_id=987"), ctx)

    sent_json(httpserver)


async def test_it_shows_schedule_and_time_zone_for_a_cron_check(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=204)
    event = make_event(kind="cron", schedule="0 3 * * *", tz="Europe/Riga")

    await notify(event, config(httpserver.url_for(HOOK)), ctx)

    [embed] = sent_json(httpserver)["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert (fields["Schedule"], fields["Time zone"]) == ("`0 3 * * *`", "Europe/Riga")
    assert "Period" not in fields


async def test_it_keeps_within_discords_limits(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=204)
    event = make_event(name="n" * 300, desc="d" * 2000)
    event = replace(event, last_ping=replace(event.last_ping, body="```" + "x" * 2000))

    await notify(event, config(httpserver.url_for(HOOK)), ctx)

    [embed] = sent_json(httpserver)["embeds"]
    assert len(embed["title"]) == 256
    assert embed["title"].endswith("n…")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert len(fields["Description"]) == 1024
    assert fields["Last ping body"] == "```\n`\u200b``" + "x" * 997 + "\n```"


async def test_it_says_never_without_a_last_ping(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=204)

    await notify(replace(make_event(), last_ping=None), config(httpserver.url_for(HOOK)), ctx)

    [embed] = sent_json(httpserver)["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Last ping"] == "never"
    assert "Last ping body" not in fields


def test_it_moves_discordapp_urls_to_discord_com() -> None:
    assert (
        webhook_url("https://discordapp.com/api/webhooks/1/t?wait=true")
        == "https://discord.com/api/webhooks/1/t?wait=true"
    )
    assert (
        webhook_url("https://canary.discordapp.com/api/webhooks/1/t")
        == "https://canary.discord.com/api/webhooks/1/t"
    )
    assert webhook_url("https://discord.com/api/webhooks/1/t") == (
        "https://discord.com/api/webhooks/1/t"
    )
    assert webhook_url("https://notdiscordapp.com/api/webhooks/1/t") == (
        "https://notdiscordapp.com/api/webhooks/1/t"
    )


async def test_a_deleted_webhook_is_a_permanent_error(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_json(
        {"message": "Unknown Webhook", "code": 10015}, status=404
    )

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(httpserver.url_for(HOOK)), ctx)

    assert info.value.message == "Received status code 404"
    assert info.value.permanent is True


@pytest.mark.parametrize("status", [400, 429, 500])
async def test_other_errors_may_be_retried(
    httpserver: HTTPServer, ctx: DeliveryContext, status: int
) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_data("nope", status=status)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(httpserver.url_for(HOOK)), ctx)

    assert info.value.message == f"Received status code {status}"
    assert info.value.permanent is False


def test_it_delivers_both_directions() -> None:
    assert directions(config("https://discord.com/api/webhooks/1/t")) == (True, True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": "discord.com/api/webhooks/1/t"}, "url"),
        ({"url": "wss://discord.com/api/webhooks/1/t"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://discord.com/api/webhooks/1/t t"}, "url"),
        ({"url": "https://discord.com/" + "a" * 1000}, "url"),
        ({"url": ["https://discord.com/"]}, "url"),
        ({"webhook": {"url": "https://discord.com/api/webhooks/1/t"}}, "webhook"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert(fields, Config, strict=True)


def test_it_is_registered() -> None:
    assert registry.get("discord") is INTEGRATION
    url = "https://discord.com/api/webhooks/1/t"
    assert registry.parse_config("discord", {"url": url}) == Config(url=url)
