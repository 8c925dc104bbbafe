from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain.schedules import (
    ScheduleError,
    next_fire,
    normalize_timezone,
    schedule_kind,
    upcoming,
    validate_schedule,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# Europe/Riga, 2026: clocks go 03:00 EET -> 04:00 EEST on 29 March (01:00 UTC) and
# 04:00 EEST -> 03:00 EET on 25 October (01:00 UTC), so 03:00-03:59 is the odd hour.
# America/New_York, 2026: 02:00 -> 03:00 on 8 March, 02:00 -> 01:00 on 1 November.


class TestScheduleKind:
    @pytest.mark.parametrize("schedule", ["* * * * *", " 0  9 * * 1-5 ", "0 0 L * *"])
    def test_it_calls_one_line_of_five_fields_cron(self, schedule: str) -> None:
        assert schedule_kind(schedule) == "cron"

    @pytest.mark.parametrize(
        "schedule",
        ["* * * * * *", "Mon..Fri *-*-* 09:00", "12:34", "Mon 09:00\nFri 17:00", "0 9 * *\n*"],
    )
    def test_it_calls_everything_else_oncalendar(self, schedule: str) -> None:
        assert schedule_kind(schedule) == "oncalendar"


class TestValidateSchedule:
    @pytest.mark.parametrize(
        ("schedule", "kind"),
        [
            ("* * * * *", "cron"),
            ("0 9 * * 1-5", "cron"),
            ("0 0 L * *", "cron"),
            ("Mon..Fri *-*-* 09:00", "oncalendar"),
            ("Mon 09:00\nFri 17:00", "oncalendar"),
            ("*-*-* 02:00 Europe/Riga", "oncalendar"),
            ("hourly", "oncalendar"),
        ],
    )
    def test_it_returns_the_kind_of_a_valid_schedule(self, schedule: str, kind: str) -> None:
        assert validate_schedule(schedule) == kind

    @pytest.mark.parametrize(
        "schedule",
        [
            "* * * * * *",
            "bad-expression",
            "",
            "   ",
            "61 * * * *",
            "0 0 30 2 *",
            "Mon 09:00\n\nFri 17:00",
            "Someday 09:00",
        ],
    )
    def test_it_rejects_an_expression_that_does_not_parse(self, schedule: str) -> None:
        with pytest.raises(ScheduleError):
            validate_schedule(schedule)

    def test_it_rejects_a_schedule_that_never_fires_after_2000(self) -> None:
        with pytest.raises(ScheduleError):
            validate_schedule("1999-01-01 00:00")

    def test_its_error_is_a_value_error(self) -> None:
        with pytest.raises(ValueError, match="not a valid cron or OnCalendar expression"):
            validate_schedule("bad-expression")


class TestNormalizeTimezone:
    @pytest.mark.parametrize(
        ("legacy", "current"),
        [
            ("Europe/Kiev", "Europe/Kyiv"),
            ("Asia/Calcutta", "Asia/Kolkata"),
            ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
            ("Asia/Katmandu", "Asia/Kathmandu"),
            ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
            ("Pacific/Enderbury", "Pacific/Kanton"),
            ("Asia/Rangoon", "Asia/Yangon"),
        ],
    )
    def test_it_maps_a_legacy_name_to_the_current_one(self, legacy: str, current: str) -> None:
        assert normalize_timezone(legacy) == current

    @pytest.mark.parametrize(
        "tz", ["UTC", "Europe/Riga", "Europe/Kyiv", "America/New_York", "US/Eastern", "US/Pacific"]
    )
    def test_it_keeps_a_known_name(self, tz: str) -> None:
        assert normalize_timezone(tz) == tz

    def test_every_rename_target_is_itself_canonical(self) -> None:
        from app.domain.schedules import _RENAMED_ZONES

        for current in _RENAMED_ZONES.values():
            assert normalize_timezone(current) == current

    @pytest.mark.parametrize(
        "tz",
        [
            "",
            "utc",
            "Mars/Olympus_Mons",
            "Europe/Riga ",
            "../../etc/passwd",
            "/etc/localtime",
            "Europe/../Europe/Riga",
            "localtime",
            "posixrules",
            "Factory",
            "zone.tab",
        ],
    )
    def test_it_rejects_an_unknown_zone_or_a_path(self, tz: str) -> None:
        with pytest.raises(ScheduleError):
            normalize_timezone(tz)


class TestCronInRiga:
    def test_it_moves_a_job_in_the_missing_hour_to_the_end_of_the_gap(self) -> None:
        # 03:30 does not exist on 29 March; cronsim runs the job at 04:00 EEST instead.
        times = upcoming("cron", "30 3 * * *", "Europe/Riga", utc(2026, 3, 28, 12), 2)
        assert times == [utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]

    def test_it_runs_a_job_before_the_spring_gap_as_usual(self) -> None:
        times = upcoming("cron", "30 2 * * *", "Europe/Riga", utc(2026, 3, 28, 12), 2)
        assert times == [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 23, 30)]

    def test_it_runs_a_job_in_the_repeated_hour_once(self) -> None:
        times = upcoming("cron", "30 3 * * *", "Europe/Riga", utc(2026, 10, 24, 12), 2)
        assert times == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]

    def test_it_does_not_repeat_the_job_after_it_ran_in_the_repeated_hour(self) -> None:
        assert next_fire("cron", "30 3 * * *", "Europe/Riga", utc(2026, 10, 25, 0, 30)) == utc(
            2026, 10, 26, 1, 30
        )

    def test_it_never_returns_a_time_before_a_start_in_the_second_pass_of_the_overlap(
        self,
    ) -> None:
        # 01:15 UTC is 03:15 EET, after 03:30 EEST (00:30 UTC) already happened.
        after = utc(2026, 10, 25, 1, 15)
        assert next_fire("cron", "30 3 * * *", "Europe/Riga", after) == utc(2026, 10, 26, 1, 30)

    def test_it_runs_a_job_before_the_autumn_overlap_as_usual(self) -> None:
        times = upcoming("cron", "30 2 * * *", "Europe/Riga", utc(2026, 10, 24, 12), 2)
        assert times == [utc(2026, 10, 24, 23, 30), utc(2026, 10, 26, 0, 30)]

    def test_it_runs_an_hourly_job_in_both_halves_of_the_overlap(self) -> None:
        # Without a fixed hour cronsim follows real time, not the wall clock.
        times = upcoming("cron", "30 * * * *", "Europe/Riga", utc(2026, 10, 25, 0), 3)
        assert times == [
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 25, 1, 30),
            utc(2026, 10, 25, 2, 30),
        ]


