"""Delivery from the outbox: once per notification, retried on transient errors, never lost."""

import asyncio
import json
import threading
import time
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text
from werkzeug import Response

from app.db import models as m
from app.domain import alerts, delivery, email_links, pings
from app.domain.pings import PingRequest
from app.integrations.base import DeliveryContext, new_http_client
from tests.workers.test_sweep import up_check


@pytest.fixture
async def ctx(settings):
    async with new_http_client() as http:
        yield DeliveryContext(settings=settings, http=http)


async def late_check_with_webhook(factory, httpserver, **webhook):
    check = await up_check(factory, name="Nightly backup")
    project = await factory.reload_project(check)
    value = {
        "method_down": "POST",
        "url_down": httpserver.url_for("/hook"),
        "body_down": "$NAME is $STATUS",
        **webhook,
    }
    channel = await factory.channel(project, kind="webhook", name="hook", value=value)
    await factory.assign(check, channel)
    factory.clock.advance(121)
    [flip_id] = await alerts.sweep_due_checks(factory.db, factory.clock())
    return check, channel, flip_id


async def notification(db):
    async with db.engine.connect() as conn:
        return (await conn.execute(select(m.Notification))).one()


async def test_it_delivers_a_down_notification_once(db, factory, clock, ctx, httpserver):
    httpserver.expect_request(
        "/hook", method="POST", data=b"Nightly backup is down"
    ).respond_with_data("ok")
    _, channel, _ = await late_check_with_webhook(factory, httpserver)
    [dispatch] = await alerts.dispatch_due(db, clock())
    assert await delivery.deliver(db, dispatch, ctx, clock) == "sent"
    assert await delivery.deliver(db, dispatch, ctx, clock) == "skipped"
    assert await alerts.dispatch_due(db, clock.advance(3600)) == []
    httpserver.check_assertions()
    assert len(httpserver.log) == 1
    row = await notification(db)
    assert row.sent_at is not None
    assert row.error == ""
    async with db.engine.connect() as conn:
        saved = (await conn.execute(select(m.Channel).where(m.Channel.id == channel.id))).one()
        flip = (await conn.execute(select(m.Flip))).one()
    assert saved.last_notify is not None
    assert saved.last_error == ""
    assert flip.processed is not None


async def test_a_duplicate_queue_message_sends_once(db, factory, clock, ctx, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    await late_check_with_webhook(factory, httpserver)
    [dispatch] = await alerts.dispatch_due(db, clock())
    outcomes = await asyncio.gather(*(delivery.deliver(db, dispatch, ctx, clock) for _ in range(4)))
    assert sorted(outcomes) == ["sent", "skipped", "skipped", "skipped"]
    assert len(httpserver.log) == 1


async def test_a_transient_error_is_retried_with_backoff_until_it_succeeds(
    db, factory, clock, ctx, httpserver
):
    httpserver.expect_ordered_request("/hook").respond_with_data("busy", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok", status=200)
    await late_check_with_webhook(factory, httpserver)
    [dispatch] = await alerts.dispatch_due(db, clock())
    assert await delivery.deliver(db, dispatch, ctx, clock) == "retry"
    row = await notification(db)
    assert row.error == "Received status code 500"
    assert row.next_attempt_at == clock() + alerts.BACKOFF[0]
    assert await alerts.dispatch_due(db, clock.advance(5)) == []
    [retry] = await alerts.dispatch_due(db, clock.advance(5))
    assert await delivery.deliver(db, retry, ctx, clock) == "sent"
    assert len(httpserver.log) == 2
    row = await notification(db)
    assert (row.attempts, row.error) == (2, "")


async def test_attempts_are_bounded(db, factory, clock, ctx, httpserver):
    httpserver.expect_request("/hook").respond_with_data("down", status=503)
    await late_check_with_webhook(factory, httpserver)
    outcomes = []
    for _ in range(10):
        for dispatch in await alerts.dispatch_due(db, clock()):
            outcomes.append(await delivery.deliver(db, dispatch, ctx, clock))
        clock.advance(600)
    assert outcomes == ["retry"] * (alerts.MAX_ATTEMPTS - 1) + ["failed"]
    row = await notification(db)
    assert row.failed_at is not None
    assert row.error == "Received status code 503"


async def test_a_permanent_error_stops_at_once(db, factory, clock, settings, httpserver):
    guarded = replace(settings, integrations_allow_private_ips=False)
    await late_check_with_webhook(factory, httpserver)
    [dispatch] = await alerts.dispatch_due(db, clock())
    async with new_http_client() as http:
        ctx = DeliveryContext(settings=guarded, http=http)
        assert await delivery.deliver(db, dispatch, ctx, clock) == "failed"
    row = await notification(db)
    assert row.error == "Connections to private IP addresses are not allowed"
    assert httpserver.log == []
    assert await alerts.dispatch_due(db, clock.advance(3600)) == []
    # This server's setting refused it, not the channel's endpoint: the channel stays on.
    assert (await load_channel(db, row.channel_id)).disabled is False


async def load_channel(db, channel_id):
    async with db.engine.connect() as conn:
        return (await conn.execute(select(m.Channel).where(m.Channel.id == channel_id))).one()


async def test_a_permanent_error_from_the_vendor_disables_the_channel(
    db, factory, clock, ctx, httpserver
):
    httpserver.expect_request("/slack").respond_with_data("channel_not_found", status=404)
    check = await up_check(factory, name="Nightly backup")
    other = await up_check(factory, name="Hourly sync")
    project = await factory.reload_project(check)
    value = {"url": httpserver.url_for("/slack")}
    channel = await factory.channel(project, kind="slack", name="ops", value=value)
    await factory.assign(check, channel)
    await factory.assign(other, channel)
    clock.advance(121)
    assert len(await alerts.sweep_due_checks(db, clock())) == 2
    dispatches = await alerts.dispatch_due(db, clock())
    assert [await delivery.deliver(db, d, ctx, clock) for d in dispatches] == ["failed"] * 2
    assert len(httpserver.log) == 2  # both were attempted: each is its own alert

    saved = await load_channel(db, channel.id)
    assert saved.disabled is True
    assert saved.last_error.startswith("Received status code 404")
    # New flips leave the disabled channel out, until its config changes.
    third = await up_check(factory, name="Weekly report")
    await factory.assign(third, channel)
    clock.advance(121)
    assert len(await alerts.sweep_due_checks(db, clock())) == 1
    async with db.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(m.Notification))).scalar() == 2


