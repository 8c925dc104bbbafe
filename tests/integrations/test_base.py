"""The shared pieces in app.integrations.base: errors that carry the response, URL checks."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from app.integrations.base import DeliveryContext, TransportError, check_http_url
from tests.integrations.servers import CountingServer


async def test_an_error_status_carries_the_response_with_its_body(
    httpserver: HTTPServer, ctx: DeliveryContext
) -> None:
    httpserver.expect_oneshot_request("/hook").respond_with_json({"why": "gone"}, status=410)

    with pytest.raises(TransportError) as info:
        await ctx.post(httpserver.url_for("/hook"), json_body={"a": 1})

    assert info.value.message == "Received status code 410"
    assert info.value.permanent is False
    assert info.value.response is not None
    assert info.value.response.status_code == 410
    assert info.value.response.json() == {"why": "gone"}


async def test_a_connection_error_has_no_response(ctx: DeliveryContext) -> None:
    with pytest.raises(TransportError) as info:
        await ctx.post("http://127.0.0.1:1/hook")

    assert info.value.message == "Connection failed"
    assert info.value.response is None


async def test_header_values_may_be_bytes(httpserver: HTTPServer, ctx: DeliveryContext) -> None:
    httpserver.expect_oneshot_request("/hook").respond_with_data("ok")

    await ctx.request("GET", httpserver.url_for("/hook"), headers={"X-A": b"\xe9", "X-B": "b"})

    [(request, _response)] = httpserver.log
    assert request.headers["X-A"] == "é"  # Werkzeug reads header bytes as Latin-1
    assert request.headers["X-B"] == "b"
    assert request.headers["User-Agent"] == "Cronbeat"


@pytest.mark.parametrize(
    "url", ["https://example.org/", "http://example.org:8080/a?b=c", "https://[::1]/"]
)
def test_check_http_url_accepts_http_urls_with_a_host(url: str) -> None:
    check_http_url("url", url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "must be an http:// or https:// URL with a host"),
        ("example.org/hook", "must be an http:// or https:// URL with a host"),
        ("ftp://example.org/", "must be an http:// or https:// URL with a host"),
        ("https:///path", "must be an http:// or https:// URL with a host"),
        ("https://example.org/a b", "must be an http:// or https:// URL with a host"),
        ("https://example.org/\x00", "must be an http:// or https:// URL with a host"),
        ("https://[::1/", "must be an http:// or https:// URL with a host"),
        ("https://example.org/" + "a" * 981, "at most 1000 characters"),
    ],
)
def test_check_http_url_names_the_field(url: str, message: str) -> None:
    with pytest.raises(msgspec.ValidationError) as info:
        check_http_url("url_down", url)

    assert str(info.value) == f"url_down: {message}"


def test_check_http_url_takes_a_length_limit() -> None:
    check_http_url("url", "https://example.org/" + "a" * 80, max_length=100)
    with pytest.raises(msgspec.ValidationError, match=r"^url: at most 100 characters$"):
        check_http_url("url", "https://example.org/" + "a" * 81, max_length=100)


@pytest.mark.parametrize("limit", [1, 3])
async def test_calls_to_one_host_are_limited_and_other_hosts_are_not_held_up(
    ctx: DeliveryContext, limit: int
) -> None:
    ctx = DeliveryContext(replace(ctx.settings, delivery_calls_per_host=limit), ctx.http)
    slow, other = CountingServer(), CountingServer()
    await slow.start()
    await other.start()
    slow.hold.clear()
    try:
        burst = [asyncio.create_task(ctx.post(slow.url, content=b"x")) for _ in range(30)]
        await slow.until(lambda: slow.waiting == limit)
        # The slow host holds every slot it has; another host still answers at once.
        response = await asyncio.wait_for(ctx.post(other.url, content=b"y"), timeout=5)
        assert response.status_code == 200
        slow.hold.set()
        assert all(r.status_code == 200 for r in await asyncio.gather(*burst))
    finally:
        slow.stop()
        other.stop()
    assert slow.most_waiting == limit
