from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.status import (
    Timing,
    alert_after,
    displayed_status,
    grace_start,
    is_started,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def up_simple(**fields: object) -> Timing:
    """An up check pinged an hour ago, expecting a ping a day later, with an hour of grace."""
    base: dict[str, object] = {"status": "up", "last_ping": NOW - HOUR}
    return Timing(**{**base, **fields})  # type: ignore[arg-type]


class TestGraceStart:
    def test_a_simple_check_is_due_timeout_after_its_last_ping(self) -> None:
        assert grace_start(up_simple()) == NOW - HOUR + DAY

    def test_a_cron_check_is_due_at_the_next_fire_time_in_its_zone(self) -> None:
        check = Timing(
            kind="cron",
            schedule="0 9 * * *",
            tz="Europe/Riga",
            status="up",
            last_ping=datetime(2026, 11, 25, 7, 0, 5, tzinfo=UTC),
        )
        assert grace_start(check) == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)

    def test_an_oncalendar_check_is_due_at_the_next_fire_time_in_its_zone(self) -> None:
        check = Timing(
            kind="oncalendar",
            schedule="Mon..Fri *-*-* 09:00",
            tz="Europe/Riga",
            status="up",
            last_ping=datetime(2026, 11, 27, 7, 0, 5, tzinfo=UTC),  # Friday
        )
        assert grace_start(check) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)

    def test_a_cron_check_in_the_spring_gap_is_due_when_cronsim_moves_the_job(self) -> None:
        check = Timing(
            kind="cron",
            schedule="30 3 * * *",
            tz="Europe/Riga",
            status="up",
            last_ping=datetime(2026, 3, 28, 1, 30, 5, tzinfo=UTC),  # 03:30 EET
        )
        assert grace_start(check) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)

    def test_an_ended_schedule_is_never_due(self) -> None:
        check = Timing(kind="oncalendar", schedule="2026-01-01 00:00", status="up", last_ping=NOW)
        assert grace_start(check) is None

    @pytest.mark.parametrize("status", ["new", "paused", "down"])
    def test_a_check_that_is_not_up_is_never_due(self, status: str) -> None:
        assert grace_start(up_simple(status=status)) is None

    def test_a_running_start_pulls_the_due_time_earlier(self) -> None:
        check = up_simple(last_start=NOW - 30 * MINUTE)
        assert grace_start(check) == NOW - 30 * MINUTE

    def test_a_start_after_the_due_time_does_not_push_it_later(self) -> None:
        check = up_simple(timeout=60, last_start=NOW)
        assert grace_start(check) == NOW - HOUR + MINUTE

    @pytest.mark.parametrize("status", ["new", "paused"])
    def test_a_running_start_makes_a_new_or_paused_check_due(self, status: str) -> None:
        check = Timing(status=status, last_start=NOW)
        assert grace_start(check) == NOW

    def test_a_running_start_makes_an_ended_schedule_due(self) -> None:
        check = Timing(
            kind="oncalendar",
            schedule="2026-01-01 00:00",
            status="up",
            last_ping=NOW - HOUR,
            last_start=NOW,
        )
        assert grace_start(check) == NOW

    def test_a_start_does_not_make_a_down_check_due(self) -> None:
        assert grace_start(up_simple(status="down", last_start=NOW)) is None

    def test_with_started_false_ignores_the_start(self) -> None:
        check = up_simple(last_start=NOW - 30 * MINUTE)
        assert grace_start(check, with_started=False) == NOW - HOUR + DAY
        assert grace_start(Timing(status="new", last_start=NOW), with_started=False) is None


class TestAlertAfter:
    def test_it_is_grace_after_the_grace_start(self) -> None:
        assert alert_after(up_simple()) == NOW - HOUR + DAY + HOUR

    def test_it_uses_the_checks_grace(self) -> None:
        assert alert_after(up_simple(grace=120)) == NOW - HOUR + DAY + 2 * MINUTE

    @pytest.mark.parametrize("status", ["new", "paused", "down"])
    def test_it_is_none_for_a_check_that_is_not_up_and_not_running(self, status: str) -> None:
        assert alert_after(up_simple(status=status)) is None

    def test_it_is_grace_after_the_start_for_a_running_new_check(self) -> None:
        assert alert_after(Timing(status="new", last_start=NOW, grace=300)) == NOW + 5 * MINUTE

    def test_it_is_grace_after_the_start_for_a_running_up_check(self) -> None:
        assert alert_after(up_simple(last_start=NOW)) == NOW + HOUR

    def test_it_is_none_for_a_running_down_check(self) -> None:
        assert alert_after(up_simple(status="down", last_start=NOW)) is None