async def test_a_worker_killed_mid_delivery_loses_nothing(db, factory, clock, ctx, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    await late_check_with_webhook(factory, httpserver)
    [dispatch] = await alerts.dispatch_due(db, clock())
    assert await alerts.claim(db, dispatch, clock())  # ...and the worker dies here
    assert await alerts.dispatch_due(db, clock.advance(60)) == []  # its lease still holds
    [again] = await alerts.dispatch_due(db, clock.advance(31))
    assert again.attempts == 1
    assert await delivery.deliver(db, dispatch, ctx, clock) == "skipped"  # a stale message
    assert await delivery.deliver(db, again, ctx, clock) == "sent"
    assert len(httpserver.log) == 1


async def test_a_lost_queue_message_comes_back(db, factory, clock, ctx, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    await late_check_with_webhook(factory, httpserver)
    assert len(await alerts.dispatch_due(db, clock())) == 1  # e.g. Redis was flushed
    assert await alerts.dispatch_due(db, clock.advance(30)) == []
    [again] = await alerts.dispatch_due(db, clock.advance(30))
    assert await delivery.deliver(db, again, ctx, clock) == "sent"


async def test_an_endpoint_that_times_out_then_recovers_gets_one_delivery(
    db, factory, clock, ctx, httpserver, monkeypatch
):
    monkeypatch.setattr("app.integrations.base.HTTP_TIMEOUT", 0.3)
    calls = []
    stalled = threading.Event()

    def slow_then_fine(request):
        calls.append(request)
        if len(calls) == 1:
            time.sleep(1)  # the server stalls past the client's timeout
            stalled.set()
        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(slow_then_fine)
    await late_check_with_webhook(factory, httpserver)
    [dispatch] = await alerts.dispatch_due(db, clock())
    assert await delivery.deliver(db, dispatch, ctx, clock) == "retry"
    assert (await notification(db)).error == "Connection timed out"
    await asyncio.to_thread(stalled.wait, 10)  # the test server handles one request at a time
    [retry] = await alerts.dispatch_due(db, clock.advance(10))
    assert await delivery.deliver(db, retry, ctx, clock) == "sent"
    assert (await notification(db)).sent_at is not None


async def test_an_attempt_ends_and_is_recorded_before_its_claim_lapses(
    db, factory, clock, ctx, httpserver, monkeypatch
):
    monkeypatch.setattr(delivery, "SEND_BUDGET", timedelta(seconds=0.3))
    released = threading.Event()

    def stalls(_request):
        released.wait(10)  # far past the batch's budget (the HTTP timeout is 30 s)
        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(stalls)
    await late_check_with_webhook(factory, httpserver)
    [dispatch] = await alerts.dispatch_due(db, clock())
    try:
        assert await delivery.deliver(db, dispatch, ctx, clock) == "retry"
    finally:
        released.set()
    row = await notification(db)
    assert (row.error, row.sent_at) == ("Timed out waiting to send", None)
    assert row.next_attempt_at < clock() + alerts.SEND_LEASE  # retried, not left leased


async def test_the_webhook_says_which_check_and_what_happened(db, factory, clock, ctx, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    check, channel, _ = await late_check_with_webhook(
        factory,
        httpserver,
        body_down='{"check": $NAME_JSON, "status": "$STATUS", "code": "$CODE", "json": $JSON}',
    )
    [dispatch] = await alerts.dispatch_due(db, clock())
    await delivery.deliver(db, dispatch, ctx, clock)
    [(request, _)] = httpserver.log
    body = json.loads(request.data)
    assert body["check"] == "Nightly backup"
    assert body["status"] == "down"
    assert body["code"] == str(check.code)
    assert body["json"]["name"] == "Nightly backup"
    assert body["json"]["status"] == "down"
    assert body["json"]["channels"] == str(channel.code)  # as in Healthchecks' check JSON


async def test_a_batch_is_claimed_sent_and_recorded_together(db, factory, clock, ctx, httpserver):
    httpserver.expect_request("/ok").respond_with_data("ok")
    httpserver.expect_request("/busy").respond_with_data("busy", status=500)
    project, _ = await factory.project()
    for path in ("/ok", "/ok", "/busy"):
        check = await up_check(factory)
        async with db.engine.begin() as conn:
            await conn.execute(
                m.Check.__table__.update()
                .where(m.Check.id == check.id)
                .values(project_id=project.id)
            )
        channel = await factory.channel(
            project, value={"method_down": "POST", "url_down": httpserver.url_for(path)}
        )
        await factory.assign(check, channel)
    await alerts.sweep_due_checks(db, clock.advance(121))
    dispatches = await alerts.dispatch_due(db, clock())
    results = await delivery.deliver_many(db, dispatches * 2, ctx, clock)  # duplicates too
    assert sorted(results.values()) == ["retry", "sent", "sent"]
    assert len(httpserver.log) == 3
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(select(m.Notification.sent_at.is_not(None), m.Notification.error))
        ).all()
    assert sorted(rows) == [(False, "Received status code 500"), (True, ""), (True, "")]


async def flip_processed(db, flip_id):
    async with db.engine.connect() as conn:
        flip = (await conn.execute(select(m.Flip).where(m.Flip.id == flip_id))).one()
    return flip.processed is not None


async def test_a_flip_is_processed_once_every_channel_has_a_result(
    db, factory, clock, ctx, httpserver
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    check, _, flip_id = await late_check_with_webhook(factory, httpserver)
    project = await factory.reload_project(check)
    second = await factory.channel(
        project, kind="webhook", name="second", value={"url_down": httpserver.url_for("/hook")}
    )
    await factory.assign(check, second)
    factory.clock.advance(1)
    async with db.engine.begin() as conn:  # the second channel joined before the flip
        await conn.execute(
            m.Notification.__table__.insert().values(
                flip_id=flip_id,
                channel_id=second.id,
                check_id=check.id,
                check_status="down",
                created=clock(),
                next_attempt_at=clock(),
                code=uuid.uuid4(),
            )
        )
    first, other = sorted(await alerts.dispatch_due(db, clock()), key=lambda d: d.notification_id)
    assert await delivery.deliver(db, first, ctx, clock) == "sent"
    assert not await flip_processed(db, flip_id)
    assert await delivery.deliver(db, other, ctx, clock) == "sent"
    assert await flip_processed(db, flip_id)


async def explain(conn, statement, params) -> str:
    """PostgreSQL's plan for ``statement`` as SQLAlchemy sends it, with these parameters."""

    def prefix(_conn, _cursor, sql, parameters, _context, _many):
        return "EXPLAIN " + sql, parameters

    event.listen(conn.sync_connection, "before_cursor_execute", prefix, retval=True)
    try:
        return "\n".join(row[0] for row in await conn.execute(statement, params))
    finally:
        event.remove(conn.sync_connection, "before_cursor_execute", prefix)


async def test_marking_flips_processed_probes_by_flip_whatever_the_statistics_say(
    db, factory, clock
):
    """A burst writes thousands of pending rows before ANALYZE sees them; the pending index
    then looks empty to PostgreSQL, which must not walk it once per flip."""
    if db.sqlite:
        pytest.skip("a PostgreSQL plan")
    check = await up_check(factory)
    channel = await factory.channel(await factory.reload_project(check), kind="webhook")
    burst = {"check": check.id, "channel": channel.id, "now": clock()}
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO flips (check_id, created, old_status, new_status, reason)"
                " SELECT :check, :now, 'up', 'down', 'timeout' FROM generate_series(1, 5000)"
            ),
            burst,
        )
        await conn.execute(
            text(
                "INSERT INTO notifications (code, flip_id, channel_id, check_id, check_status,"
                " created, attempts, next_attempt_at, sent_at, error)"
                " SELECT gen_random_uuid(), id, :channel, :check, 'down', :now, 0, :now, :now, ''"
                " FROM flips"
            ),
            burst,
        )
        await conn.execute(text("ANALYZE notifications"))  # nothing pending, it says
        await conn.execute(text("UPDATE notifications SET sent_at = NULL"))  # the burst
        plan = await explain(conn, alerts.MARK_PROCESSED, {"flip_ids": [1, 2], "now": clock()})
    assert "ix_notifications_pending" not in plan
    assert "uq_notifications_flip_channel" in plan


async def test_a_retried_alert_quotes_the_ping_that_flipped_the_check(
    db, factory, clock, ctx, httpserver
):
    check = await up_check(factory, name="Nightly backup")
    project = await factory.reload_project(check)
    value = {
        "method_down": "POST",
        "url_down": httpserver.url_for("/down"),
        "body_down": "$STATUS $EXITSTATUS $BODY",
    }
    channel = await factory.channel(
        project, kind="webhook", name="hook", value=value, notify_up=False
    )
    await factory.assign(check, channel)
    failure = PingRequest(action="fail", exitstatus=3, body=b"disk full")
    await pings.record_ping(db, check.code, failure, clock())
    httpserver.expect_oneshot_request("/down").respond_with_data("busy", status=503)
    [dispatch] = await alerts.dispatch_due(db, clock())
    assert await delivery.deliver(db, dispatch, ctx, clock) == "retry"

    # The check recovers (and logs) before the retry: the retry still quotes the failure.
    recovery = PingRequest(exitstatus=0, body=b"all good")
    await pings.record_ping(db, check.code, recovery, clock.advance(5))
    await pings.record_ping(db, check.code, PingRequest(action="log", body=b"x"), clock())
    httpserver.expect_oneshot_request("/down").respond_with_data("ok")
    [retry] = await alerts.dispatch_due(db, clock.advance(60))
    assert await delivery.deliver(db, retry, ctx, clock) == "sent"
    assert [request.get_data() for request, _ in httpserver.log] == [b"down 3 disk full"] * 2


async def test_a_nag_quotes_the_last_ping_before_it(db, factory, clock, ctx, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    check, _, _ = await late_check_with_webhook(factory, httpserver, body_down="$BODY")
    [down] = await alerts.dispatch_due(db, clock())
    assert await delivery.deliver(db, down, ctx, clock) == "sent"
    log = PingRequest(action="log", body=b"still broken")
    await pings.record_ping(db, check.code, log, clock())
    assert len(await alerts.sweep_nags(db, clock.advance(3601))) == 1
    [nag] = await alerts.dispatch_due(db, clock())
    assert await delivery.deliver(db, nag, ctx, clock) == "sent"
    # The timeout alert quotes the last ping before the deadline (none had a body); the nag
    # quotes the log ping that came after it.
    assert [request.get_data() for request, _ in httpserver.log] == [b"", b"still broken"]


async def recovered_after_a_failed_alert(db, factory, clock, ctx, httpserver):
    """A check whose down alert failed once (a 503) and which then recovered: its up alert
    is due now, the down alert's retry later. Returns the channel and the down alert's id."""
    check = await up_check(factory, name="Nightly backup")
    project = await factory.reload_project(check)
    value = {
        "method_down": "POST",
        "url_down": httpserver.url_for("/hook"),
        "body_down": "down",
        "method_up": "POST",
        "url_up": httpserver.url_for("/hook"),
        "body_up": "up",
    }
    channel = await factory.channel(project, kind="webhook", name="hook", value=value)
    await factory.assign(check, channel)
    await pings.record_ping(db, check.code, PingRequest(action="fail"), clock())
    httpserver.expect_oneshot_request("/hook").respond_with_data("busy", status=503)
    [down] = await alerts.dispatch_due(db, clock())
    assert await delivery.deliver(db, down, ctx, clock) == "retry"
    await pings.record_ping(db, check.code, PingRequest(), clock.advance(5))
    httpserver.expect_request("/hook").respond_with_data("ok")
    return channel, down.notification_id


async def test_a_status_older_than_one_already_sent_is_not_sent(
    db, factory, clock, ctx, httpserver
):
    channel, down_id = await recovered_after_a_failed_alert(db, factory, clock, ctx, httpserver)
    [up] = await alerts.dispatch_due(db, clock())
    assert await delivery.deliver(db, up, ctx, clock) == "sent"

    # The down alert's retry comes after the recovery was sent: it is dropped, not sent.
    [retry] = await alerts.dispatch_due(db, clock.advance(60))
    assert retry.notification_id == down_id
    assert await delivery.deliver(db, retry, ctx, clock) == "failed"
    assert [request.get_data() for request, _ in httpserver.log] == [b"down", b"up"]
    async with db.engine.connect() as conn:
        query = select(m.Notification).where(m.Notification.id == down_id)
        row = (await conn.execute(query)).one()
        flips = (await conn.execute(select(m.Flip.processed))).scalars().all()
    assert (row.error, row.sent_at, row.failed_at is not None) == (alerts.SUPERSEDED, None, True)
    assert all(flips)  # both flips are done with
    saved = await load_channel(db, channel.id)
    assert (saved.last_error, saved.disabled) == ("", False)  # the up alert's result stays


async def test_an_older_status_still_goes_out_before_a_newer_one_is_sent(
    db, factory, clock, ctx, httpserver
):
    _, down_id = await recovered_after_a_failed_alert(db, factory, clock, ctx, httpserver)

    # Both are due; the down retry goes first: it is sent, then the up.
    dispatches = await alerts.dispatch_due(db, clock.advance(60))
    retry = next(d for d in dispatches if d.notification_id == down_id)
    up = next(d for d in dispatches if d.notification_id != down_id)
    assert await delivery.deliver(db, retry, ctx, clock) == "sent"
    assert await delivery.deliver(db, up, ctx, clock) == "sent"
    assert [request.get_data() for request, _ in httpserver.log] == [b"down", b"down", b"up"]


async def test_email_alerts_carry_an_unsubscribe_link_and_other_kinds_do_not(
    db, factory, clock, settings
):
    check = await up_check(factory, name="Nightly backup")
    project = await factory.reload_project(check)
    email = await factory.channel(project, kind="email", value={"value": "ops@example.org"})
    hook = await factory.channel(project, kind="webhook", value={"url_down": "https://x.org/"})
    await factory.assign(check, email)
    await factory.assign(check, hook)
    clock.advance(121)
    await alerts.sweep_due_checks(db, clock())
    dispatches = await alerts.dispatch_due(db, clock())

    ids = [d.notification_id for d in dispatches]
    events = await delivery.load_events(db, ids, settings, clock())
    urls = {channel.kind: event.unsubscribe_url for event, channel in events.values()}
    unsubscribe = email_links.url(settings, email.code, email_links.UNSUBSCRIBE)
    assert urls == {"email": unsubscribe, "webhook": None}


async def test_nothing_goes_to_an_unverified_email_address(db, factory, clock, ctx):
    check = await up_check(factory, name="Nightly backup")
    project = await factory.reload_project(check)
    value = {"value": "ops@example.org"}
    channel = await factory.channel(project, kind="email", value=value, email_verified=False)
    await factory.assign(check, channel)
    clock.advance(121)
    await alerts.sweep_due_checks(db, clock())
    [dispatch] = await alerts.dispatch_due(db, clock())

    assert await delivery.deliver(db, dispatch, ctx, clock) == "failed"
    row = await notification(db)
    assert (row.error, row.sent_at) == ("Email not verified", None)
    saved = await load_channel(db, channel.id)
    assert (saved.last_error, saved.disabled) == ("Email not verified", False)
