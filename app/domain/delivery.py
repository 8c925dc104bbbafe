"""Deliver one notification: claim it, render the event, call the integration, record."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import models as m
from app.db.engine import Database
from app.domain import alerts, checks, email_links
from app.domain.checks import check_to_dict, unique_key
from app.domain.clock import Clock
from app.integrations import registry
from app.integrations.base import CheckInfo, DeliveryContext, Event, PingInfo, TransportError

log = logging.getLogger("cronbeat.delivery")
BODY_PREVIEW = 10_000


def check_info(
    check: Any,
    project_name: str,
    settings: Settings,
    now: datetime,
    channel_codes: list[str] | None = None,
) -> CheckInfo:
    return CheckInfo(
        code=check.code,
        name=check.name,
        slug=check.slug,
        tags=check.tags,
        desc=check.desc,
        kind=check.kind,
        timeout=check.timeout,
        grace=check.grace,
        schedule=check.schedule,
        tz=check.tz,
        status=check.status,
        n_pings=check.n_pings,
        last_ping=check.last_ping,
        unique_key=unique_key(check.code),
        project_name=project_name,
        details_url=f"{settings.site_root}/checks/{check.code}/",
        as_json=check_to_dict(check, settings, now, channel_codes=channel_codes),
    )


def ping_info(ping: m.Ping | None) -> PingInfo | None:
    if ping is None:
        return None
    body = (ping.body or b"")[:BODY_PREVIEW].decode("utf-8", "replace")
    return PingInfo(
        n=ping.n,
        kind=ping.kind,
        created=ping.created,
        scheme=ping.scheme,
        remote_addr=ping.remote_addr,
        method=ping.method,
        ua=ping.ua,
        body=body,
        exitstatus=ping.exitstatus,
    )


async def load_events(
    db: Database, notification_ids: Sequence[int], settings: Settings, now: datetime
) -> dict[int, tuple[Event, m.Channel]]:
    """Render the events of these notifications.

    One query per table, each by primary key (the quoted ping by (check_id, n)): a burst
    grows these tables faster than their statistics, and PostgreSQL planned the one
    six-table join as if they were small (10 ms walks of whole indexes per batch in
    bench/alerts.py). A lookup by key has one plan whatever the statistics.
    """
    if not notification_ids:
        return {}
    async with db.sessionmaker() as session:
        notes = (
            await session.execute(
                select(
                    m.Notification.id,
                    m.Notification.code,
                    m.Notification.flip_id,
                    m.Notification.check_id,
                    m.Notification.channel_id,
                    m.Notification.check_status,
                ).where(m.Notification.id.in_(list(notification_ids)))
            )
        ).all()
        flips = await _by_id(session, m.Flip, {n.flip_id for n in notes})
        channels = await _by_id(session, m.Channel, {n.channel_id for n in notes})
        check_rows = (
            await session.execute(
                select(m.Check, m.Project.name)
                .join(m.Project, m.Project.id == m.Check.project_id)
                .where(m.Check.id.in_({n.check_id for n in notes}))
            )
        ).all()
        checks_ = {check.id: (check, project_name) for check, project_name in check_rows}
        quoted = {  # note id -> (check id, number of the ping its alert quotes)
            note.id: (note.check_id, _quoted_ping(flips[note.flip_id], checks_[note.check_id][0]))
            for note in notes
            if note.flip_id in flips and note.check_id in checks_
        }
        last_pings = await _pings(session, set(quoted.values()))
        # The checks' channels, for webhooks' $JSON (Healthchecks' "channels" field).
        channel_codes = await checks.channel_codes(session, list(checks_))
    events = {}
    for note in notes:
        flip, channel = flips.get(note.flip_id), channels.get(note.channel_id)
        if flip is None or channel is None or note.check_id not in checks_:
            continue  # deleted meanwhile
        check, project_name = checks_[note.check_id]
        events[note.id] = (
            Event(
                status=note.check_status,
                reason=flip.reason,
                created=flip.created,
                check=check_info(
                    check, project_name, settings, now, channel_codes.get(check.id, [])
                ),
                last_ping=ping_info(last_pings.get(quoted[note.id])),
                notification_code=note.code,
                site_name=settings.site_name,
                unsubscribe_url=unsubscribe_url(channel, settings),
            ),
            channel,
        )
    return events


async def _by_id(session: AsyncSession, model: Any, ids: set[int | None]) -> dict[int, Any]:
    rows = await session.scalars(select(model).where(model.id.in_(ids - {None})))
    return {row.id: row for row in rows}


def unsubscribe_url(channel: m.Channel, settings: Settings) -> str | None:
    # Email is the one kind that may alert someone who is not a user of the project.
    if channel.kind != "email":
        return None
    return email_links.url(settings, channel.code, email_links.UNSUBSCRIBE)


def _quoted_ping(flip: m.Flip, check: m.Check) -> int:
    """The number of the ping an alert quotes: the check's last ping when it flipped, not
    when the alert is sent (a retried "down" must not quote the recovery ping). Flips
    written before that number was kept quote the check's latest ping."""
    return flip.last_ping_n if flip.last_ping_n is not None else check.n_pings


