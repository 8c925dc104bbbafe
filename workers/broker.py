"""The Dramatiq broker: Redis when REDIS_URL is set, in-memory otherwise (embedded mode).

Imported before any actor is defined, so every actor binds to this broker (importing an
actor module first would silently create Dramatiq's default broker).
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO, Middleware
from periodiq import PeriodiqMiddleware

from app.config import get_settings
from workers.metrics import ActorMetrics


class StopLoops(Middleware):
    """Tell long-running actors (the sweep loop) that the worker is shutting down."""

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from workers.runtime import stopping

        stopping.set()

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from workers.runtime import stopping

        stopping.clear()


class UvloopAsyncIO(AsyncIO):
    """Dramatiq's event-loop thread for async actors, on uvloop when it is installed (uvicorn
    runs the web on it too). Deliveries are socket-bound: asyncio's own transports cost
    about a sixth of a worker's CPU in a burst of webhooks, uvloop's a fraction of that."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = EventLoopThread(self.logger)
        try:
            import uvloop
        except ImportError:  # not on every platform (Windows); asyncio's loop works too
            pass
        else:
            thread.loop.close()
            thread.loop = uvloop.new_event_loop()
        thread.start(timeout=1.0)
        set_event_loop_thread(thread)


def make_broker(redis_url: str | None) -> dramatiq.Broker:
    broker: dramatiq.Broker
    if redis_url:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=redis_url, namespace="cronbeat")  # type: ignore[no-untyped-call]
    else:
        broker = StubBroker()
    broker.add_middleware(UvloopAsyncIO())
    broker.add_middleware(ActorMetrics.for_broker(broker))
    broker.add_middleware(PeriodiqMiddleware(skip_delay=30))
    broker.add_middleware(StopLoops())
    return broker


# One INFO line per outbound request is noise at alerting volumes.
logging.getLogger("httpx").setLevel(logging.WARNING)

broker = make_broker(get_settings().redis_url)
dramatiq.set_broker(broker)
