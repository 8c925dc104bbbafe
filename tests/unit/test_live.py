"""The live-update hub: coalescing, thread safety, and Redis between processes."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from app import live
from app.live import LiveHub


async def test_a_subscriber_gets_the_ids_published_since_it_last_looked() -> None:
    hub = LiveHub()
    async with hub.subscribe() as subscription:
        hub.publish([1, 2])
        hub.publish([2, 3])
        assert await subscription.next(1) == {1, 2, 3}
        assert await subscription.next(0.01) == set()


async def test_publishing_from_another_thread_wakes_the_stream() -> None:
    hub = LiveHub()
    async with hub.subscribe() as subscription:
        thread = threading.Thread(target=hub.publish, args=([7],))
        thread.start()
        assert await subscription.next(5) == {7}
        thread.join()


async def test_a_closed_subscription_receives_nothing() -> None:
    hub = LiveHub()
    async with hub.subscribe():
        assert hub.subscriber_count == 1
    assert hub.subscriber_count == 0
    hub.publish([1])  # nobody listening: no error


REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


@pytest.mark.skipif(not REDIS_URL, reason="needs TEST_REDIS_URL")
async def test_changes_travel_between_processes_over_redis() -> None:
    sender, receiver = LiveHub(), LiveHub()  # two processes' hubs
    outbox = live.Outbox(REDIS_URL)
    sender.connect(outbox)
    listener = asyncio.create_task(live.listen(receiver, REDIS_URL, origin="receiver"))
    try:
        async with receiver.subscribe() as subscription:
            received: set[int] = set()
            for _ in range(50):  # until the listener has subscribed
                sender.publish([42])
                received = await subscription.next(0.1)
                if received:
                    break
            assert received == {42}
    finally:
        listener.cancel()
        outbox.close()


@pytest.mark.skipif(not REDIS_URL, reason="needs TEST_REDIS_URL")
async def test_a_process_ignores_its_own_messages_coming_back() -> None:
    hub = LiveHub()
    outbox = live.Outbox(REDIS_URL)
    hub.connect(outbox)
    listener = asyncio.create_task(live.listen(hub, REDIS_URL, origin=outbox.origin))
    try:
        async with hub.subscribe() as subscription:
            # Our own message echoes back from Redis once the listener is subscribed; a
            # second process's message shows that moment.
            other = live.Outbox(REDIS_URL)
            try:
                while not await subscription.next(0.1):
                    other.add(frozenset([0]))
            finally:
                other.close()
            hub.publish([5])
            # (The other process's marker may still trickle in: it is not what we check.)
            assert await subscription.next(1) - {0} == {5}
            assert await subscription.next(0.5) - {0} == set()  # not delivered a second time
    finally:
        listener.cancel()
        outbox.close()


def test_a_redis_outage_never_fails_the_publisher() -> None:
    outbox = live.Outbox("redis://127.0.0.1:1/0")  # nothing listens there
    hub = LiveHub()
    hub.connect(outbox)
    hub.publish([1])
    outbox.flush()  # logs and carries on
    outbox.close()
