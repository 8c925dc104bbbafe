"""Reports: when they are due, what downtime they show, and that each goes out exactly once."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from app.config import Settings
from app.db import models as m
from app.db.engine import Database
from app.domain import reports
from app.domain.reports import Period, downtime_periods, next_report_date, report_periods
from tests.smtp import Inbox, smtp_server

RIGA = "Europe/Riga"
NEW_YORK = "America/New_York"
HOUR = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- next_report_date ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "tz", "after", "expected"),
    [
        # Riga is UTC+2 in winter (EET), UTC+3 in summer (EEST); 09:00 local either way.
        ("daily", RIGA, utc(2026, 1, 15, 7, 0), utc(2026, 1, 16, 7, 0)),
        ("daily", RIGA, utc(2026, 1, 15, 6, 0), utc(2026, 1, 16, 7, 0)),  # 08:00: still tomorrow
        ("daily", RIGA, utc(2026, 3, 28, 7, 0), utc(2026, 3, 29, 6, 0)),  # into summer time
        ("daily", RIGA, utc(2026, 10, 24, 6, 0), utc(2026, 10, 25, 7, 0)),  # back to winter
        ("daily", RIGA, utc(2026, 1, 15, 22, 30), utc(2026, 1, 17, 7, 0)),  # already the 16th
        ("daily", NEW_YORK, utc(2026, 3, 7, 14, 0), utc(2026, 3, 8, 13, 0)),  # EST → EDT
        ("daily", NEW_YORK, utc(2026, 11, 1, 3, 0), utc(2026, 11, 1, 14, 0)),  # Oct 31 local
        ("daily", NEW_YORK, utc(2028, 2, 28, 14, 0), utc(2028, 2, 29, 14, 0)),  # leap day
        ("weekly", RIGA, utc(2026, 1, 15, 7, 0), utc(2026, 1, 19, 7, 0)),  # Thu → Mon
        ("weekly", RIGA, utc(2026, 1, 19, 6, 0), utc(2026, 1, 26, 7, 0)),  # Mon 08:00 → next
        ("weekly", RIGA, utc(2026, 3, 25, 7, 0), utc(2026, 3, 30, 6, 0)),  # across the DST switch
        ("weekly", NEW_YORK, utc(2026, 1, 19, 2, 0), utc(2026, 1, 19, 14, 0)),  # Sun 21:00 local
        ("monthly", RIGA, utc(2026, 1, 15, 7, 0), utc(2026, 2, 1, 7, 0)),
        ("monthly", RIGA, utc(2026, 1, 31, 21, 0), utc(2026, 2, 1, 7, 0)),  # Jan 31 23:00 local
        ("monthly", RIGA, utc(2026, 1, 31, 23, 30), utc(2026, 3, 1, 7, 0)),  # Feb 1 01:30 local
        ("monthly", RIGA, utc(2026, 3, 1, 7, 0), utc(2026, 4, 1, 6, 0)),  # April is summer time
        ("monthly", RIGA, utc(2026, 12, 31, 12, 0), utc(2027, 1, 1, 7, 0)),  # year end
        ("monthly", NEW_YORK, utc(2026, 2, 28, 14, 0), utc(2026, 3, 1, 14, 0)),
        ("monthly", NEW_YORK, utc(2026, 3, 1, 14, 0), utc(2026, 4, 1, 13, 0)),
        ("monthly", NEW_YORK, utc(2026, 2, 1, 4, 30), utc(2026, 2, 1, 14, 0)),  # Jan 31 local
    ],
)
def test_the_next_report_is_at_nine_in_the_morning_of_the_users_next_period(
    kind: str, tz: str, after: datetime, expected: datetime
) -> None:
    assert next_report_date(kind, tz, after) == expected


def test_no_report_date_when_reports_are_off() -> None:
    assert next_report_date("off", RIGA, utc(2026, 1, 15, 7, 0)) is None


def test_an_unknown_time_zone_schedules_in_utc() -> None:
    assert next_report_date("daily", "Mars/Olympus", utc(2026, 1, 15, 7)) == utc(2026, 1, 16, 9)


# --- periods and downtime -----------------------------------------------------------------------


@dataclass(frozen=True)
class F:
    created: datetime
    old_status: str
    new_status: str
    reason: str = ""


def day(tz: str, now: datetime) -> Period:
    [period] = report_periods("daily", tz, now)
    return period


def test_periods_are_complete_local_days_weeks_and_months() -> None:
    now = utc(2026, 1, 19, 14, 0)  # Monday 09:00 in New York
    [week] = report_periods("weekly", NEW_YORK, now)
    assert (week.start, week.end) == (utc(2026, 1, 12, 5), utc(2026, 1, 19, 5))
    [march] = report_periods("monthly", NEW_YORK, utc(2026, 4, 1, 13))
    assert (march.start, march.end) == (utc(2026, 3, 1, 5), utc(2026, 4, 1, 4))
    assert march.label == "March 2026"
    current, yesterday, before = report_periods("daily", RIGA, now, 2, include_current=True)
    assert current.start == yesterday.end == utc(2026, 1, 18, 22)
    assert before.end == yesterday.start == utc(2026, 1, 17, 22)


def test_an_outage_across_a_period_boundary_is_split_between_both_periods() -> None:
    now = utc(2026, 1, 16, 7)
    periods = report_periods("daily", RIGA, now, 2)  # Jan 15 and Jan 14, Riga time
    flips = [F(utc(2026, 1, 14, 20), "up", "down"), F(utc(2026, 1, 15, 1), "down", "up")]
    jan15, jan14 = downtime_periods(flips, now, "up", periods, utc(2026, 1, 1))
    assert jan14.period.end == utc(2026, 1, 14, 22)  # local midnight
    assert (jan14.outages, jan14.down_seconds) == (1, 2 * 3600)
    assert (jan15.outages, jan15.down_seconds) == (1, 3 * 3600)


def test_nag_flips_do_not_split_or_extend_an_outage() -> None:
    now = utc(2026, 1, 15, 7)
    flips = [
        F(utc(2026, 1, 14, 8), "up", "down", "timeout"),
        F(utc(2026, 1, 14, 9), "down", "down", "nag"),
        F(utc(2026, 1, 14, 10), "down", "down", "nag"),
        F(utc(2026, 1, 14, 11), "down", "up"),
        F(utc(2026, 1, 14, 12), "down", "down", "nag"),  # a stray late nag: not an outage
    ]
    [downtime] = downtime_periods(flips, now, "up", [day(RIGA, now)])
    assert (downtime.outages, downtime.down_seconds) == (1, 3 * 3600)


def test_paused_and_new_are_not_down() -> None:
    now = utc(2026, 1, 15, 7)
    flips = [
        F(utc(2026, 1, 14, 1), "up", "down"),
        F(utc(2026, 1, 14, 2), "down", "paused"),
        F(utc(2026, 1, 14, 5), "paused", "new"),
        F(utc(2026, 1, 14, 9), "new", "down"),
        F(utc(2026, 1, 14, 10), "down", "up"),
    ]
    [downtime] = downtime_periods(flips, now, "up", [day(RIGA, now)])
    assert (downtime.outages, downtime.down_seconds) == (2, 2 * 3600)


def test_a_check_still_down_is_down_until_now_and_across_whole_periods() -> None:
    now = utc(2026, 1, 16, 7)
    periods = report_periods("daily", RIGA, now, 3, include_current=True)
    flips = [F(utc(2026, 1, 13, 21), "up", "down")]  # Jan 13, 23:00 Riga; no flip since
    current, jan15, jan14, jan13 = downtime_periods(flips, now, "down", periods)
    assert (current.down_seconds, current.seconds) == (9 * 3600, 9 * 3600)
    assert (jan15.outages, jan15.down_seconds, jan15.uptime) == (1, 86400, 0.0)
    assert (jan14.outages, jan14.down_seconds) == (1, 86400)
    assert (jan13.outages, jan13.down_seconds) == (1, 3600)


def test_uptime_is_the_share_of_the_period_not_spent_down_on_a_short_dst_day() -> None:
    now = utc(2026, 3, 30, 6)
    period = day(RIGA, now)  # Sunday 29 March 2026 in Riga: 23 hours
    assert period.end - period.start == timedelta(hours=23)
    flips = [F(utc(2026, 3, 29, 10), "up", "down"), F(utc(2026, 3, 29, 11), "down", "up")]
    [downtime] = downtime_periods(flips, now, "up", [period])
    assert downtime.uptime == pytest.approx(22 / 23 * 100)
    assert reports.format_uptime(downtime.uptime) == "95.65%"
    assert reports.format_uptime(99.9999) == "99.99%"
    assert reports.format_uptime(100.0) == "100.00%"


def test_periods_before_the_check_existed_have_no_data() -> None:
    now = utc(2026, 1, 16, 7)
    periods = report_periods("daily", RIGA, now, 3)
    jan15, jan14, jan13 = downtime_periods([], now, "down", periods, created=utc(2026, 1, 14, 12))
    assert jan13.no_data
    assert not jan14.no_data and not jan15.no_data
    # down since it was created at 14:00 Riga time: ten hours of that day
    assert (jan14.outages, jan14.down_seconds) == (1, 10 * 3600)
    assert (jan15.outages, jan15.down_seconds) == (1, 86400)


def test_downtime_reads_as_days_hours_and_minutes() -> None:
    assert reports.format_downtime(0) == "none"
    assert reports.format_downtime(42) == "42 sec"
    assert reports.format_downtime(4 * 3600 + 30 * 60) == "4 h 30 min"
    assert reports.format_downtime(86400 + 3600) == "1 day 1 h"
    assert reports.format_downtime(3 * 86400 + 60) == "3 days 1 min"


# --- the database side --------------------------------------------------------------------------


async def report_user(
    factory: Any,
    *,
    tz: str = RIGA,
    kind: str = "daily",
    next_date: datetime | None = None,
    email_address: str | None = None,
) -> m.User:
    user = await factory.user(email_address)
    async with factory.db.engine.begin() as conn:
        await conn.execute(
            update(m.Profile)
            .where(m.Profile.user_id == user.id)
            .values(tz=tz, reports=kind, next_report_date=next_date)
        )
    return user


async def add_flips(db: Database, check: m.Check, *flips: F) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(m.Flip),
            [
                {
                    "check_id": check.id,
                    "created": f.created,
                    "processed": f.created,
                    "old_status": f.old_status,
                    "new_status": f.new_status,
                    "reason": f.reason,
                }
                for f in flips
            ],
        )


async def add_member(db: Database, project: m.Project, user: m.User) -> None:
    async with db.sessionmaker() as session, session.begin():
        session.add(m.Member(project_id=project.id, user_id=user.id, role="regular"))


async def next_date(db: Database, user: m.User) -> datetime | None:
    async with db.engine.connect() as conn:
        return (
            await conn.execute(
                select(m.Profile.next_report_date).where(m.Profile.user_id == user.id)
            )
        ).scalar_one()


class Rows(HTMLParser):
    """The text of every cell of every check row of the HTML part."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr" and ("class", "check") in attrs:
            self.rows.append([])
        elif tag == "td" and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def html_rows(html: str) -> list[list[str]]:
    parser = Rows()
    parser.feed(html)
    return parser.rows