class TestCronInNewYork:
    def test_it_moves_a_job_in_the_missing_hour_to_the_end_of_the_gap(self) -> None:
        times = upcoming("cron", "30 2 * * *", "America/New_York", utc(2026, 3, 7, 12), 2)
        assert times == [utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)]

    def test_it_runs_a_job_in_the_repeated_hour_once(self) -> None:
        times = upcoming("cron", "30 1 * * *", "America/New_York", utc(2026, 10, 31, 12), 2)
        assert times == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


class TestOnCalendarAcrossDst:
    def test_it_skips_the_missing_hour_in_riga(self) -> None:
        # Unlike cronsim, systemd semantics drop the run instead of moving it.
        times = upcoming("oncalendar", "03:30", "Europe/Riga", utc(2026, 3, 28, 12), 2)
        assert times == [utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)]

    def test_it_runs_before_the_spring_gap_in_riga_as_usual(self) -> None:
        times = upcoming("oncalendar", "*-*-* 02:30", "Europe/Riga", utc(2026, 3, 28, 12), 2)
        assert times == [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 23, 30)]

    def test_it_runs_once_in_the_repeated_hour_in_riga(self) -> None:
        times = upcoming("oncalendar", "03:30", "Europe/Riga", utc(2026, 10, 24, 12), 2)
        assert times == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]

    def test_it_never_returns_a_time_before_a_start_in_the_second_pass_of_the_overlap(
        self,
    ) -> None:
        after = utc(2026, 10, 25, 1, 15)
        assert next_fire("oncalendar", "03:30", "Europe/Riga", after) == utc(2026, 10, 26, 1, 30)

    def test_an_hourly_expression_runs_once_per_wall_clock_hour_in_the_overlap(self) -> None:
        times = upcoming("oncalendar", "*:30", "Europe/Riga", utc(2026, 10, 25, 0), 2)
        assert times == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30)]

    def test_it_skips_the_missing_hour_in_new_york(self) -> None:
        times = upcoming("oncalendar", "02:30", "America/New_York", utc(2026, 3, 7, 12), 2)
        assert times == [utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30)]

    def test_it_runs_once_in_the_repeated_hour_in_new_york(self) -> None:
        times = upcoming("oncalendar", "01:30", "America/New_York", utc(2026, 10, 31, 12), 2)
        assert times == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


