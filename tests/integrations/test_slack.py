"""Slack: a Block Kit message POSTed to an incoming webhook (pytest-httpserver on localhost)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.slack.transport import INTEGRATION, Config, directions, notify
from tests.integrations.conftest import make_event

HOOK = "/services/T000/B000/XXXX"
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


async def test_it_posts_a_block_kit_message_for_a_down_event(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")

    await notify(make_event("down", "fail"), config(httpserver.url_for(HOOK)), ctx)

    assert sent_json(httpserver) == {
        "text": '"DB Backup" is DOWN',
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": ':red_circle: "DB Backup" is DOWN',
                    "emoji": True,
                },
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "It received a failure ping.\n"
                    "<!date^1768480205^{date_short_pretty} at {time_secs}"
                    "|2026-01-15 12:30:05 UTC>",
                },
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Description*\nNightly pg_dump"},
                    {"type": "mrkdwn", "text": "*Project*\nAcme"},
                    {"type": "mrkdwn", "text": "*Tags*\n`prod` `db`"},
                    {"type": "mrkdwn", "text": "*Period*\n1 day"},
                    {"type": "mrkdwn", "text": "*Grace time*\n1 hour"},
                    {"type": "mrkdwn", "text": "*Total pings*\n42"},
                    {
                        "type": "mrkdwn",
                        "text": "*Last ping*\nfail #42 at 2026-01-15 12:30:05 UTC, exit status 1"
                        " from 203.0.113.9 (https POST)",
                    },
                ],
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Last ping body*\n```exit 1: disk full```"},
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "View details"},
                        "url": DETAILS,
                    }
                ],
            },
        ],
    }


async def test_it_says_up_in_green(httpserver: HTTPServer, ctx: DeliveryContext) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")

    await notify(make_event("up", ""), config(httpserver.url_for(HOOK)), ctx)

    message = sent_json(httpserver)
    assert message["text"] == '"DB Backup" is UP'
    assert message["blocks"][0]["text"]["text"] == ':large_green_circle: "DB Backup" is UP'
    assert message["blocks"][1]["text"]["text"].startswith("It received a success ping.\n")


async def test_it_marks_a_nag_as_a_repeat_notification(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")

    await notify(make_event("down", "nag"), config(httpserver.url_for(HOOK)), ctx)

    message = sent_json(httpserver)
    assert message["text"] == '"DB Backup" is DOWN (repeat notification)'
    assert message["blocks"][0]["text"]["text"].endswith("is DOWN (repeat notification)")
    assert message["blocks"][1]["text"]["text"].startswith("It is still down.\n")


async def test_it_shows_schedule_and_time_zone_for_a_cron_check(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")
    event = make_event(kind="cron", schedule="0 3 * * *", tz="Europe/Riga")

    await notify(event, config(httpserver.url_for(HOOK)), ctx)

    fields = [f["text"] for f in sent_json(httpserver)["blocks"][2]["fields"]]
    assert "*Schedule*\n`0 3 * * *`" in fields
    assert "*Time zone*\nEurope/Riga" in fields
    assert not any(text.startswith("*Period*") for text in fields)


async def test_it_escapes_slack_markup_in_names_and_bodies(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")
    event = make_event(name="<!channel> & co", project_name="<b>")
    body = "```\n<@U123> 1 > 0\n" + "x" * 2000
    event = replace(event, last_ping=replace(event.last_ping, body=body))

    await notify(event, config(httpserver.url_for(HOOK)), ctx)

    message = sent_json(httpserver)
    assert message["text"] == '"&lt;!channel&gt; &amp; co" is DOWN'
    # Header text is plain_text: Slack shows it as is.
    assert message["blocks"][0]["text"]["text"] == ':red_circle: "<!channel> & co" is DOWN'
    assert "*Project*\n&lt;b&gt;" in [f["text"] for f in message["blocks"][2]["fields"]]
    shown = message["blocks"][3]["text"]["text"]
    assert shown.startswith("*Last ping body*\n````\u200b``\n&lt;@U123&gt; 1 &gt; 0\nxxx")
    assert shown.count("x") == 1000 - len("```\n<@U123> 1 > 0\n")


async def test_it_leaves_out_the_body_block_without_a_last_ping(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")

    await notify(replace(make_event(), last_ping=None), config(httpserver.url_for(HOOK)), ctx)

    blocks = sent_json(httpserver)["blocks"]
    assert [block["type"] for block in blocks] == ["header", "section", "section", "actions"]
    assert blocks[2]["fields"][-1]["text"] == "*Last ping*\nnever"


async def test_it_cuts_a_long_headline_to_slacks_header_limit(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok")

    await notify(make_event(name="n" * 200), config(httpserver.url_for(HOOK)), ctx)

    header = sent_json(httpserver)["blocks"][0]["text"]["text"]
    assert len(header) == 150
    assert header.endswith("n…")


@pytest.mark.parametrize(("status", "body"), [(404, "no_service"), (410, "channel_is_archived")])
async def test_a_gone_webhook_is_a_permanent_error(
    httpserver: HTTPServer, ctx: DeliveryContext, status: int, body: str
) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_data(body, status=status)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(httpserver.url_for(HOOK)), ctx)

    assert info.value.message == f"Received status code {status}"
    assert info.value.permanent is True


async def test_an_invalid_token_is_a_permanent_error(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_data("invalid_token", status=400)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(httpserver.url_for(HOOK)), ctx)

    assert info.value.message == "Received status code 400"
    assert info.value.permanent is True


@pytest.mark.parametrize(("status", "body"), [(400, "invalid_payload"), (500, ""), (429, "")])
async def test_other_errors_may_be_retried(
    httpserver: HTTPServer, ctx: DeliveryContext, status: int, body: str
) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_data(body, status=status)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(httpserver.url_for(HOOK)), ctx)

    assert info.value.message == f"Received status code {status}"
    assert info.value.permanent is False


def test_it_delivers_both_directions() -> None:
    assert directions(config("https://hooks.slack.com/services/T/B/X")) == (True, True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": "hooks.slack.com/services/T/B/X"}, "url"),
        ({"url": "ftp://hooks.slack.com/services/T/B/X"}, "url"),
        ({"url": "https:///services/T/B/X"}, "url"),
        ({"url": "https://hooks.slack.com/a b"}, "url"),
        ({"url": "https://hooks.slack.com/" + "a" * 1000}, "url"),
        ({"url": 42}, "url"),
        ({"url": "https://hooks.slack.com/", "channel": "#ops"}, "channel"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert(fields, Config, strict=True)


def test_it_is_registered() -> None:
    assert registry.get("slack") is INTEGRATION
    url = "https://hooks.slack.com/services/T/B/X"
    assert registry.parse_config("slack", {"url": url}) == Config(url=url)