async def alices_world(factory: Any, db: Database) -> m.User:
    """Alice (Riga, daily) owns "Backups" and is a member of Bob's "Team"."""
    alice = await report_user(factory, email_address="alice@example.org")
    bob = await report_user(factory, kind="off", email_address="bob@example.org")
    backups, _ = await factory.project(alice, name="Backups")
    team, _ = await factory.project(bob, name="Team")
    private, _ = await factory.project(bob, name="Private")
    await add_member(db, team, alice)
    created = utc(2026, 1, 1)
    nightly = await factory.check(
        backups, name="nightly-db", status="up", created=created, last_ping=utc(2026, 1, 15, 6)
    )
    await add_flips(
        db,
        nightly,
        F(utc(2026, 1, 14, 10), "up", "down", "timeout"),
        F(utc(2026, 1, 14, 11), "down", "down", "nag"),
        F(utc(2026, 1, 14, 12, 30), "down", "up"),
        F(utc(2026, 1, 14, 20), "up", "down", "fail"),  # 22:00 Riga…
        F(utc(2026, 1, 15, 0, 30), "down", "up"),  # …until 02:30 on the 15th
    )
    await factory.check(backups, name="web-probe", status="up", created=created)
    await factory.check(backups, name="fresh-cron", status="new", created=utc(2026, 1, 15, 1))
    shared = await factory.check(team, name="shared", status="down", created=created)
    await add_flips(db, shared, F(utc(2026, 1, 14, 21), "up", "down", "timeout"))
    await factory.check(private, name="private-job", status="up", created=created)
    return alice


