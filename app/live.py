"""Live updates for the dashboard: which checks just changed.

Whoever changes a check (a ping in any web process, a sweep in a worker, a page action) calls
``hub.publish(check_ids)``. Each web process fans the ids out to its open Server-Sent Events
streams, which re-render only those rows. Between processes the ids travel over Redis pub/sub
when REDIS_URL is set; in the embedded mode everything shares one process and one hub.

Live updates are a courtesy, never a source of truth: a lost message leaves a row stale until
the next change or reload, and a Redis outage never slows or fails the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import redis
import redis.asyncio

log = logging.getLogger("cronbeat.live")

CHANNEL = "cronbeat:live"
FLUSH_INTERVAL = 0.1  # seconds: coalesce a burst of pings into one Redis message
_REDIS_TIMEOUT = 1.0


class Subscription:
    """One SSE stream's inbox: the ids changed since it last looked, coalesced."""

    def __init__(self, hub: LiveHub) -> None:
        self._hub = hub
        self._loop = asyncio.get_running_loop()
        self._pending: set[int] = set()
        self._ready = asyncio.Event()

    def push(self, ids: frozenset[int]) -> None:
        """Thread-safe: worker threads of the embedded mode publish from other loops."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._add(ids)
        else:
            with contextlib.suppress(RuntimeError):  # the stream's loop already closed
                self._loop.call_soon_threadsafe(self._add, ids)

    def _add(self, ids: frozenset[int]) -> None:
        self._pending |= ids
        self._ready.set()

    async def next(self, wait: float) -> set[int]:
        """The ids changed since the last call; empty after ``wait`` seconds of quiet."""
        if not self._pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), wait)
        ids, self._pending = self._pending, set()
        self._ready.clear()
        return ids

    def close(self) -> None:
        self._hub._unsubscribe(self)


class LiveHub:
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()
        self._outbox: Outbox | None = None

    def publish(self, check_ids: Iterable[int]) -> None:
        ids = frozenset(check_ids)
        if not ids:
            return
        self.deliver_local(ids)
        if self._outbox is not None:
            self._outbox.add(ids)

    def deliver_local(self, ids: frozenset[int]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.push(ids)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        subscription = Subscription(self)
        with self._lock:
            self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            subscription.close()

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def connect(self, outbox: Outbox | None) -> None:
        """Send this process's changes to other processes too (None: this process only)."""
        self._outbox = outbox


class Outbox:
    """Batches this process's changes and publishes them on Redis, off the writer's path."""

    def __init__(self, redis_url: str) -> None:
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._client = redis.Redis.from_url(
            redis_url, socket_timeout=_REDIS_TIMEOUT, socket_connect_timeout=_REDIS_TIMEOUT
        )
        self._pending: set[int] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-outbox", daemon=True)
        self._thread.start()

    def add(self, ids: frozenset[int]) -> None:
        with self._lock:
            self._pending |= ids
        self._wake.set()

    def flush(self) -> None:
        with self._lock:
            ids, self._pending = self._pending, set()
        if not ids:
            return
        message = json.dumps({"origin": self.origin, "ids": sorted(ids)})
        try:
            self._client.publish(CHANNEL, message)
        except redis.RedisError as error:
            log.debug("live updates not published: %s", error)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait()
            self._wake.clear()
            self._stopped.wait(FLUSH_INTERVAL)
            self.flush()

    def close(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=2)
        self.flush()
        self._client.close()


async def listen(hub: LiveHub, redis_url: str, origin: str) -> None:
    """Forward other processes' changes to this process's streams, reconnecting forever."""
    while True:
        client = redis.asyncio.Redis.from_url(redis_url, socket_connect_timeout=_REDIS_TIMEOUT)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                async for message in pubsub.listen():
                    _forward(hub, message, origin)
        except (redis.RedisError, OSError) as error:
            log.debug("live updates from other processes paused: %s", error)
        finally:
            await client.aclose()
        await asyncio.sleep(1)


def _forward(hub: LiveHub, message: dict[str, Any], origin: str) -> None:
    if message.get("type") != "message":
        return
    try:
        payload = json.loads(message["data"])
        if payload.get("origin") == origin:
            return  # already delivered locally
        ids = frozenset(int(i) for i in payload["ids"])
    except (ValueError, KeyError, TypeError):
        return
    hub.deliver_local(ids)


# One hub per process.
hub = LiveHub()


def ensure_outbox(redis_url: str) -> Outbox:
    """This process's outbox, started on first use (worker, smtpd and web share the rule)."""
    if hub._outbox is None:
        hub.connect(Outbox(redis_url))
    assert hub._outbox is not None
    return hub._outbox
