"""HTTP servers on 127.0.0.1 for tests of the outbound HTTP plumbing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class CountingServer:
    """HTTP/1.1 on 127.0.0.1 that answers "ok" to every request and counts the connections
    it accepted and those the client closed. While ``hold`` is clear it keeps requests
    waiting, so calls can be made to overlap."""

    def __init__(self) -> None:
        self.accepted = 0
        self.closed = 0
        self.waiting = 0
        self.most_waiting = 0
        self.hold = asyncio.Event()
        self.hold.set()
        self.changed = asyncio.Event()  # set whenever a count changes
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not condition():
                self.changed.clear()
                await self.changed.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (int(line.split(b":")[1]) for line in head.split(b"\r\n")
                     if line.lower().startswith(b"content-length:")),
                    0,
                )  # fmt: skip
                await reader.readexactly(length)
                self.waiting += 1
                self.most_waiting = max(self.most_waiting, self.waiting)
                self.changed.set()
                await self.hold.wait()
                self.waiting -= 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed += 1
            self.changed.set()
            writer.close()

    def stop(self) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"