async def test_a_report_lists_every_check_of_the_users_projects_with_the_periods_numbers(
    db: Database, factory: Any, settings: Settings
) -> None:
    alice = await alices_world(factory, db)
    message = await reports.build_report(db, alice.id, utc(2026, 1, 15, 7), settings)
    assert message is not None
    assert message["Subject"] == "Daily Report"
    assert message["To"] == "alice@example.org"
    text, html = parts(message)

    assert "Wednesday, 14 January 2026" in text
    assert "2 of 4 checks had downtime: 3 outages in total." in text
    assert text.index("== Backups ==") < text.index("nightly-db") < text.index("== Team ==")
    assert "nightly-db [up]\n    Last ping: 2026-01-15 08:00 EET\n" in text
    assert "Outages: 2, downtime: 4 h 30 min, uptime: 81.25%" in text  # (24 h - 4.5 h) / 24 h
    assert "web-probe [up]\n    Last ping: never\n    Outages: 0, downtime: none" in text
    assert "fresh-cron [new]" in text and "No data for this period" in text
    assert "shared [down]" in text and "Outages: 1, downtime: 1 h, uptime: 95.83%" in text
    assert "private-job" not in text

    assert html_rows(html) == [
        ["fresh-cron", "new", "never", "no data"],
        ["nightly-db", "up", "2026-01-15 08:00 EET", "2", "4 h 30 min", "81.25%"],
        ["web-probe", "up", "never", "0", "none", "100.00%"],
        ["shared", "down", "never", "1", "1 h", "95.83%"],
    ]
    assert "private-job" not in html


