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
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

from app import live
from app.domain import alerts
from app.domain.alerts import Dispatch
from workers.runtime import Runtime, stopping

log = logging.getLogger("cronbeat.sweeper")
LEASE_NAME = "sweeper"
LOOP_SECONDS = 62.0  # one periodiq tick, plus an overlap so the hand-over leaves no gap


PASS_BATCHES = 2  # checks per pass: 2 x 500; then deliveries start while the rest is swept
DISPATCH_LIMIT = 1000
# A pass that flips this many checks has just written a burst into the outbox tables:
# their statistics are refreshed then, at most once per STATISTICS_SECONDS.
STATISTICS_AFTER_FLIPS = alerts.SWEEP_BATCH
STATISTICS_SECONDS = 30.0
_statistics_refreshed = -STATISTICS_SECONDS


class BrokerUnavailable(Exception):
    """Notifications are due but the queue cannot take them; they stay due in the database."""


def holder_id() -> str:
    # One per loop invocation: two loops in one worker process must not share a lease.
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


async def sweep_once(runtime: Runtime, send: Callable[[Sequence[Dispatch]], None]) -> int:
    """One pass; returns how many notifications it queued."""
    queued, _ = await sweep_pass(runtime, send)
    return queued


async def sweep_pass(
    runtime: Runtime, send: Callable[[Sequence[Dispatch]], None]
) -> tuple[int, bool]:
    """Late checks (at most PASS_BATCHES batches), due nags, then every due notification.

    Returns (notifications queued, whether more checks may be due right now).
    """
    now = runtime.clock()
    flips = await alerts.sweep_due_checks(runtime.db, now, batches=PASS_BATCHES)
    nags = await alerts.sweep_nags(runtime.db, now)
    queued = 0
    while True:
        dispatches = await alerts.dispatch_due(runtime.db, now, limit=DISPATCH_LIMIT)
        if dispatches:
            try:
                send(dispatches)
            except Exception as error:  # the broker (Redis) is down
                await alerts.release_dispatches(runtime.db, dispatches, now)
                raise BrokerUnavailable(str(error)) from error
        queued += len(dispatches)
        if len(dispatches) < DISPATCH_LIMIT:
            break
    if len(flips) >= STATISTICS_AFTER_FLIPS:
        await _refresh_statistics(runtime)
    if flips:  # open dashboards, once the deliveries are on their way
        if runtime.settings.redis_url:
            live.ensure_outbox(runtime.settings.redis_url)
        live.hub.publish(await alerts.checks_of_flips(runtime.db, flips))
    if flips or nags or queued:
        log.info(
            "sweep: %d went down, %d nags, %d notifications queued", len(flips), len(nags), queued
        )
    return queued, len(flips) >= PASS_BATCHES * alerts.SWEEP_BATCH


async def _refresh_statistics(runtime: Runtime) -> None:
    global _statistics_refreshed
    if time.monotonic() - _statistics_refreshed < STATISTICS_SECONDS:
        return
    _statistics_refreshed = time.monotonic()
    try:
        await alerts.refresh_statistics(runtime.db)
    except Exception:  # an optimisation: the deliveries are already queued
        log.exception("sweep: could not refresh the outbox statistics")


async def run(
    runtime: Runtime, send: Callable[[Sequence[Dispatch]], None], seconds: float = LOOP_SECONDS
) -> None:
    interval = runtime.settings.sweep_interval
    ttl = timedelta(seconds=max(5.0, 3 * interval))
    holder = holder_id()
    deadline = time.monotonic() + seconds
    broker_down = False
    try:
        while time.monotonic() < deadline and not stopping.is_set():
            if await alerts.acquire_lease(runtime.db, LEASE_NAME, holder, runtime.clock(), ttl):
                try:
                    _, more = await sweep_pass(runtime, send)
                    if broker_down:
                        log.info("sweep: the broker answers again")
                    broker_down = False
                    if more:
                        continue  # a burst: keep going, deliveries already started
                except BrokerUnavailable as error:  # checks are still swept; sends wait
                    if not broker_down:
                        log.warning("sweep: cannot enqueue deliveries (%s); retrying", error)
                    broker_down = True
                except Exception:  # keep sweeping: one bad pass must not stop alerting
                    log.exception("sweep failed")
            await asyncio.sleep(await _pause(runtime, interval))  # tests call sweep_once
    finally:
        await alerts.release_lease(runtime.db, LEASE_NAME, holder)


async def _pause(runtime: Runtime, interval: float) -> float:
    try:
        next_due = await alerts.next_deadline(runtime.db)
    except Exception:  # the database will be retried by the next pass
        log.exception("sweep: could not read the next deadline")
        next_due = None
    return alerts.pause_before_next_pass(runtime.clock(), next_due, interval)
