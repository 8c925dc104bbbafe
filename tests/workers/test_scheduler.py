"""The scheduler process's loop (workers/scheduler.py): cron times, the first sweep, outages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from periodiq import cron

from workers.scheduler import RETRY_SECONDS, Scheduler, due_at, periodic_actors


class FakeActor:
    def __init__(self, name: str, spec: str) -> None:
        self.actor_name = name
        self.options = {"periodic": cron(spec)}
        self.sent: list[dict[str, Any]] = []
        self.broken = False

    def send_with_options(self, **options: Any) -> None:
        if self.broken:
            raise ConnectionError("Redis is down")
        self.sent.append(options)


class Clock:
    def __init__(self, when: datetime) -> None:
        self.now = when.timestamp()

    def __call__(self) -> float:
        return self.now


START = datetime(2026, 1, 15, 12, 4, 30, tzinfo=UTC)  # half past a minute


@pytest.fixture
def actors() -> dict[str, FakeActor]:
    return {
        "sweep": FakeActor("sweep", "* * * * *"),
        "send_reports": FakeActor("send_reports", "*/5 * * * *"),
        "prune": FakeActor("prune", "0 3 * * *"),
    }


def make(actors: dict[str, FakeActor], clock: Clock) -> Scheduler:
    return Scheduler(list(actors.values()), first=[actors["sweep"]], clock=clock)  # type: ignore[list-item]


def test_sweeps_at_once_then_waits_for_the_next_minute(actors) -> None:
    clock = Clock(START)
    scheduler = make(actors, clock)
    scheduler.tick()
    assert len(actors["sweep"].sent) == 1  # at start, not at 12:05
    assert actors["send_reports"].sent == []
    assert scheduler.seconds_to_wait() == pytest.approx(30.0)


def test_each_minute_sends_what_its_cron_spec_says(actors) -> None:
    clock = Clock(START)
    scheduler = make(actors, clock)
    scheduler.tick()
    clock.now += 30.2  # 12:05:00.2
    scheduler.tick()
    assert len(actors["sweep"].sent) == 2
    assert len(actors["send_reports"].sent) == 1
    assert actors["prune"].sent == []
    stamp = actors["send_reports"].sent[0]["scheduled_at"]
    assert stamp.startswith("20")  # an ISO time periodiq's middleware can parse
    clock.now += 60  # 12:06
    scheduler.tick()
    assert (len(actors["sweep"].sent), len(actors["send_reports"].sent)) == (3, 1)


def test_a_broker_outage_is_retried_and_missed_minutes_send_once(actors) -> None:
    clock = Clock(START)
    scheduler = make(actors, clock)
    for actor in actors.values():
        actor.broken = True
    scheduler.tick()
    assert scheduler.seconds_to_wait() == RETRY_SECONDS
    for _ in range(3):  # three minutes without Redis
        clock.now += 60
        scheduler.tick()
    assert all(actor.sent == [] for actor in actors.values())
    for actor in actors.values():
        actor.broken = False
    clock.now += 1
    scheduler.tick()
    assert len(actors["sweep"].sent) == 1  # not one per missed minute
    assert len(actors["send_reports"].sent) == 1  # 12:05 was missed: sent late, once
    assert scheduler.pending == {}
    assert scheduler.seconds_to_wait() > RETRY_SECONDS


def test_a_long_pause_only_counts_the_latest_minute(actors) -> None:
    clock = Clock(START)
    scheduler = make(actors, clock)
    scheduler.tick()
    clock.now += 3600 * 5  # a suspended host wakes up at 17:04:30
    scheduler.tick()
    assert len(actors["sweep"].sent) == 2
    assert scheduler.next_minute == datetime(2026, 1, 15, 17, 5, tzinfo=UTC).timestamp()


def test_the_actors_periodic_specs() -> None:
    from workers.actors import broker

    names = [actor.actor_name for actor in periodic_actors(broker)]
    assert names == ["prune", "send_reports", "sweep"]
    import pendulum

    at_three = pendulum.datetime(2026, 1, 15, 3, 0, tz="UTC")
    assert {a.actor_name for a in due_at(periodic_actors(broker), at_three)} == set(names)
