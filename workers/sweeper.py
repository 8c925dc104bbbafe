"""The sweep loop: detect late checks within SWEEP_INTERVAL although periodiq ticks per minute.

periodiq enqueues ``sweeper`` once a minute; whichever worker takes it loops for a little
over a minute, sweeping every SWEEP_INTERVAL seconds while it holds the "sweeper" lease in the
database. The next minute's loop waits for the lease, so exactly one loop sweeps at a time
and a dead worker's lease runs out after a few intervals. The lease is an optimisation:
correctness (one flip per change, one delivery per notification) comes from the conditional
updates in app/domain/alerts.py, so two sweepers racing during a hand-over do no harm.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta

from app.domain import alerts
from app.domain.alerts import Dispatch
from workers.runtime import Runtime, stopping

log = logging.getLogger("cronbeat.sweeper")
LEASE_NAME = "sweeper"
LOOP_SECONDS = 62.0  # one periodiq tick, plus an overlap so the hand-over leaves no gap


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{id(asyncio.get_running_loop())}"


async def sweep_once(runtime: Runtime, send: Callable[[Dispatch], None]) -> int:
    """One pass: late checks, due nags, then hand due notifications to the queue."""
    now = runtime.clock()
    flips = await alerts.sweep_due_checks(runtime.db, now)
    nags = await alerts.sweep_nags(runtime.db, now)
    dispatches = await alerts.dispatch_due(runtime.db, now)
    for dispatch in dispatches:
        send(dispatch)
    if flips or nags or dispatches:
        log.info(
            "sweep: %d went down, %d nags, %d notifications queued",
            len(flips),
            len(nags),
            len(dispatches),
        )
    return len(dispatches)


async def run(
    runtime: Runtime, send: Callable[[Dispatch], None], seconds: float = LOOP_SECONDS
) -> None:
    interval = runtime.settings.sweep_interval
    ttl = timedelta(seconds=max(5.0, 3 * interval))
    holder = holder_id()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not stopping.is_set():
            if await alerts.acquire_lease(runtime.db, LEASE_NAME, holder, runtime.clock(), ttl):
                try:
                    await sweep_once(runtime, send)
                except Exception:  # keep sweeping: one bad pass must not stop alerting
                    log.exception("sweep failed")
            await asyncio.sleep(interval)  # production pacing; tests call sweep_once
    finally:
        await alerts.release_lease(runtime.db, LEASE_NAME, holder)
