"""ConnectionLanes: one connection per call in flight, kept alive between calls, bounded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from app.integrations.base import new_http_client
from app.integrations.lanes import ConnectionLanes
from tests.integrations.servers import CountingServer


@pytest.fixture
async def server() -> AsyncIterator[CountingServer]:
    server = CountingServer()
    await server.start()
    yield server
    server.stop()


async def overlapping_calls(client: httpx.AsyncClient, server: CountingServer, n: int) -> None:
    """``n`` calls in flight at once (the server holds them until all have arrived)."""
    server.hold.clear()
    calls = [asyncio.create_task(client.post(server.url, content=b"x")) for _ in range(n)]
    await server.until(lambda: server.waiting == n)
    server.hold.set()
    assert [r.status_code for r in await asyncio.gather(*calls)] == [200] * n


async def test_calls_one_after_another_share_one_connection(server: CountingServer) -> None:
    lanes = ConnectionLanes(max_idle=8)
    async with httpx.AsyncClient(transport=lanes) as client:
        for _ in range(5):
            assert (await client.post(server.url, content=b"x")).text == "ok"
        assert (server.accepted, lanes.idle) == (1, 1)


async def test_each_call_in_flight_has_its_own_connection_and_keeps_it(
    server: CountingServer,
) -> None:
    lanes = ConnectionLanes(max_idle=8)
    async with httpx.AsyncClient(transport=lanes) as client:
        await overlapping_calls(client, server, 4)
        assert (server.accepted, lanes.idle) == (4, 4)
        await overlapping_calls(client, server, 4)  # the same four connections again
        assert (server.accepted, server.closed, lanes.idle) == (4, 0, 4)


async def test_idle_connections_beyond_the_limit_are_closed(server: CountingServer) -> None:
    lanes = ConnectionLanes(max_idle=2)
    async with httpx.AsyncClient(transport=lanes) as client:
        await overlapping_calls(client, server, 4)
        assert lanes.idle == 2
        await server.until(lambda: server.closed == 2)


async def test_the_least_recently_used_origin_gives_up_its_connection_first() -> None:
    first, second = CountingServer(), CountingServer()
    await first.start()
    await second.start()
    lanes = ConnectionLanes(max_idle=1)
    try:
        async with httpx.AsyncClient(transport=lanes) as client:
            await client.post(first.url, content=b"x")
            await client.post(second.url, content=b"x")
            await first.until(lambda: first.closed == 1)
            assert (second.closed, lanes.idle) == (0, 1)
            await client.post(second.url, content=b"x")
            assert second.accepted == 1
    finally:
        first.stop()
        second.stop()


async def test_a_failed_call_gives_its_lane_back() -> None:
    lanes = ConnectionLanes(max_idle=8)
    async with httpx.AsyncClient(transport=lanes) as client:
        for _ in range(3):
            with pytest.raises(httpx.ConnectError):
                await client.post("http://127.0.0.1:1/hook", content=b"x")
        assert lanes.idle == 1


async def test_a_response_cut_short_gives_its_lane_back(server: CountingServer) -> None:
    async def cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
        await writer.drain()
        writer.close()

    broken = await asyncio.start_server(cut_short, "127.0.0.1", 0)
    port = broken.sockets[0].getsockname()[1]
    lanes = ConnectionLanes(max_idle=8)
    try:
        async with httpx.AsyncClient(transport=lanes) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(f"http://127.0.0.1:{port}/")
            assert lanes.idle == 1
            assert (await client.post(server.url, content=b"x")).text == "ok"
    finally:
        broken.close()


async def test_closing_the_client_closes_its_connections(server: CountingServer) -> None:
    lanes = ConnectionLanes(max_idle=8)
    async with httpx.AsyncClient(transport=lanes) as client:
        await overlapping_calls(client, server, 3)
    await server.until(lambda: server.closed == 3)
    assert lanes.idle == 0
    with pytest.raises(RuntimeError, match="closed"):
        await lanes.handle_async_request(httpx.Request("GET", server.url))


async def test_the_delivery_client_opens_a_connection_per_call_in_flight(
    server: CountingServer,
) -> None:
    async with new_http_client() as client:
        await overlapping_calls(client, server, 3)
        await client.post(server.url, content=b"x")
    assert server.accepted == 3
