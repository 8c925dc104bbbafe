"""An httpx transport that keeps every connection in a pool of its own: one lane per call.

httpcore's connection pool does work in proportion to its connections whenever a request
starts and whenever a response is closed: it probes every idle keep-alive socket and
recounts the idle ones for each. An httpx client's CPU per call therefore grows with the
calls in flight (on loopback 0.55 ms at 1, 0.72 ms at 4, 0.8 ms at 8), and that was the
largest share of a worker's CPU in a burst of alerts. Here a lane is an
``httpx.AsyncHTTPTransport`` limited to one connection; a call takes an idle lane of its
origin (the most recently used one, whose connection is the likeliest to be alive) or opens
a new one, and gives it back when its response is closed. The pool bookkeeping per call is
then the same however many calls are in flight (bench/README.md, session 5).

The transport does not limit concurrency; its callers do (``DeliveryContext``,
``DELIVERY_CALLS_PER_HOST``). Between calls at most ``max_idle`` lanes stay open, across
all origins: the least recently used are closed first.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

Origin = tuple[str, str, int | None]
_ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)


class ConnectionLanes(httpx.AsyncBaseTransport):
    def __init__(self, *, max_idle: int, verify: ssl.SSLContext | bool = True) -> None:
        # One SSL context for every lane: building one loads the CA bundle (~10 ms).
        self._ssl = httpx.create_ssl_context(verify=verify)
        self._max_idle = max_idle
        self._idle: dict[Origin, list[httpx.AsyncHTTPTransport]] = {}
        self._lru: OrderedDict[httpx.AsyncHTTPTransport, Origin] = OrderedDict()
        self._closed = False

    @property
    def idle(self) -> int:
        """Lanes kept open between calls."""
        return len(self._lru)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = (request.url.scheme, request.url.host, request.url.port)
        lane = self._take(origin)
        try:
            response = await lane.handle_async_request(request)
        except BaseException:
            await self._give_back(origin, lane)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _ReleasingStream(response.stream, lambda: self._give_back(origin, lane))
        return response

    def _take(self, origin: Origin) -> httpx.AsyncHTTPTransport:
        if self._closed:
            raise RuntimeError("the HTTP transport is closed")
        idle = self._idle.get(origin)
        if idle:
            lane = idle.pop()
            if not idle:
                del self._idle[origin]
            del self._lru[lane]
            return lane
        return httpx.AsyncHTTPTransport(verify=self._ssl, limits=_ONE_CONNECTION)

    async def _give_back(self, origin: Origin, lane: httpx.AsyncHTTPTransport) -> None:
        if self._closed:
            await lane.aclose()
            return
        self._idle.setdefault(origin, []).append(lane)
        self._lru[lane] = origin
        while len(self._lru) > self._max_idle:
            oldest, its_origin = self._lru.popitem(last=False)
            lanes = self._idle[its_origin]
            lanes.remove(oldest)
            if not lanes:
                del self._idle[its_origin]
            await oldest.aclose()

    async def aclose(self) -> None:
        self._closed = True
        lanes = list(self._lru)
        self._lru.clear()
        self._idle.clear()
        for lane in lanes:
            await lane.aclose()


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that gives its lane back once, when the response is closed."""

    def __init__(
        self, stream: httpx.AsyncByteStream, release: Callable[[], Awaitable[None]]
    ) -> None:
        self._stream = stream
        self._release: Callable[[], Awaitable[None]] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        release, self._release = self._release, None
        try:
            await self._stream.aclose()
        finally:
            if release is not None:
                await release()
