"""`cronbeat scheduler`: enqueue the periodic actors at their periodiq cron times.

The actors keep periodiq's ``cron()`` specs and its middleware (which skips a periodic message
that waited too long in the queue); this module replaces periodiq's process loop because the
production shape needs three things it does not do:

* **Sweep from the first second.** At start the scheduler enqueues ``sweep`` at once, as
  ``cronbeat serve`` does, so a deploy or a restart does not leave late checks unseen until
  the next full minute. (A second sweep loop only waits for the database lease.)
* **Outlive Redis outages.** A send that fails (Redis down) is retried every
  ``RETRY_SECONDS`` until Redis answers; periodiq's loop dies on the first error. Messages of
  several missed minutes are sent once each, stamped with the time they were really sent.
* **Stop cleanly.** SIGTERM or SIGINT ends the loop between sends; the exit status is 0.

Cron times are read in UTC.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import dramatiq
import pendulum

log = logging.getLogger("cronbeat.scheduler")

RETRY_SECONDS = 1.0


def periodic_actors(broker: dramatiq.Broker) -> list[dramatiq.Actor]:
    return sorted(
        (actor for actor in broker.actors.values() if "periodic" in actor.options),
        key=lambda actor: actor.actor_name,
    )


def due_at(actors: Sequence[dramatiq.Actor], minute: Any) -> list[dramatiq.Actor]:
    """The actors whose cron spec matches ``minute`` (a pendulum UTC time, seconds zero)."""
    return [actor for actor in actors if actor.options["periodic"].validate(minute)]


class Scheduler:
    def __init__(
        self,
        actors: Sequence[dramatiq.Actor],
        *,
        first: Sequence[dramatiq.Actor] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.actors = list(actors)
        self.pending: dict[str, dramatiq.Actor] = {actor.actor_name: actor for actor in first}
        self.clock = clock
        self.stop = threading.Event()
        self._failing = False
        self.next_minute = (int(clock()) // 60 + 1) * 60

    def tick(self) -> None:
        """Queue what is due for every minute boundary passed, then send what is pending."""
        now = self.clock()
        if now >= self.next_minute:
            # After a long pause (a suspended host), only the latest boundary counts.
            self.next_minute = int(now) // 60 * 60
            minute = pendulum.from_timestamp(self.next_minute, tz="UTC")
            for actor in due_at(self.actors, minute):
                self.pending[actor.actor_name] = actor
            self.next_minute += 60
        self.send_pending()

    def send_pending(self) -> None:
        for name, actor in list(self.pending.items()):
            try:
                actor.send_with_options(scheduled_at=str(pendulum.now("UTC")))
            except Exception:  # Redis away: keep it, try again shortly
                if not self._failing:
                    log.warning("could not enqueue %s; retrying until the broker answers", name)
                self._failing = True
                return
            del self.pending[name]
            if self._failing:
                log.info("the broker answers again; enqueued %s", name)
            self._failing = False
            log.debug("enqueued %s", name)

    def seconds_to_wait(self) -> float:
        wait = self.next_minute - self.clock()
        if self.pending:
            wait = min(wait, RETRY_SECONDS)
        return max(0.05, wait)

    def run(self) -> None:
        while not self.stop.is_set():
            self.tick()
            self.stop.wait(self.seconds_to_wait())


def ignore_stop_signals() -> None:
    """Once stopping, a repeated signal (process managers signal the whole group, supervisors
    pass it on) must not kill the process halfway through its clean exit. SIG_IGN, unlike a
    Python handler, stays in force while the interpreter shuts down."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def main() -> int:
    """The scheduler process: until SIGTERM/SIGINT."""
    from workers.actors import broker, sweep

    actors = periodic_actors(broker)
    scheduler = Scheduler(actors, first=[sweep])
    log.info(
        "scheduler: %s (UTC)",
        ", ".join(f"{a.actor_name} [{a.options['periodic']}]" for a in actors),
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler: %s received, stopping", signal.Signals(signum).name)
        scheduler.stop.set()
        ignore_stop_signals()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.run()
    broker.close()
    log.info("scheduler stopped")
    return 0
