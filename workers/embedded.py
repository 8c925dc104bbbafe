"""The worker and the scheduler inside `cronbeat serve`: Dramatiq worker threads on the
in-memory broker, and a small asyncio task that does periodiq's job (enqueue periodic actors
at their cron times), since periodiq's own loop needs the main thread's SIGALRM."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import dramatiq
import pendulum

from workers.runtime import stopping

log = logging.getLogger("cronbeat.worker")


def periodic_actors(broker: dramatiq.Broker) -> list[dramatiq.Actor]:
    return [actor for actor in broker.actors.values() if "periodic" in actor.options]


class EmbeddedWorker:
    def __init__(self, threads: int = 16) -> None:
        self.threads = threads
        self._worker: dramatiq.Worker | None = None
        self._scheduler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from workers.actors import broker, sweep

        stopping.clear()
        self._worker = dramatiq.Worker(broker, worker_threads=self.threads, worker_timeout=100)
        self._worker.start()
        sweep.send()  # sweep from the first second, not from the next full minute
        self._scheduler = asyncio.create_task(self._schedule(broker))
        log.info("worker: %d threads on the in-memory broker", self.threads)

    async def _schedule(self, broker: dramatiq.Broker) -> None:
        actors = periodic_actors(broker)
        while True:
            now = datetime.now(UTC)
            await asyncio.sleep(60.5 - now.second - now.microsecond / 1e6)
            minute = pendulum.now("UTC").replace(second=0, microsecond=0)
            for actor in actors:
                if actor.options["periodic"].validate(minute):
                    actor.send_with_options(scheduled_at=str(minute))

    async def stop(self) -> None:
        stopping.set()
        if self._scheduler is not None:
            self._scheduler.cancel()
        if self._worker is not None:
            await asyncio.to_thread(self._worker.stop, 30_000)
