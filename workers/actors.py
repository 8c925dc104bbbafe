"""Dramatiq actors: thin, each calls the domain. Queues: "sweeps" and "notifications"."""

from __future__ import annotations

import dramatiq
from periodiq import cron

from app.domain import alerts, delivery
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
