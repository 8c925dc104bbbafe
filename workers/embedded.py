"""The worker and the scheduler inside `cronbeat serve`: Dramatiq worker threads on the
in-memory broker (or Redis, when REDIS_URL is set), and the scheduler of `cronbeat scheduler`
(workers/scheduler.py) in a thread of its own: it sweeps from the first second, enqueues the
periodic actors at their cron times, and retries while a broker does not answer."""

from __future__ import annotations

import asyncio
import logging
import threading

import dramatiq

from workers.runtime import stopping
from workers.scheduler import Scheduler, periodic_actors

log = logging.getLogger("cronbeat.worker")


class EmbeddedWorker:
    def __init__(self, threads: int = 16) -> None:
        self.threads = threads
        self._worker: dramatiq.Worker | None = None
        self._scheduler: Scheduler | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        from workers.actors import broker, sweep

        stopping.clear()
        self._worker = dramatiq.Worker(broker, worker_threads=self.threads, worker_timeout=100)
        self._worker.start()
        self._scheduler = Scheduler(periodic_actors(broker), first=[sweep])
        self._thread = threading.Thread(target=self._scheduler.run, name="scheduler", daemon=True)
        self._thread.start()
        log.info("worker: %d threads on %s", self.threads, type(broker).__name__)

    async def stop(self) -> None:
        stopping.set()
        if self._scheduler is not None and self._thread is not None:
            self._scheduler.stop.set()
            await asyncio.to_thread(self._thread.join, 5)
        if self._worker is not None:
            await asyncio.to_thread(self._worker.stop, 30_000)