async def _pings(
    session: AsyncSession, wanted: set[tuple[int, int]]
) -> dict[tuple[int, int], m.Ping]:
    """Pings by (check id, number); number 0 (no ping yet) matches none."""
    wanted = {key for key in wanted if key[1]}
    if not wanted:
        return {}
    rows = await session.scalars(
        select(m.Ping).where(tuple_(m.Ping.check_id, m.Ping.n).in_(sorted(wanted)))
    )
    return {(ping.check_id, ping.n): ping for ping in rows}


async def send(
    event: Event, kind: str, value: Any, ctx: DeliveryContext, *, email_verified: bool = True
) -> None:
    """Call the integration; a config that no longer validates, a kind the operator
    switched off, or an email address not yet verified is a permanent error (transports do
    not check their switch themselves)."""
    if not email_verified:  # nothing goes to an address until it says yes
        raise TransportError(UNVERIFIED, by_setting=True)
    try:
        integration = registry.get(kind)
        config = registry.parse_config(kind, value)
    except registry.UnknownKind:
        raise TransportError(f"Unknown integration kind: {kind}", by_setting=True) from None
    except msgspec.ValidationError as error:
        raise TransportError(f"Invalid configuration: {error}", permanent=True) from None
    if not integration.enabled(ctx.settings):
        raise TransportError(integration.disabled_reason, by_setting=True)
    await integration.notify(event, config, ctx)


UNVERIFIED = "Email not verified"  # Healthchecks' words
SEND_CONCURRENCY = 20
# Every attempt of a batch ends (and is recorded) before the claim's lease runs out, however
# long its calls wait for a slot to a busy host: a lapsed lease lets another worker claim
# the notification while the first one might still send it.
SEND_BUDGET = alerts.SEND_LEASE - timedelta(seconds=30)


async def deliver(
    db: Database, dispatch: alerts.Dispatch, ctx: DeliveryContext, clock: Clock
) -> str:
    """Attempt one notification. Returns "sent", "retry", "failed" or "skipped"."""
    outcomes = await deliver_many(db, [dispatch], ctx, clock)
    return outcomes.get(dispatch.notification_id, "skipped")


async def deliver_many(
    db: Database, dispatches: Sequence[alerts.Dispatch], ctx: DeliveryContext, clock: Clock
) -> dict[int, str]:
    """Attempt a batch: one claim transaction, one load query, the vendor calls concurrently,
    one transaction recording every outcome. Returns "sent" / "retry" / "failed" per id
    claimed; ids another sender holds are left out. A notification whose check has since
    had a newer status sent through the same channel fails without a call (SUPERSEDED)."""
    now = clock()
    claimed = await alerts.claim_many(db, dispatches, now)
    events = await load_events(db, claimed, ctx.settings, now)
    changed_since = [
        nid for nid, (event, _) in events.items() if event.check.status != event.status
    ]
    stale = await alerts.superseded(db, changed_since)
    limit = asyncio.Semaphore(SEND_CONCURRENCY)
    deadline = asyncio.get_running_loop().time() + SEND_BUDGET.total_seconds()

    async def attempt(notification_id: int) -> alerts.Outcome:
        if notification_id in stale:
            return alerts.Outcome(notification_id, alerts.SUPERSEDED, True, attempted=False)
        event, channel = events[notification_id]
        started = time.monotonic()
        try:
            async with asyncio.timeout_at(deadline), limit:
                verified = channel.email_verified
                await send(event, channel.kind, channel.value, ctx, email_verified=verified)
        except TransportError as failure:
            return alerts.Outcome(
                notification_id,
                failure.message,
                failure.permanent,
                time.monotonic() - started,
                disables_channel=failure.disables_channel,
            )
        except TimeoutError:
            return alerts.Outcome(
                notification_id, "Timed out waiting to send", duration=time.monotonic() - started
            )
        return alerts.Outcome(notification_id, duration=time.monotonic() - started)

    outcomes = await asyncio.gather(*(attempt(nid) for nid in claimed if nid in events))
    retries = await alerts.record_results(db, outcomes, clock())
    results = {}
    for outcome in outcomes:
        event, channel = events[outcome.notification_id]
        state = (
            "sent"
            if not outcome.error
            else "retry"
            if outcome.notification_id in retries
            else "failed"
        )
        results[outcome.notification_id] = state
        log.info(
            "notification %s via %s (%s) for %s %s: %s",
            outcome.notification_id,
            channel.kind,
            channel.code,
            event.check.code,
            event.status,
            outcome.error or "sent",
        )
    return results
