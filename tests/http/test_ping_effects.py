"""What a ping does to its check: start, duration, rid pairing, status, flips, filters,
pause, alert_after (reference §1.4, §1.5, §2.3–2.6)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest


async def ping(client, check, suffix="", *, method="GET", rid=None, body=None):
    params = {"rid": str(rid)} if rid else None
    r = await client.request(method, f"/ping/{check.code}{suffix}", params=params, content=body)
    assert r.status_code == 200, r.text
    assert r.text == ("" if method == "HEAD" else "OK")
    return r


async def last_ping(factory, check):
    return (await factory.pings(check))[-1]


# --- start and duration ------------------------------------------------------------------


async def test_start_sets_last_start_and_leaves_status(client, factory, clock):
    check = await factory.check()
    await ping(client, check, "/start")
    check = await factory.reload(check)
    assert check.last_start == clock()
    assert check.last_start_rid is None
    assert check.last_ping is None
    assert check.status == "new"
    assert await factory.flips(check) == []


async def test_start_leaves_an_up_check_up(client, factory, clock):
    check = await factory.check(status="up", last_ping=clock() - timedelta(hours=1))
    await ping(client, check, "/start")
    check = await factory.reload(check)
    assert check.status == "up"
    assert check.last_ping == clock() - timedelta(hours=1)
    assert check.last_start == clock()


async def test_start_leaves_a_down_check_down(client, factory, clock):
    check = await factory.check(status="down", last_ping=clock() - timedelta(days=2))
    await ping(client, check, "/start")
    check = await factory.reload(check)
    assert check.status == "down"
    assert check.last_start == clock()
    assert check.alert_after is None


async def test_start_records_the_rid(client, factory):
    rid = uuid.uuid4()
    check = await factory.check()
    await ping(client, check, "/start", rid=rid)
    assert (await factory.reload(check)).last_start_rid == rid


async def test_start_then_success_measures_the_duration(client, factory, clock):
    check = await factory.check()
    await ping(client, check, "/start")
    clock.advance(seconds=75, microseconds=250000)
    await ping(client, check)

    check = await factory.reload(check)
    assert check.last_duration == pytest.approx(75.25)
    assert check.last_start is None
    assert check.last_ping == clock()
    assert check.status == "up"
    pings = await factory.pings(check)
    assert pings[0].duration is None
    assert pings[1].duration == pytest.approx(75.25)


async def test_start_then_fail_measures_the_duration(client, factory, clock):
    check = await factory.check()
    await ping(client, check, "/start")
    clock.advance(30)
    await ping(client, check, "/fail")

    check = await factory.reload(check)
    assert check.last_duration == pytest.approx(30)
    assert check.last_start is None
    assert check.status == "down"
    assert (await last_ping(factory, check)).duration == pytest.approx(30)


async def test_a_second_start_restarts_the_measurement(client, factory, clock):
    check = await factory.check()
    await ping(client, check, "/start")
    clock.advance(100)
    await ping(client, check, "/start")
    clock.advance(20)
    await ping(client, check)
    assert (await factory.reload(check)).last_duration == pytest.approx(20)


async def test_success_without_start_has_no_duration(client, factory):
    check = await factory.check()
    await ping(client, check)
    check = await factory.reload(check)
    assert check.last_duration is None
    assert (await last_ping(factory, check)).duration is None


async def test_success_clears_the_previous_duration(client, factory, clock):
    check = await factory.check()
    await ping(client, check, "/start")
    clock.advance(10)
    await ping(client, check)
    clock.advance(10)
    await ping(client, check)
    assert (await factory.reload(check)).last_duration is None


async def test_start_and_log_keep_the_previous_duration(client, factory, clock):
    check = await factory.check()
    await ping(client, check, "/start")
    clock.advance(10)
    await ping(client, check)
    await ping(client, check, "/log")
    assert (await factory.reload(check)).last_duration == pytest.approx(10)
    await ping(client, check, "/start")
    assert (await factory.reload(check)).last_duration == pytest.approx(10)


# --- rid pairing --------------------------------------------------------------------------


async def test_rid_pairs_start_and_success(client, factory, clock):
    a = uuid.uuid4()
    check = await factory.check()
    await ping(client, check, "/start", rid=a)
    clock.advance(42)
    await ping(client, check, rid=a)
    check = await factory.reload(check)
    assert check.last_start is None
    assert check.last_duration == pytest.approx(42)
    assert (await last_ping(factory, check)).duration == pytest.approx(42)


async def test_overlapping_runs_each_get_their_duration(client, factory, clock):
    a, b = uuid.uuid4(), uuid.uuid4()
    check = await factory.check()
    await ping(client, check, "/start", rid=a)
    clock.advance(10)
    await ping(client, check, "/start", rid=b)
    clock.advance(5)
    await ping(client, check, rid=a)  # the check's own start is b's now
    clock.advance(7)
    await ping(client, check, "/fail", rid=b)

    durations = [(p.kind, p.duration) for p in await factory.pings(check)]
    assert durations == [("start", None), ("start", None), ("success", 15), ("fail", 12)]
    check = await factory.reload(check)
    assert check.last_duration == pytest.approx(12)  # b closed the check's start


async def test_a_run_keeps_its_start_when_another_run_fails(client, factory, clock):
    a, b = uuid.uuid4(), uuid.uuid4()
    check = await factory.check()
    await ping(client, check, "/start", rid=a)
    clock.advance(3)
    await ping(client, check, "/fail", rid=b)  # clears the check's start, not a's run
    clock.advance(4)
    await ping(client, check, rid=a)

    assert (await last_ping(factory, check)).duration == pytest.approx(7)
    assert (await factory.reload(check)).last_duration is None


async def test_a_run_closes_once(client, factory, clock):
    a = uuid.uuid4()
    check = await factory.check()
    await ping(client, check, "/start", rid=a)
    clock.advance(5)
    await ping(client, check, rid=a)
    clock.advance(5)
    await ping(client, check, "/log", rid=a)  # a log neither opens nor closes a run
    await ping(client, check, rid=a)

    assert [p.duration for p in await factory.pings(check)] == [None, 5, None, None]


async def test_a_start_older_than_72_hours_closes_no_run(client, factory, clock):
    a = uuid.uuid4()
    check = await factory.check()
    await ping(client, check, "/start", rid=a)
    clock.advance(72 * 3600 + 1)
    await ping(client, check, "/start", rid=uuid.uuid4())
    await ping(client, check, rid=a)

    assert (await last_ping(factory, check)).duration is None


async def test_success_with_another_rid_keeps_the_start(client, factory, clock):
    a, b = uuid.uuid4(), uuid.uuid4()
    check = await factory.check()
    await ping(client, check, "/start", rid=a)
    started = clock()
    clock.advance(5)
    await ping(client, check, rid=b)

    check = await factory.reload(check)
    assert check.last_start == started
    assert check.last_start_rid == a
    assert check.last_duration is None
    assert check.last_ping == clock()
    assert check.status == "up"
    assert (await last_ping(factory, check)).duration is None


async def test_fail_with_another_rid_clears_the_start(client, factory, clock):
    a, b = uuid.uuid4(), uuid.uuid4()
    check = await factory.check()
    await ping(client, check, "/start", rid=a)
    clock.advance(5)
    await ping(client, check, "/fail", rid=b)

    check = await factory.reload(check)
    assert check.last_start is None
    assert check.last_duration is None
    assert check.status == "down"
    assert (await last_ping(factory, check)).duration is None


async def test_success_without_rid_clears_a_start_with_rid(client, factory, clock):
    a = uuid.uuid4()
    check = await factory.check()
    await ping(client, check, "/start", rid=a)
    clock.advance(5)
    await ping(client, check)

    check = await factory.reload(check)
    assert check.last_start is None
    assert check.last_duration is None
    assert (await last_ping(factory, check)).duration is None


async def test_success_with_rid_keeps_a_start_without_rid(client, factory, clock):
    check = await factory.check()
    await ping(client, check, "/start")
    started = clock()
    clock.advance(5)
    await ping(client, check, rid=uuid.uuid4())
    check = await factory.reload(check)
    assert check.last_start == started
    assert check.last_duration is None


async def test_overlapping_runs_measure_their_own_durations(client, factory, clock):
    a, b = uuid.uuid4(), uuid.uuid4()
    check = await factory.check()
    await ping(client, check, "/start", rid=a)
    clock.advance(10)
    await ping(client, check, "/start", rid=b)
    clock.advance(5)
    await ping(client, check, rid=b)
    check = await factory.reload(check)
    assert check.last_duration == pytest.approx(5)
    assert check.last_start is None


async def test_uppercase_rid_pairs_with_lowercase_rid(client, factory, clock):
    a = uuid.uuid4()
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}/start?rid={str(a).upper()}")
    assert r.status_code == 200
    clock.advance(3)
    await ping(client, check, rid=a)
    assert (await factory.reload(check)).last_duration == pytest.approx(3)


# --- status and flips ---------------------------------------------------------------------


async def with_channel(factory, check):
    """A flip is unprocessed only while a channel still has to hear about it."""
    project = await factory.reload_project(check)
    await factory.assign(check, await factory.channel(project, value={"url_down": "http://x"}))
    return check


async def test_fail_makes_the_check_down(client, factory, clock):
    check = await factory.check(status="up", last_ping=clock() - timedelta(minutes=5))
    await with_channel(factory, check)
    await ping(client, check, "/fail")
    check = await factory.reload(check)
    assert check.status == "down"
    assert check.last_ping == clock()

    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status) == ("up", "down")
    assert flip.reason == "fail"
    assert flip.created == clock()
    assert flip.processed is None


async def test_nonzero_exit_status_flips_with_reason_fail(client, factory):
    check = await factory.check(status="up")
    await ping(client, check, "/3")
    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status, flip.reason) == ("up", "down", "fail")


async def test_success_after_down_makes_the_check_up(client, factory, clock):
    check = await factory.check(status="down")
    await with_channel(factory, check)
    clock.advance(60)
    await ping(client, check)
    check = await factory.reload(check)
    assert check.status == "up"

    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status) == ("down", "up")
    assert flip.reason == ""
    assert flip.created == clock()
    assert flip.processed is None


async def test_first_success_flips_new_to_up_already_processed(client, factory, clock):
    check = await factory.check()
    await ping(client, check)
    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status) == ("new", "up")
    assert flip.reason == ""
    assert flip.processed is not None


async def test_first_fail_flips_new_to_down_unprocessed(client, factory):
    check = await with_channel(factory, await factory.check())
    await ping(client, check, "/fail")
    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status, flip.reason) == ("new", "down", "fail")
    assert flip.processed is None


async def test_up_to_down_flip_is_unprocessed(client, factory):
    check = await with_channel(factory, await factory.check())
    await ping(client, check)
    await ping(client, check, "/fail")
    flips = await factory.flips(check)
    assert [(f.old_status, f.new_status) for f in flips] == [("new", "up"), ("up", "down")]
    assert flips[0].processed is not None
    assert flips[1].processed is None


async def test_repeated_pings_flip_only_on_change(client, factory):
    check = await factory.check()
    for suffix in ("", "", "/fail", "/fail", "/1", "/0", "", "/start", ""):
        await ping(client, check, suffix)
    flips = await factory.flips(check)
    assert [(f.old_status, f.new_status) for f in flips] == [
        ("new", "up"),
        ("up", "down"),
        ("down", "up"),
    ]


async def test_log_changes_nothing_but_the_count(client, factory, clock):
    last = clock() - timedelta(minutes=30)
    due = last + timedelta(days=1, hours=1)
    check = await factory.check(status="up", last_ping=last, alert_after=due)
    before = await factory.reload(check)
    clock.advance(60)
    await ping(client, check, "/log", body=b"some output")

    check = await factory.reload(check)
    assert check.n_pings == before.n_pings + 1
    for field in ("status", "last_ping", "last_start", "last_duration", "alert_after"):
        assert getattr(check, field) == getattr(before, field), field
    assert await factory.flips(check) == []
    log = await last_ping(factory, check)
    assert log.kind == "log"
    assert log.body == b"some output"


async def test_log_on_a_new_check_keeps_it_new(client, factory):
    check = await factory.check()
    await ping(client, check, "/log")
    check = await factory.reload(check)
    assert check.status == "new"
    assert check.alert_after is None


# --- methods = "POST" ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"])
async def test_post_only_check_ignores_other_methods(client, factory, method):
    check = await factory.check(methods="POST")
    await ping(client, check, method=method)
    check = await factory.reload(check)
    assert check.status == "new"
    assert check.last_ping is None
    assert check.n_pings == 1
    p = await last_ping(factory, check)
    assert p.kind == "ign"
    assert p.method == method


async def test_post_only_check_ignores_get_fail_and_start(client, factory):
    check = await factory.check(methods="POST", status="up")
    await ping(client, check, "/fail")
    await ping(client, check, "/start")
    check = await factory.reload(check)
    assert check.status == "up"
    assert check.last_start is None
    assert [p.kind for p in await factory.pings(check)] == ["ign", "ign"]


async def test_post_only_check_counts_post(client, factory):
    check = await factory.check(methods="POST")
    await ping(client, check, method="POST")
    check = await factory.reload(check)
    assert check.status == "up"
    assert (await last_ping(factory, check)).kind == "success"


async def test_post_only_check_ignores_get_even_with_body_filter(client, factory):
    check = await factory.check(methods="POST", filter_http_body=True, success_kw="OK")
    await ping(client, check, method="PUT", body=b"OK")
    assert (await last_ping(factory, check)).kind == "ign"


# --- filter_http_body ---------------------------------------------------------------------


def kw_check(factory, **fields):
    values = {
        "filter_http_body": True,
        "success_kw": "SUCCESS, all good",
        "failure_kw": "ERROR,FATAL ",
        "start_kw": " STARTING",
    }
    values.update(fields)
    return factory.check(**values)


@pytest.mark.parametrize(
    ("body", "kind", "status"),
    [
        (b"job SUCCESS at 12:00", "success", "up"),
        (b"we are all good here", "success", "up"),
        (b"ERROR: disk full", "fail", "down"),
        (b"FATAL", "fail", "down"),
        (b"STARTING backup", "start", "new"),
        (b"error in lower case", "ign", "new"),
        (b"success in lower case", "ign", "new"),
        (b"all  good", "ign", "new"),
        (b"nothing to see", "ign", "new"),
        (b"", "ign", "new"),
    ],
)
async def test_body_filter_decides_the_kind(client, factory, body, kind, status):
    check = await kw_check(factory)
    await ping(client, check, method="POST", body=body)
    assert (await last_ping(factory, check)).kind == kind
    assert (await factory.reload(check)).status == status


async def test_body_filter_prefers_failure_then_success_then_start(client, factory):
    check = await kw_check(factory)
    await ping(client, check, method="POST", body=b"STARTING ... SUCCESS ... ERROR")
    await ping(client, check, method="POST", body=b"STARTING ... SUCCESS")
    await ping(client, check, method="POST", body=b"STARTING ...")
    assert [p.kind for p in await factory.pings(check)] == ["fail", "success", "start"]


async def test_body_filter_ignores_empty_keywords(client, factory):
    check = await kw_check(factory, success_kw=" , ,", failure_kw="", start_kw=",")
    await ping(client, check, method="POST", body=b"anything , at all")
    assert (await last_ping(factory, check)).kind == "ign"


async def test_body_filter_strips_unicode_whitespace_from_keywords(client, factory):
    check = await kw_check(factory, success_kw="\u00a0done\u2003,\x1cfinished\x85")
    await ping(client, check, method="POST", body=b"job done.")
    await ping(client, check, method="POST", body=b"finished")
    assert [p.kind for p in await factory.pings(check)] == ["success", "success"]


async def test_body_filter_matches_non_ascii_keywords(client, factory):
    check = await kw_check(factory, success_kw="réussi, 完了")
    await ping(client, check, method="POST", body="sauvegarde réussie".encode())
    await ping(client, check, method="POST", body="バックアップ完了".encode())
    assert [p.kind for p in await factory.pings(check)] == ["success", "success"]


async def test_body_filter_reads_invalid_utf8_with_replacement(client, factory):
    check = await kw_check(factory, success_kw="\ufffdOK")
    await ping(client, check, method="POST", body=b"\x00\x01\xffOK\x00")
    assert (await last_ping(factory, check)).kind == "success"


async def test_body_filter_does_not_match_across_a_nul(client, factory):
    check = await kw_check(factory, success_kw="OK")
    await ping(client, check, method="POST", body=b"O\x00K")
    assert (await last_ping(factory, check)).kind == "ign"


async def test_body_filter_default_fail(client, factory):
    check = await kw_check(factory, filter_default_fail=True, status="up")
    await ping(client, check, method="POST", body=b"nothing to see")
    assert (await last_ping(factory, check)).kind == "fail"
    check = await factory.reload(check)
    assert check.status == "down"
    [flip] = await factory.flips(check)
    assert flip.reason == "fail"


async def test_body_filter_default_fail_still_matches_keywords(client, factory):
    check = await kw_check(factory, filter_default_fail=True)
    await ping(client, check, method="POST", body=b"SUCCESS")
    assert (await last_ping(factory, check)).kind == "success"


@pytest.mark.parametrize(
    ("suffix", "body", "kind"),
    [
        ("/start", b"SUCCESS", "success"),
        ("/log", b"SUCCESS", "success"),
        ("/log", b"ERROR", "fail"),
        ("/fail", b"SUCCESS", "success"),
        ("/1", b"SUCCESS", "success"),
        ("", b"STARTING", "start"),
        ("/start", b"nothing", "ign"),
        ("/log", b"nothing", "ign"),
    ],
)
async def test_body_filter_overrides_the_url_action(client, factory, suffix, body, kind):
    check = await kw_check(factory)
    await ping(client, check, suffix, method="POST", body=body)
    assert (await last_ping(factory, check)).kind == kind


async def test_body_filter_off_ignores_keywords(client, factory):
    check = await kw_check(factory, filter_http_body=False)
    await ping(client, check, method="POST", body=b"ERROR")
    assert (await last_ping(factory, check)).kind == "success"


# --- paused -------------------------------------------------------------------------------


async def test_success_unpauses_a_paused_check(client, factory, clock):
    check = await factory.check(status="paused")
    await ping(client, check)
    check = await factory.reload(check)
    assert check.status == "up"
    assert check.alert_after == clock() + timedelta(days=1, hours=1)
    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status) == ("paused", "up")
    assert flip.processed is not None


async def test_fail_on_a_paused_check_makes_it_down_and_notifies(client, factory):
    check = await with_channel(factory, await factory.check(status="paused"))
    await ping(client, check, "/fail")
    assert (await factory.reload(check)).status == "down"
    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status, flip.reason) == ("paused", "down", "fail")
    assert flip.processed is None


async def test_start_on_a_paused_check_keeps_it_paused(client, factory, clock):
    check = await factory.check(status="paused")
    await ping(client, check, "/start")
    check = await factory.reload(check)
    assert check.status == "paused"
    assert check.last_start == clock()
    assert check.alert_after == clock() + timedelta(hours=1)


@pytest.mark.parametrize("suffix", ["", "/start", "/fail", "/log", "/0", "/5"])
async def test_manual_resume_ignores_pings(client, factory, suffix):
    check = await factory.check(status="paused", manual_resume=True)
    await ping(client, check, suffix)
    check = await factory.reload(check)
    assert check.status == "paused"
    assert check.last_ping is None
    assert check.last_start is None
    assert check.alert_after is None
    assert check.n_pings == 1
    assert (await last_ping(factory, check)).kind == "ign"
    assert await factory.flips(check) == []


async def test_manual_resume_ignores_filtered_pings(client, factory):
    check = await kw_check(factory, status="paused", manual_resume=True)
    await ping(client, check, method="POST", body=b"ERROR")
    assert (await last_ping(factory, check)).kind == "ign"
    assert (await factory.reload(check)).status == "paused"


async def test_manual_resume_matters_only_while_paused(client, factory):
    check = await factory.check(status="up", manual_resume=True)
    await ping(client, check, "/fail")
    assert (await factory.reload(check)).status == "down"
    await ping(client, check)
    assert (await factory.reload(check)).status == "up"


# --- alert_after --------------------------------------------------------------------------


async def test_success_sets_alert_after_to_timeout_plus_grace(client, factory, clock):
    check = await factory.check(timeout=600, grace=120)
    await ping(client, check)
    assert (await factory.reload(check)).alert_after == clock() + timedelta(seconds=720)


async def test_default_alert_after_is_one_day_and_one_hour(client, factory, clock):
    check = await factory.check()
    await ping(client, check)
    assert (await factory.reload(check)).alert_after == clock() + timedelta(days=1, hours=1)


async def test_start_on_a_new_check_sets_alert_after_to_grace(client, factory, clock):
    check = await factory.check(timeout=600, grace=120)
    await ping(client, check, "/start")
    assert (await factory.reload(check)).alert_after == clock() + timedelta(seconds=120)


async def test_start_on_an_up_check_pulls_alert_after_earlier(client, factory, clock):
    check = await factory.check(timeout=600, grace=120)
    await ping(client, check)
    clock.advance(60)
    await ping(client, check, "/start")
    assert (await factory.reload(check)).alert_after == clock() + timedelta(seconds=120)


async def test_start_late_in_the_period_keeps_the_earlier_alert_after(client, factory, clock):
    check = await factory.check(timeout=600, grace=120)
    await ping(client, check)
    pinged = clock()
    clock.advance(700)  # past timeout: the running start is later than the due time
    await ping(client, check, "/start")
    assert (await factory.reload(check)).alert_after == pinged + timedelta(seconds=720)


async def test_success_after_start_moves_alert_after(client, factory, clock):
    check = await factory.check(timeout=600, grace=120)
    await ping(client, check, "/start")
    clock.advance(30)
    await ping(client, check)
    assert (await factory.reload(check)).alert_after == clock() + timedelta(seconds=720)


async def test_success_with_another_rid_keeps_the_start_in_alert_after(client, factory, clock):
    check = await factory.check(timeout=600, grace=120)
    await ping(client, check, "/start", rid=uuid.uuid4())
    started = clock()
    clock.advance(30)
    await ping(client, check, rid=uuid.uuid4())
    assert (await factory.reload(check)).alert_after == started + timedelta(seconds=120)


async def test_down_clears_alert_after(client, factory, clock):
    check = await factory.check(timeout=600, grace=120)
    await ping(client, check)
    await ping(client, check, "/fail")
    assert (await factory.reload(check)).alert_after is None


async def test_ignored_ping_keeps_alert_after(client, factory, clock):
    check = await factory.check(timeout=600, grace=120, methods="POST")
    await ping(client, check, method="POST")
    expected = clock() + timedelta(seconds=720)
    clock.advance(60)
    await ping(client, check)
    check = await factory.reload(check)
    assert check.alert_after == expected
    assert check.last_ping == expected - timedelta(seconds=720)


async def test_a_flip_nobody_needs_to_hear_about_is_processed_at_once(client, factory):
    check = await factory.check(status="up")
    await ping(client, check, "/fail")
    [flip] = await factory.flips(check)
    assert flip.processed is not None