class TestMonthEnds:
    def test_day_31_skips_shorter_months(self) -> None:
        times = upcoming("cron", "0 0 31 * *", "UTC", utc(2026, 1, 31), 4)
        assert times == [utc(2026, 3, 31), utc(2026, 5, 31), utc(2026, 7, 31), utc(2026, 8, 31)]

    def test_l_is_the_last_day_of_each_month(self) -> None:
        times = upcoming("cron", "0 0 L * *", "UTC", utc(2024, 1, 15), 4)
        assert times == [utc(2024, 1, 31), utc(2024, 2, 29), utc(2024, 3, 31), utc(2024, 4, 30)]

    def test_february_29_waits_for_a_leap_year(self) -> None:
        assert next_fire("cron", "0 0 29 2 *", "UTC", utc(2025, 1, 1)) == utc(2028, 2, 29)

    def test_oncalendar_tilde_counts_days_from_the_month_end(self) -> None:
        times = upcoming("oncalendar", "*-*~01 00:00", "UTC", utc(2024, 1, 15), 3)
        assert times == [utc(2024, 1, 31), utc(2024, 2, 29), utc(2024, 3, 31)]


class TestOnCalendarExpressions:
    def test_weekdays_skip_the_weekend(self) -> None:
        friday_noon = utc(2026, 11, 27, 12)
        times = upcoming("oncalendar", "Mon..Fri *-*-* 09:00", "Europe/Riga", friday_noon, 2)
        assert times == [utc(2026, 11, 30, 7), utc(2026, 12, 1, 7)]

    def test_first_of_month(self) -> None:
        times = upcoming("oncalendar", "*-*-01 00:00", "UTC", utc(2026, 1, 15), 2)
        assert times == [utc(2026, 2, 1), utc(2026, 3, 1)]

    def test_several_lines_merge_into_one_schedule(self) -> None:
        wednesday = utc(2026, 11, 25)
        times = upcoming("oncalendar", "Mon 09:00\nFri 17:00", "UTC", wednesday, 3)
        assert times == [utc(2026, 11, 27, 17), utc(2026, 11, 30, 9), utc(2026, 12, 4, 17)]

    def test_a_bare_time_means_every_day(self) -> None:
        times = upcoming("oncalendar", "12:34", "UTC", utc(2026, 11, 25), 2)
        assert times == [utc(2026, 11, 25, 12, 34), utc(2026, 11, 26, 12, 34)]

    def test_a_timezone_inside_the_expression_wins_over_the_checks(self) -> None:
        expression = "*-*-* 02:00 Europe/Riga"
        assert next_fire("oncalendar", expression, "UTC", utc(2026, 11, 24, 12)) == utc(
            2026, 11, 25, 0
        )
        assert next_fire("oncalendar", expression, "America/New_York", utc(2026, 11, 24, 12)) == (
            utc(2026, 11, 25, 0)
        )


