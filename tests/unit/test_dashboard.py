"""The checks page's rules without HTTP: filter parsing, when a row changes by time alone,
and what a live stream sends for a set of changed checks."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.domain import dashboard
from app.domain.dashboard import CheckFilter, CheckRow, LiveRows, next_change
from app.domain.errors import ValidationError
from app.web.sse import seconds_until

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def row(check_id: int = 1, **fields: object) -> CheckRow:
    values: dict[str, object] = {
        "id": check_id,
        "code": uuid.uuid4(),
        "project_id": 1,
        "name": f"check {check_id}",
        "slug": "",
        "tags": "",
        "desc": "",
        "created": NOW,
        "kind": "simple",
        "timeout": 86400,
        "grace": 3600,
        "schedule": "* * * * *",
        "tz": "UTC",
        "status": "new",
        "last_ping": None,
        "last_start": None,
    }
    values.update(fields)
    return CheckRow(**values)  # type: ignore[arg-type]


# --- parsing -------------------------------------------------------------------------------------


def test_it_parses_the_query_and_drops_blanks_and_repeats() -> None:
    wanted = dashboard.parse_filter(" db ", ["prod", "", "prod", "web"], ["up", "up"], "-name")
    assert wanted == CheckFilter(
        q="db", tags=("prod", "web"), statuses=("up",), sort="name", descending=True
    )
    assert wanted.sort_param == "-name"
    assert wanted.active


def test_the_default_is_every_check_by_creation() -> None:
    wanted = dashboard.parse_filter(None, [], [""], None)
    assert wanted == CheckFilter()
    assert not wanted.active


@pytest.mark.parametrize(
    ("statuses", "sort", "message"),
    [(["late"], None, "unknown status: late"), ([], "--name", "unknown sort order: --name")],
)
def test_it_refuses_unknown_values(statuses: list[str], sort: str | None, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        dashboard.parse_filter("", [], statuses, sort)


# --- next_change ---------------------------------------------------------------------------------


def test_an_up_check_changes_when_grace_starts_and_again_when_it_ends() -> None:
    up = row(status="up", last_ping=NOW - timedelta(hours=23))
    assert next_change(up, NOW) == NOW + HOUR
    assert next_change(up, NOW + HOUR) == NOW + 2 * HOUR
    assert next_change(up, NOW + 2 * HOUR) is None


def test_a_running_check_goes_down_when_its_grace_ends() -> None:
    running = row(status="up", last_ping=NOW, last_start=NOW - timedelta(minutes=30))
    assert next_change(running, NOW) == NOW + timedelta(minutes=30)


def test_a_cron_check_is_due_at_its_next_fire_time() -> None:
    cron = row(kind="cron", schedule="0 * * * *", status="up", last_ping=NOW)
    assert next_change(cron, NOW) == NOW + HOUR


@pytest.mark.parametrize("status", ["new", "paused", "down"])
def test_checks_that_wait_for_a_ping_never_change_on_their_own(status: str) -> None:
    assert next_change(row(status=status, last_ping=NOW - 30 * HOUR), NOW) is None


def test_the_wait_is_bounded_by_the_keepalive_and_never_zero() -> None:
    assert seconds_until(None, NOW, 15) == 15
    assert seconds_until(NOW + timedelta(seconds=3), NOW, 15) == 3
    assert seconds_until(NOW + HOUR, NOW, 15) == 15
    assert seconds_until(NOW - HOUR, NOW, 15) == 0.05


# --- LiveRows ------------------------------------------------------------------------------------


def tracked(wanted: CheckFilter, *rows: CheckRow) -> LiveRows:
    known = LiveRows(wanted)
    known.track(rows, NOW)
    return known


def test_a_shown_row_that_changes_is_re_rendered() -> None:
    before = row(1)
    known = tracked(CheckFilter(), before)
    after = replace(before, status="up", last_ping=NOW)
    update = known.update({1}, [after], NOW)
    assert (update.rows, update.reload) == ([after], False)
    assert known.next_deadline() == NOW + timedelta(days=1)


def test_new_and_deleted_checks_reload_the_list() -> None:
    known = tracked(CheckFilter(), row(1))
    assert known.update({2}, [row(2)], NOW).reload  # new in this project
    assert known.update({1}, [], NOW).reload  # gone
    assert known.update({3}, [], NOW).rows == []  # another project's: nothing
    assert not known.update({3}, [], NOW).reload


def test_rows_entering_or_leaving_the_filter_reload_the_list() -> None:
    only_up = CheckFilter(statuses=("up",))
    up = row(1, status="up", last_ping=NOW)
    paused = row(2, status="paused")
    known = tracked(only_up, up, paused)
    assert known.update({1}, [replace(up, status="down")], NOW).reload
    assert known.update({2}, [replace(paused, name="renamed")], NOW) == dashboard.LiveUpdate()


def test_a_deadline_re_renders_only_rows_whose_status_moved() -> None:
    due = row(1, status="up", last_ping=NOW - timedelta(hours=23))
    later = row(2, status="up", last_ping=NOW)
    known = tracked(CheckFilter(), due, later)
    assert known.next_deadline() == NOW + HOUR
    assert known.expire(NOW + timedelta(minutes=59)).rows == []
    update = known.expire(NOW + HOUR)
    assert [r.id for r in update.rows] == [1]
    assert known.statuses[1] == "grace"
    assert known.next_deadline() == NOW + 2 * HOUR