class TestDisplayedStatus:
    @pytest.mark.parametrize("status", ["new", "paused", "down"])
    def test_it_shows_the_stored_status_of_a_check_that_is_not_up(self, status: str) -> None:
        assert displayed_status(Timing(status=status), NOW) == status

    def test_it_is_up_before_the_grace_start(self) -> None:
        gs = NOW - HOUR + DAY
        assert displayed_status(up_simple(), gs - timedelta(seconds=1)) == "up"

    def test_it_is_grace_exactly_at_the_grace_start(self) -> None:
        gs = NOW - HOUR + DAY
        assert displayed_status(up_simple(), gs) == "grace"

    def test_it_is_still_grace_just_before_grace_runs_out(self) -> None:
        gs = NOW - HOUR + DAY
        assert displayed_status(up_simple(), gs + HOUR - timedelta(microseconds=1)) == "grace"

    def test_it_is_down_exactly_when_grace_runs_out(self) -> None:
        gs = NOW - HOUR + DAY
        assert displayed_status(up_simple(), gs + HOUR) == "down"

    def test_it_is_up_for_an_ended_schedule(self) -> None:
        check = Timing(kind="oncalendar", schedule="2026-01-01 00:00", status="up", last_ping=NOW)
        assert displayed_status(check, NOW + 1000 * DAY) == "up"

    def test_a_cron_check_enters_grace_at_its_next_fire_time(self) -> None:
        check = Timing(
            kind="cron",
            schedule="0 9 * * *",
            tz="Europe/Riga",
            status="up",
            last_ping=datetime(2026, 11, 25, 7, 0, 5, tzinfo=UTC),
        )
        next_run = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
        assert displayed_status(check, next_run - MINUTE) == "up"
        assert displayed_status(check, next_run) == "grace"
        assert displayed_status(check, next_run + HOUR) == "down"

    def test_a_running_check_shows_started_only_when_asked(self) -> None:
        check = up_simple(last_start=NOW)
        assert displayed_status(check, NOW + MINUTE, with_started=True) == "started"
        assert displayed_status(check, NOW + MINUTE) == "up"

    @pytest.mark.parametrize("status", ["new", "paused"])
    def test_a_running_new_or_paused_check_shows_started_when_asked(self, status: str) -> None:
        check = Timing(status=status, last_start=NOW)
        assert displayed_status(check, NOW, with_started=True) == "started"
        assert displayed_status(check, NOW) == status

    @pytest.mark.parametrize("status", ["new", "paused", "up", "down"])
    def test_a_start_that_overruns_grace_is_down_whatever_the_stored_status(
        self, status: str
    ) -> None:
        check = up_simple(status=status, last_start=NOW, grace=300)
        assert displayed_status(check, NOW + 5 * MINUTE) == "down"
        assert displayed_status(check, NOW + 5 * MINUTE, with_started=True) == "down"

    def test_a_start_is_not_down_just_before_grace_runs_out(self) -> None:
        check = Timing(status="new", last_start=NOW, grace=300)
        assert displayed_status(check, NOW + 5 * MINUTE - timedelta(seconds=1)) == "new"

    def test_the_grace_start_it_compares_against_ignores_the_start(self) -> None:
        # grace_start() with the start would be NOW - 30 min, already in grace;
        # the displayed status only looks at the schedule once the start is within grace.
        check = up_simple(last_start=NOW - 30 * MINUTE)
        assert displayed_status(check, NOW) == "up"

    def test_a_late_running_check_shows_grace_from_its_schedule(self) -> None:
        check = up_simple(timeout=3600, last_start=NOW - 10 * MINUTE)
        assert displayed_status(check, NOW) == "grace"


class TestIsStarted:
    def test_it_is_true_while_a_start_is_recorded(self) -> None:
        assert is_started(Timing(last_start=NOW))

    def test_it_is_false_without_a_start(self) -> None:
        assert not is_started(Timing(status="up", last_ping=NOW))


def test_timing_has_healthchecks_defaults() -> None:
    assert Timing() == Timing(
        kind="simple",
        timeout=86400,
        grace=3600,
        schedule="* * * * *",
        tz="UTC",
        status="new",
        last_ping=None,
        last_start=None,
    )