async def test_a_weekly_report_covers_the_last_iso_week_in_the_users_time_zone(
    db: Database, factory: Any, settings: Settings
) -> None:
    user = await report_user(factory, tz=NEW_YORK, kind="weekly")
    project, _ = await factory.project(user, name="Jobs")
    check = await factory.check(project, name="etl", status="up", created=utc(2026, 1, 1))
    # Sunday 18 Jan 23:00 → Monday 19 Jan 01:00 New York: one hour in each week
    await add_flips(
        db, check, F(utc(2026, 1, 19, 4), "up", "down"), F(utc(2026, 1, 19, 6), "down", "up")
    )
    message = await reports.build_report(db, user.id, utc(2026, 1, 19, 14), settings)
    assert message is not None and message["Subject"] == "Weekly Report"
    text, _ = parts(message)
    assert "week 3 of 2026, 12 January – 18 January 2026" in text
    assert "Outages: 1, downtime: 1 h, uptime: 99.40%" in text  # 167 h of 168 h


async def test_names_are_escaped_in_the_html_part_only(
    db: Database, factory: Any, settings: Settings
) -> None:
    user = await report_user(factory)
    project, _ = await factory.project(user, name="R&D <ops>")
    await factory.check(project, name="<script>x()</script>", created=utc(2026, 1, 1))
    message = await reports.build_report(db, user.id, utc(2026, 1, 15, 7), settings)
    assert message is not None
    text, html = parts(message)
    assert "<script>x()</script> [new]" in text and "== R&D <ops> ==" in text
    assert "&lt;script&gt;x()&lt;/script&gt;" in html and "R&amp;D &lt;ops&gt;" in html
    assert "<script>" not in html


async def test_no_report_for_a_user_without_checks(
    db: Database, factory: Any, settings: Settings
) -> None:
    user = await report_user(factory)
    await factory.project(user, name="Empty")
    assert await reports.build_report(db, user.id, utc(2026, 1, 15, 7), settings) is None


@pytest.fixture
async def inbox() -> AsyncIterator[Inbox]:
    async with smtp_server(Inbox()) as handler:
        yield handler


@pytest.fixture
def smtp_settings(settings: Settings, inbox: Inbox) -> Settings:
    return replace(
        settings,
        email_host="127.0.0.1",
        email_port=inbox.port,
        email_use_tls=False,
        default_from_email="reports@cronbeat.test",
    )


async def user_with_check(factory: Any, email_address: str, **profile: Any) -> m.User:
    user = await report_user(factory, email_address=email_address, **profile)
    project, _ = await factory.project(user, name=f"{email_address} project")
    await factory.check(project, name="job", status="up", created=utc(2026, 1, 1))
    return user


