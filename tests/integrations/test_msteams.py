"""Microsoft Teams: an Adaptive Card POSTed to a workflow webhook (pytest-httpserver)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.msteams.transport import INTEGRATION, Config, directions, notify
from tests.integrations.conftest import make_event

HOOK = "/workflows/abc/triggers/manual/paths/invoke"
QUERY = "api-version=2016-06-01&sig=s1g"
DETAILS = "http://cronbeat.test/checks/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/"


def config(url: str) -> Config:
    return msgspec.convert({"url": url}, Config, strict=True)


def hook_url(httpserver: HTTPServer) -> str:
    return f"{httpserver.url_for(HOOK)}?{QUERY}"


def sent_card(httpserver: HTTPServer) -> Any:
    """The card's content, after checking the request and the message envelope around it."""
    httpserver.check_assertions()
    [(request, _response)] = httpserver.log
    assert request.method == "POST"
    assert request.path == HOOK
    assert request.query_string.decode() == QUERY
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "Cronbeat"
    message = json.loads(request.get_data())
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.2")
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "View Details", "url": DETAILS}]
    return card


def facts(card: Any) -> dict[str, str]:
    [fact_set] = [block for block in card["body"] if block["type"] == "FactSet"]
    return {fact["title"]: fact["value"] for fact in fact_set["facts"]}


async def test_it_posts_an_adaptive_card_for_a_down_event(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=202)

    await notify(make_event("down", "fail"), config(hook_url(httpserver)), ctx)

    assert sent_card(httpserver)["body"] == [
        {
            "type": "TextBlock",
            "text": '"DB Backup" is DOWN',
            "weight": "Bolder",
            "size": "Medium",
            "color": "Attention",
            "wrap": True,
        },
        {"type": "TextBlock", "text": "It received a failure ping.", "wrap": True},
        {"type": "TextBlock", "text": "Nightly pg\u034f_dump", "wrap": True},
        {
            "type": "FactSet",
            "facts": [
                {"title": "Time", "value": "2026-01-15 12:30:05 UTC"},
                {"title": "Project", "value": "Acme"},
                {"title": "Tags", "value": "prod db"},
                {"title": "Period", "value": "1 day"},
                {"title": "Grace time", "value": "1 hour"},
                {"title": "Total pings", "value": "42"},
                {
                    "title": "Last ping",
                    "value": "fail #42 at 2026-01-15 12:30:05 UTC, exit status 1"
                    " from 203.0.113.9 (https POST)",
                },
            ],
        },
        {"type": "TextBlock", "text": "Last ping body", "weight": "Bolder"},
        {
            "type": "TextBlock",
            "text": "exit 1: disk full",
            "fontType": "Monospace",
            "wrap": True,
        },
    ]


async def test_it_says_up_in_green(httpserver: HTTPServer, ctx: DeliveryContext) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=202)

    await notify(make_event("up", ""), config(hook_url(httpserver)), ctx)

    headline, cause = sent_card(httpserver)["body"][:2]
    assert (headline["text"], headline["color"]) == ('"DB Backup" is UP', "Good")
    assert cause["text"] == "It received a success ping."


async def test_it_marks_a_nag_as_a_repeat_notification(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=202)

    await notify(make_event("down", "nag"), config(hook_url(httpserver)), ctx)

    headline, cause = sent_card(httpserver)["body"][:2]
    assert headline["text"] == '"DB Backup" is DOWN (repeat notification)'
    assert cause["text"] == "It is still down."


async def test_it_defuses_markdown_in_names(httpserver: HTTPServer, ctx: DeliveryContext) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=202)

    await notify(make_event(name="**db**_x", tags="a*b"), config(hook_url(httpserver)), ctx)

    card = sent_card(httpserver)
    assert card["body"][0]["text"] == '"\u034f*\u034f*db\u034f*\u034f*\u034f_x" is DOWN'
    assert facts(card)["Tags"] == "a\u034f*b"


async def test_it_shows_schedule_and_time_zone_for_a_cron_check(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=202)
    event = make_event(kind="cron", schedule="0 3 * * 1", tz="Europe/Riga", desc="")

    await notify(event, config(hook_url(httpserver)), ctx)

    card = sent_card(httpserver)
    shown = facts(card)
    assert (shown["Schedule"], shown["Time zone"]) == ("0 3 \u034f* \u034f* 1", "Europe/Riga")
    assert "Period" not in shown
    assert [block["type"] for block in card["body"]][:3] == ["TextBlock", "TextBlock", "FactSet"]


async def test_it_says_never_without_a_last_ping(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=202)

    await notify(replace(make_event(), last_ping=None), config(hook_url(httpserver)), ctx)

    card = sent_card(httpserver)
    assert facts(card)["Last ping"] == "never"
    assert card["body"][-1]["type"] == "FactSet"


async def test_it_sends_at_most_1000_characters_of_the_body(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("", status=202)
    event = make_event()
    event = replace(event, last_ping=replace(event.last_ping, body="x" * 5000))

    await notify(event, config(hook_url(httpserver)), ctx)

    assert sent_card(httpserver)["body"][-1]["text"] == "x" * 1000


@pytest.mark.parametrize("status", [400, 404, 500])
async def test_an_error_status_may_be_retried(
    httpserver: HTTPServer, ctx: DeliveryContext, status: int
) -> None:
    httpserver.expect_oneshot_request(HOOK).respond_with_data("nope", status=status)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(hook_url(httpserver)), ctx)

    assert info.value.message == f"Received status code {status}"
    assert info.value.permanent is False


def test_it_delivers_both_directions() -> None:
    assert directions(config("https://example.webhook.office.com/x")) == (True, True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": "prod-01.westus.logic.azure.com/workflows/abc"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://example.org/\tx"}, "url"),
        ({"url": "https://example.org/" + "a" * 1000}, "url"),
        ({"url": True}, "url"),
        ({"url": "https://example.org/", "summary": "x"}, "summary"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert(fields, Config, strict=True)


def test_it_is_registered() -> None:
    assert registry.get("msteams") is INTEGRATION
    url = "https://example.webhook.office.com/x"
    assert registry.parse_config("msteams", {"url": url}) == Config(url=url)