class TestNextFire:
    def test_it_is_strictly_after_the_start(self) -> None:
        assert next_fire("oncalendar", "12:34", "UTC", utc(2026, 11, 25, 12, 34)) == utc(
            2026, 11, 26, 12, 34
        )
        assert next_fire("cron", "34 12 * * *", "UTC", utc(2026, 11, 25, 12, 34)) == utc(
            2026, 11, 26, 12, 34
        )

    def test_it_treats_a_start_with_microseconds_as_later_than_the_whole_second(self) -> None:
        after = utc(2026, 11, 25, 9) + timedelta(microseconds=500)
        assert next_fire("cron", "0 9 * * *", "UTC", after) == utc(2026, 11, 26, 9)
        before = utc(2026, 11, 25, 9) - timedelta(microseconds=500)
        assert next_fire("cron", "0 9 * * *", "UTC", before) == utc(2026, 11, 25, 9)

    def test_it_evaluates_the_schedule_in_the_checks_zone(self) -> None:
        assert next_fire("cron", "0 9 * * *", "Europe/Riga", utc(2026, 11, 25)) == utc(
            2026, 11, 25, 7
        )

    def test_it_returns_utc(self) -> None:
        fire = next_fire("cron", "0 9 * * *", "Asia/Kolkata", utc(2026, 11, 25))
        assert fire is not None
        assert fire.utcoffset() == timedelta(0)
        assert fire == utc(2026, 11, 25, 3, 30)

    def test_it_accepts_a_start_in_another_zone(self) -> None:
        after = utc(2026, 11, 25).astimezone(ZoneInfo("Asia/Tokyo"))
        assert next_fire("cron", "0 9 * * *", "UTC", after) == utc(2026, 11, 25, 9)

    def test_it_returns_none_when_the_schedule_has_ended(self) -> None:
        assert next_fire("oncalendar", "2030-01-01 00:00", "UTC", utc(2030, 1, 1)) is None

    def test_it_rejects_a_naive_start(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            next_fire("cron", "* * * * *", "UTC", datetime(2026, 11, 25))

    def test_it_rejects_an_unknown_kind(self) -> None:
        with pytest.raises(ScheduleError):
            next_fire("simple", "* * * * *", "UTC", utc(2026, 11, 25))

    @pytest.mark.parametrize(("kind", "schedule"), [("cron", "61 * * * *"), ("oncalendar", "x")])
    def test_it_rejects_a_bad_expression(self, kind: str, schedule: str) -> None:
        with pytest.raises(ScheduleError):
            next_fire(kind, schedule, "UTC", utc(2026, 11, 25))

    def test_it_rejects_an_unknown_zone(self) -> None:
        with pytest.raises(ScheduleError):
            next_fire("cron", "* * * * *", "Mars/Olympus_Mons", utc(2026, 11, 25))


class TestUpcoming:
    def test_it_lists_five_times_by_default(self) -> None:
        times = upcoming("cron", "*/15 * * * *", "UTC", utc(2026, 11, 25, 10, 1))
        assert times == [utc(2026, 11, 25, 10, m) for m in (15, 30, 45)] + [
            utc(2026, 11, 25, 11, 0),
            utc(2026, 11, 25, 11, 15),
        ]

    def test_it_stops_where_the_schedule_ends(self) -> None:
        times = upcoming("oncalendar", "2030-01-01,02 00:00", "UTC", utc(2029, 6, 1), 5)
        assert times == [utc(2030, 1, 1), utc(2030, 1, 2)]


def test_the_zone_list_is_read_from_disk_once(monkeypatch) -> None:
    # available_timezones() walks the zoneinfo tree; every schedule check asks for a zone.
    from app.domain import schedules

    calls = []

    def counted() -> set[str]:
        calls.append(1)
        return {"Europe/Riga", "UTC"}

    monkeypatch.setattr(schedules, "available_timezones", counted)
    schedules._known_zones.cache_clear()
    try:
        for _ in range(3):
            assert schedules.normalize_timezone("Europe/Riga") == "Europe/Riga"
        assert len(calls) == 1
    finally:
        schedules._known_zones.cache_clear()
