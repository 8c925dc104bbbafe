"""A broker (Redis) outage in the sweep loop: checks are still swept, and the notifications it
could not enqueue are sent by the first pass after the broker is back, not a queue lease later."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.workers.test_delivery import late_check_with_webhook
from tests.workers.test_pipeline import drain, sent_count, test_runtime, worker  # noqa: F401
from workers import sweeper
from workers.runtime import stopping


async def test_notifications_the_broker_refused_are_sent_once_it_is_back(
    worker,  # noqa: F811
    broker,
    factory,
    test_runtime,  # noqa: F811
    clock,
    httpserver,
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    await late_check_with_webhook(factory, httpserver)

    def broker_down(_dispatches: object) -> None:
        raise ConnectionError("Error 111 connecting to redis: Connection refused")

    with pytest.raises(sweeper.BrokerUnavailable, match="Connection refused"):
        await sweeper.sweep_once(test_runtime, broker_down)
    assert await sent_count(factory.db) == 0

    clock.advance(1)  # one sweep interval, far less than the 60 s queue lease
    assert await sweeper.sweep_once(test_runtime, worker.enqueue) == 1
    drain(broker)
    assert len(httpserver.log) == 1
    assert await sent_count(factory.db) == 1
    assert await sweeper.sweep_once(test_runtime, worker.enqueue) == 0


async def test_the_loop_keeps_sweeping_while_the_broker_is_down(
    factory,
    test_runtime,  # noqa: F811
    httpserver,
    caplog,
):
    await late_check_with_webhook(factory, httpserver)
    calls = []

    def broker_down(dispatches: object) -> None:
        calls.append(dispatches)
        raise ConnectionError("Connection refused")

    test_runtime.settings = replace(test_runtime.settings, sweep_interval=0.01)
    stopping.clear()  # a worker stopped by an earlier test leaves it set
    await sweeper.run(test_runtime, broker_down, seconds=0.5)
    assert len(calls) >= 2  # retried every pass, not once per queue lease
    assert caplog.text.count("cannot enqueue deliveries") == 1  # one warning per outage
    assert "sweep failed" not in caplog.text
