"""Dramatiq actors: thin, each calls the domain. Queues: "sweeps" and "notifications"."""

from __future__ import annotations

from collections.abc import Sequence

import dramatiq
from periodiq import cron

from app.domain import alerts, delivery, reports, retention
from workers import runtime, sweeper
from workers.broker import broker as broker

BATCH = 50  # notifications per message: claimed, loaded and recorded together (25: +1.5 s
# on bench/alerts.py's 10,000 burst; 100: no better, and fewer messages to spread)


@dramatiq.actor(queue_name="notifications", max_retries=0, time_limit=300_000)
async def deliver_notifications(batch: list[list[int]]) -> None:
    """Send a batch of notifications ([id, attempts] pairs); retries are scheduled in the
    database, not by Dramatiq."""
    current = runtime.current()
    dispatches = [alerts.Dispatch(notification_id, attempts) for notification_id, attempts in batch]
    await delivery.deliver_many(current.db, dispatches, current.ctx, current.clock)


def enqueue(dispatches: Sequence[alerts.Dispatch]) -> None:
    for start in range(0, len(dispatches), BATCH):
        deliver_notifications.send(
            [[d.notification_id, d.attempts] for d in dispatches[start : start + BATCH]]
        )


@dramatiq.actor(
    queue_name="sweeps",
    periodic=cron("* * * * *"),
    max_retries=0,
    time_limit=int((sweeper.LOOP_SECONDS + 30) * 1000),
)
async def sweep() -> None:
    """Sweep every SWEEP_INTERVAL seconds for a minute (see workers/sweeper.py)."""
    await sweeper.run(runtime.current(), enqueue)


@dramatiq.actor(
    queue_name="sweeps", periodic=cron("*/5 * * * *"), max_retries=0, time_limit=600_000
)
async def send_reports() -> None:
    """Daily/weekly/monthly reports that are due; each is claimed before it is sent."""
    current = runtime.current()
    await reports.send_due_reports(current.db, current.settings, current.clock())


@dramatiq.actor(
    queue_name="sweeps", periodic=cron("0 3 * * *"), max_retries=0, time_limit=3_600_000
)
async def prune() -> None:
    """Retention, daily at 03:00 UTC, in bounded batches."""
    current = runtime.current()
    await retention.prune(current.db, current.clock())
