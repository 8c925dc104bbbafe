"""The whole pipeline through a real broker and worker threads: a late check or a /fail ping
becomes exactly one webhook call per channel, also when the queue loses its messages."""

import dramatiq
import pytest
from sqlalchemy import select

from app.db import models as m
from app.integrations.base import DeliveryContext, new_http_client
from tests.workers.test_delivery import late_check_with_webhook
from workers import runtime, sweeper
from workers.runtime import Runtime


@pytest.fixture
def worker(broker, settings, clock):
    from workers import actors

    broker.flush_all()
    runtime.configure(settings=settings, clock=clock)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    yield actors
    worker.stop()
    runtime.configure()


@pytest.fixture
async def test_runtime(settings, db, clock):
    async with new_http_client() as http:
        yield Runtime(settings=settings, db=db, ctx=DeliveryContext(settings, http), clock=clock)


def drain(broker):
    broker.join("notifications", timeout=20_000)


async def sent_count(db):
    async with db.engine.connect() as conn:
        return len(
            (
                await conn.execute(
                    select(m.Notification.id).where(m.Notification.sent_at.is_not(None))
                )
            ).all()
        )


async def test_a_late_check_fires_its_webhook_once(
    worker, broker, factory, test_runtime, httpserver
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    await late_check_with_webhook(factory, httpserver)
    assert await sweeper.sweep_once(test_runtime, worker.enqueue) == 1
    drain(broker)
    assert len(httpserver.log) == 1
    assert await sweeper.sweep_once(test_runtime, worker.enqueue) == 0
    assert await sent_count(factory.db) == 1


async def test_a_flushed_queue_loses_no_alert(
    worker, broker, factory, test_runtime, clock, httpserver
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    await late_check_with_webhook(factory, httpserver)
    dispatched = []
    await sweeper.sweep_once(test_runtime, dispatched.extend)  # dispatched into the void
    assert len(dispatched) == 1
    broker.flush_all()  # FLUSHALL between the flip and its delivery
    clock.advance(61)
    assert await sweeper.sweep_once(test_runtime, worker.enqueue) == 1
    drain(broker)
    assert len(httpserver.log) == 1
    assert await sent_count(factory.db) == 1
