"""Webhook: templated requests against a real HTTP server (pytest-httpserver on localhost)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import msgspec
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request

from app.domain import delivery
from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.webhook.transport import INTEGRATION, Config, directions, expand, notify
from tests.integrations.conftest import CHECK_CODE, make_event


def config(**fields: Any) -> Config:
    return msgspec.convert(fields, Config, strict=True)


def only_request(httpserver: HTTPServer) -> Request:
    httpserver.check_assertions()
    [(request, _response)] = httpserver.log
    return request


def raw_query(request: Request) -> str:
    return request.query_string.decode("ascii")


async def test_it_sends_a_get_to_the_down_url_with_placeholders_filled_in(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(f"/hooks/{CHECK_CODE}/down", method="GET").respond_with_data(
        "OK"
    )
    url = httpserver.url_for("/hooks/$CODE/$STATUS")
    query = "slug=$SLUG&name=$NAME&tags=$TAGS&now=$NOW&exit=$EXITSTATUS"

    await notify(make_event("down", "fail"), config(url_down=f"{url}?{query}"), ctx)

    request = only_request(httpserver)
    assert raw_query(request) == (
        "slug=db-backup&name=DB%20Backup&tags=prod%20db"
        "&now=2026-01-15T12%3A30%3A05%2B00%3A00&exit=1"
    )
    assert request.get_data() == b""
    assert request.headers["User-Agent"] == "Cronbeat"


async def test_it_uses_the_up_spec_for_an_up_event(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(
        "/up",
        method="PUT",
        query_string="status=up",
        headers={"Content-Type": "text/plain", "X-Check": "DB Backup is up"},
        data="DB Backup recovered",
    ).respond_with_data("", status=204)
    cfg = config(
        url_down=httpserver.url_for("/down"),
        method_up="PUT",
        url_up=httpserver.url_for("/up") + "?status=$STATUS",
        body_up="$NAME recovered",
        headers_up={"Content-Type": "text/plain", "X-Check": "$NAME is $STATUS"},
    )

    await notify(make_event("up", ""), cfg, ctx)

    only_request(httpserver)


async def test_it_posts_a_templated_json_body(httpserver: HTTPServer, ctx: DeliveryContext) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("OK")
    body = (
        '{"name": $NAME_JSON, "status": "$STATUS", "code": "$CODE", "now": "$NOW", '
        '"tags": "$TAGS", "exit": $EXITSTATUS, "body": $BODY_JSON, "check": $JSON}'
    )
    cfg = config(method_down="POST", url_down=httpserver.url_for("/hook"), body_down=body)

    await notify(make_event("down", "fail", name='Say "hi"'), cfg, ctx)

    assert json.loads(only_request(httpserver).get_data()) == {
        "name": 'Say "hi"',
        "status": "down",
        "code": str(CHECK_CODE),
        "now": "2026-01-15T12:30:05+00:00",
        "tags": "prod db",
        "exit": 1,
        "body": "exit 1: disk full",
        "check": {"name": "DB Backup", "status": "down"},
    }


async def test_it_puts_the_raw_ping_body_in_the_request_body(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(
        "/hook", method="POST", data="Last output:\nexit 1: disk full"
    ).respond_with_data("OK")
    cfg = config(
        method_down="POST", url_down=httpserver.url_for("/hook"), body_down="Last output:\n$BODY"
    )

    await notify(make_event(), cfg, ctx)

    only_request(httpserver)


async def test_it_drops_microseconds_from_now(httpserver: HTTPServer, ctx: DeliveryContext) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("OK")
    event = make_event()
    event = replace(event, created=event.created.replace(microsecond=123456))
    cfg = config(method_down="POST", url_down=httpserver.url_for("/hook"), body_down="$NOW")

    await notify(event, cfg, ctx)

    assert only_request(httpserver).get_data() == b"2026-01-15T12:30:05+00:00"


async def test_it_percent_encodes_free_text_values_in_the_url(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request("/hook", method="GET").respond_with_data("OK")
    url = httpserver.url_for("/hook") + "?name=$NAME&json=$NAME_JSON&tag=$TAG1&slug=$SLUG"
    event = make_event(name="Backup & Sync ✓ 50%/day?", tags="naïve a+b", slug="backup-sync")

    await notify(event, config(url_down=url), ctx)

    request = only_request(httpserver)
    assert raw_query(request) == (
        "name=Backup%20%26%20Sync%20%E2%9C%93%2050%25%2Fday%3F"
        "&json=%22Backup%20%26%20Sync%20%5Cu2713%2050%25%2Fday%3F%22"
        "&tag=na%C3%AFve&slug=backup-sync"
    )
    assert request.args["name"] == "Backup & Sync ✓ 50%/day?"


async def test_it_fills_in_individual_tags_and_leaves_missing_ones(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("OK")
    cfg = config(
        method_down="POST", url_down=httpserver.url_for("/hook"), body_down="$TAG1|$TAG2|$TAG3"
    )

    await notify(make_event(tags="prod  db"), cfg, ctx)

    assert only_request(httpserver).get_data() == b"prod|db|$TAG3"


async def test_it_reads_tag_twelve_as_the_twelfth_tag(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("OK")
    tags = " ".join(f"t{n}" for n in range(1, 13))
    cfg = config(
        method_down="POST", url_down=httpserver.url_for("/hook"), body_down="$TAG1 $TAG12 $TAG10"
    )

    await notify(make_event(tags=tags), cfg, ctx)

    assert only_request(httpserver).get_data() == b"t1 t12 t10"


async def test_it_does_not_expand_placeholders_inside_values(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(
        "/hook", method="POST", headers={"X-Name": "$CODE $STATUS"}
    ).respond_with_data("OK")
    cfg = config(
        method_down="POST",
        url_down=httpserver.url_for("/hook"),
        body_down="$NAME|$BODY|$$CODE",
        headers_down={"X-Name": "$NAME"},
    )
    event = make_event(name="$CODE $STATUS")
    event = replace(event, last_ping=replace(event.last_ping, body="$NAME"))

    await notify(event, cfg, ctx)

    assert only_request(httpserver).get_data() == f"$CODE $STATUS|$NAME|${CHECK_CODE}".encode()


def test_expand_takes_the_first_matching_placeholder_once() -> None:
    values = {"$NAME_JSON": '"x"', "$NAME": "x", "$A": "$B", "$B": "y"}
    assert expand("$NAME_JSON $NAMES $A $B $ $$", values) == '"x" xS $B y $ $$'


async def test_it_expands_body_placeholders_only_in_the_body(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request(
        "/hook", method="POST", headers={"X-Body": "$BODY"}
    ).respond_with_data("OK")
    cfg = config(
        method_down="POST",
        url_down=httpserver.url_for("/hook") + "?b=$BODY_JSON",
        body_down="$BODY",
        headers_down={"X-Body": "$BODY"},
    )

    await notify(make_event(), cfg, ctx)

    request = only_request(httpserver)
    assert raw_query(request) == "b=$BODY_JSON"
    assert request.get_data() == b"exit 1: disk full"


async def test_it_sends_header_values_as_latin1_with_character_references(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request("/hook", method="GET").respond_with_data("OK")
    cfg = config(url_down=httpserver.url_for("/hook"), headers_down={"X-Check": "$NAME"})

    await notify(make_event(name="Café ✓"), cfg, ctx)

    # Werkzeug decodes header bytes as Latin-1, so "é" arriving as one byte reads back as "é".
    assert only_request(httpserver).headers["X-Check"] == "Café &#10003;"


async def test_a_line_break_in_a_header_value_becomes_a_space(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request("/hook", method="GET").respond_with_data("OK")
    cfg = config(url_down=httpserver.url_for("/hook"), headers_down={"X-Check": "$NAME"})

    await notify(make_event(name="nightly\r\nbackup\nprod"), cfg, ctx)

    assert only_request(httpserver).headers["X-Check"] == "nightly backup prod"


async def test_it_lets_the_user_set_the_user_agent(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request("/hook", method="GET").respond_with_data("OK")
    cfg = config(url_down=httpserver.url_for("/hook"), headers_down={"user-agent": "my-agent"})

    await notify(make_event(), cfg, ctx)

    assert only_request(httpserver).headers.getlist("User-Agent") == ["my-agent"]


async def test_it_sends_no_body_with_get(httpserver: HTTPServer, ctx: DeliveryContext) -> None:
    httpserver.expect_oneshot_request("/hook", method="GET").respond_with_data("OK")
    cfg = config(url_down=httpserver.url_for("/hook"), body_down="ignored $NAME")

    await notify(make_event(), cfg, ctx)

    assert only_request(httpserver).get_data() == b""


async def test_it_uses_minus_one_and_empty_body_without_a_last_ping(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("OK")
    cfg = config(
        method_down="POST",
        url_down=httpserver.url_for("/hook") + "?exit=$EXITSTATUS",
        body_down="$EXITSTATUS $BODY_JSON [$BODY]",
    )

    await notify(replace(make_event(), last_ping=None), cfg, ctx)

    request = only_request(httpserver)
    assert raw_query(request) == "exit=-1"
    assert request.get_data() == b'-1 "" []'


async def test_it_reports_an_error_status_as_a_retryable_error(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request("/hook").respond_with_data("boom", status=500)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(url_down=httpserver.url_for("/hook")), ctx)

    assert info.value.message == "Received status code 500"
    assert info.value.permanent is False


async def test_it_refuses_private_addresses(httpserver: HTTPServer, ctx: DeliveryContext) -> None:
    guarded = DeliveryContext(
        settings=replace(ctx.settings, integrations_allow_private_ips=False), http=ctx.http
    )
    url = f"http://127.0.0.1:{httpserver.port}/hook"

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(url_down=url), guarded)

    assert info.value.message == "Connections to private IP addresses are not allowed"
    assert info.value.permanent is True
    assert httpserver.log == []


async def test_it_fails_permanently_when_webhooks_are_disabled(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    disabled = DeliveryContext(
        settings=replace(ctx.settings, webhooks_enabled=False), http=ctx.http
    )

    with pytest.raises(TransportError) as info:
        await delivery.send(
            make_event(),
            "webhook",
            msgspec.to_builtins(config(url_down=httpserver.url_for("/hook"))),
            disabled,
        )

    assert info.value.message == "Webhook notifications are not enabled."
    assert info.value.permanent is True
    assert httpserver.log == []


async def test_it_reports_an_empty_url_for_the_direction(ctx: DeliveryContext) -> None:
    with pytest.raises(TransportError, match=r"^Empty webhook URL$"):
        await notify(make_event("up", ""), config(url_down="https://example.org/"), ctx)


def test_directions_follow_the_configured_urls() -> None:
    assert directions(config(url_down="https://example.org/d")) == (True, False)
    assert directions(config(url_up="https://example.org/u")) == (False, True)
    both = config(url_down="https://example.org/d", url_up="https://example.org/u")
    assert directions(both) == (True, True)


def test_config_defaults_to_get_with_no_body_or_headers() -> None:
    cfg = config(url_down="https://example.org/$CODE")
    assert (cfg.method_down, cfg.body_down, cfg.headers_down) == ("GET", "", {})
    assert (cfg.method_up, cfg.url_up, cfg.body_up, cfg.headers_up) == ("GET", "", "", {})


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "url_down"),
        ({"url_down": "ftp://example.org/"}, "url_down"),
        ({"url_down": "https://"}, "url_down"),
        ({"url_down": "example.org/hook"}, "url_down"),
        ({"url_down": "https://example.org/a b"}, "url_down"),
        ({"url_up": "https://example.org/" + "a" * 1000}, "url_up"),
        ({"url_up": "https://[::1/"}, "url_up"),
        ({"url_down": "https://example.org/", "body_down": "a" * 1001}, "body_down"),
        ({"url_down": "https://example.org/", "body_up": "a" * 1001}, "body_up"),
        ({"url_down": "https://example.org/", "method_down": "DELETE"}, "method_down"),
        ({"url_down": "https://example.org/", "method_up": "get"}, "method_up"),
        ({"url_down": "https://example.org/", "headers_down": {"Bad Name": "x"}}, "headers_down"),
        ({"url_down": "https://example.org/", "headers_up": {"X-A": "1\r\nX-B: 2"}}, "headers_up"),
        ({"url_down": "https://example.org/", "headers_up": {"X-A": 1}}, "headers_up"),
        ({"url_down": "https://example.org/", "surprise": 1}, "surprise"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        config(**fields)


def test_config_accepts_the_limits() -> None:
    url = "https://example.org/" + "a" * 980
    cfg = config(method_up="POST", url_up=url, body_up="b" * 1000)
    assert len(cfg.url_up) == 1000


def test_it_is_registered() -> None:
    assert registry.get("webhook") is INTEGRATION
    parsed = registry.parse_config("webhook", {"url_up": "https://example.org/"})
    assert parsed == Config(url_up="https://example.org/")
