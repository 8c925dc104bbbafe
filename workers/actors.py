"""Dramatiq actors: thin, each calls the domain. Queues: "sweeps" and "notifications"."""

from __future__ import annotations

import dramatiq
from periodiq import cron

from app.domain import alerts, delivery, reports, retention
from workers import runtime, sweeper
from workers.broker import broker as broker


@dramatiq.actor(queue_name="notifications", max_retries=0, time_limit=120_000)
async def deliver_notification(notification_id: int, attempts: int) -> None:
    """Send one notification; retries are scheduled in the database, not by Dramatiq."""
    current = runtime.current()
    await delivery.deliver(
        current.db, alerts.Dispatch(notification_id, attempts), current.ctx, current.clock
    )


def enqueue(dispatch: alerts.Dispatch) -> None:
    deliver_notification.send(dispatch.notification_id, dispatch.attempts)


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