async def test_a_due_report_is_sent_once_and_the_next_one_a_period_later(
    db: Database, factory: Any, clock: Any, smtp_settings: Settings, inbox: Inbox
) -> None:
    clock.now = utc(2026, 1, 15, 7, 5)
    alice = await user_with_check(factory, "alice@example.org", next_date=utc(2026, 1, 15, 7))
    await user_with_check(factory, "off@example.org", kind="off", next_date=utc(2026, 1, 15, 7))
    await user_with_check(factory, "later@example.org", next_date=utc(2026, 1, 15, 8))

    assert await reports.send_due_reports(db, smtp_settings, clock()) == 1
    assert await reports.send_due_reports(db, smtp_settings, clock()) == 0
    assert inbox.recipients() == ["alice@example.org"]
    [(_, message)] = inbox.received
    assert message["Subject"] == "Daily Report"
    assert message["From"] == "reports@cronbeat.test"
    assert await next_date(db, alice) == utc(2026, 1, 16, 7)

    clock.advance(hours=1)
    assert await reports.send_due_reports(db, smtp_settings, clock()) == 1  # later@
    clock.now = utc(2026, 1, 16, 7)  # the next morning both are due again
    assert await reports.send_due_reports(db, smtp_settings, clock()) == 2
    assert await reports.send_due_reports(db, smtp_settings, clock()) == 0
    assert inbox.recipients() == ["alice@example.org"] * 2 + ["later@example.org"] * 2


async def test_two_workers_on_two_connections_send_each_report_exactly_once(
    db: Database, factory: Any, clock: Any, smtp_settings: Settings, inbox: Inbox
) -> None:
    clock.now = utc(2026, 1, 15, 7)
    addresses = [f"user{n}@example.org" for n in range(6)]
    for address in addresses:
        await user_with_check(factory, address, next_date=utc(2026, 1, 15, 7))
    other = Database(smtp_settings.database_url)
    try:
        for day_number in range(3):
            sent = await asyncio.gather(
                reports.send_due_reports(db, smtp_settings, clock()),
                reports.send_due_reports(other, smtp_settings, clock()),
                reports.send_due_reports(db, smtp_settings, clock()),
            )
            assert sum(sent) == len(addresses)
            assert inbox.recipients() == sorted(addresses * (day_number + 1))
            clock.advance(days=1)
    finally:
        await other.dispose()


async def test_a_profile_without_a_date_is_only_scheduled(
    db: Database, factory: Any, clock: Any, smtp_settings: Settings, inbox: Inbox
) -> None:
    clock.now = utc(2026, 1, 15, 12)
    user = await user_with_check(factory, "new@example.org", kind="monthly", next_date=None)
    assert await reports.send_due_reports(db, smtp_settings, clock()) == 0
    assert inbox.received == []
    assert await next_date(db, user) == utc(2026, 2, 1, 7)  # 09:00 in Riga


async def test_a_user_without_checks_is_skipped_until_the_next_period(
    db: Database, factory: Any, clock: Any, smtp_settings: Settings, inbox: Inbox
) -> None:
    clock.now = utc(2026, 1, 19, 7)
    user = await report_user(factory, kind="weekly", next_date=utc(2026, 1, 19, 7))
    assert await reports.send_due_reports(db, smtp_settings, clock()) == 0
    assert inbox.received == []
    assert await next_date(db, user) == utc(2026, 1, 26, 7)


async def test_a_failed_send_is_logged_and_not_retried(
    db: Database,
    factory: Any,
    clock: Any,
    smtp_settings: Settings,
    inbox: Inbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock.now = utc(2026, 1, 15, 7)
    user = await user_with_check(factory, "alice@example.org", next_date=utc(2026, 1, 15, 7))
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    broken = replace(smtp_settings, email_port=closed_port)
    with caplog.at_level(logging.ERROR, logger="cronbeat.reports"):
        assert await reports.send_due_reports(db, broken, clock()) == 0
    assert "report for user" in caplog.text
    assert await next_date(db, user) == utc(2026, 1, 16, 7)
    assert await reports.send_due_reports(db, smtp_settings, clock()) == 0
    assert inbox.received == []
