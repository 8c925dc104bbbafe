"""Deliver one notification: claim it, render the event, call the integration, record."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select

from app.config import Settings
from app.db import models as m
from app.db.engine import Database
from app.domain import alerts
from app.domain.checks import check_to_dict, unique_key
from app.domain.clock import Clock
from app.integrations import registry
from app.integrations.base import CheckInfo, DeliveryContext, Event, PingInfo, TransportError

log = logging.getLogger("cronbeat.delivery")
BODY_PREVIEW = 10_000


def check_info(check: Any, project_name: str, settings: Settings, now: datetime) -> CheckInfo:
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
        details_url=f"{settings.site_root}/checks/{check.code}/details/",
        as_json=check_to_dict(check, settings, now),
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


async def load_event(
    db: Database,
    notification_id: int,
    settings: Settings,
    now: datetime,
) -> tuple[Event, m.Channel] | None:
    async with db.sessionmaker() as session:
        row = (
            await session.execute(
                select(m.Notification, m.Flip, m.Check, m.Project.name, m.Channel)
                .join(m.Flip, m.Flip.id == m.Notification.flip_id)
                .join(m.Check, m.Check.id == m.Notification.check_id)
                .join(m.Project, m.Project.id == m.Check.project_id)
                .join(m.Channel, m.Channel.id == m.Notification.channel_id)
                .where(m.Notification.id == notification_id)
            )
        ).first()
        if row is None:
            return None
        notification, flip, check, project_name, channel = row
        last_ping = await session.scalar(
            select(m.Ping)
            .where(
                m.Ping.check_id == check.id,
                m.Ping.created <= max(flip.created, notification.created),
            )
            .order_by(m.Ping.n.desc())
            .limit(1)
        )
    event = Event(
        status=notification.check_status,
        reason=flip.reason,
        created=flip.created,
        check=check_info(check, project_name, settings, now),
        last_ping=ping_info(last_ping),
        notification_code=notification.code,
        site_name=settings.site_name,
    )
    return event, channel


async def send(event: Event, kind: str, value: Any, ctx: DeliveryContext) -> None:
    """Call the integration; a config that no longer validates is a permanent error."""
    try:
        integration = registry.get(kind)
        config = registry.parse_config(kind, value)
    except registry.UnknownKind:
        raise TransportError(f"Unknown integration kind: {kind}", permanent=True) from None
    except msgspec.ValidationError as error:
        raise TransportError(f"Invalid configuration: {error}", permanent=True) from None
    await integration.notify(event, config, ctx)


async def deliver(
    db: Database, dispatch: alerts.Dispatch, ctx: DeliveryContext, clock: Clock
) -> str:
    """Attempt one notification. Returns "sent", "retry", "failed" or "skipped"."""
    now = clock()
    if not await alerts.claim(db, dispatch, now):
        return "skipped"
    loaded = await load_event(db, dispatch.notification_id, ctx.settings, now)
    if loaded is None:
        return "skipped"
    event, channel = loaded
    started = time.monotonic()
    error, permanent = "", False
    try:
        await send(event, channel.kind, channel.value, ctx)
    except TransportError as failure:
        error, permanent = failure.message, failure.permanent
    duration = time.monotonic() - started
    retry_at = await alerts.record_result(
        db, dispatch.notification_id, clock(), error=error, permanent=permanent, duration=duration
    )
    log.info(
        "notification %s via %s (%s) for %s %s: %s",
        dispatch.notification_id,
        channel.kind,
        channel.code,
        event.check.code,
        event.status,
        error or "sent",
    )
    if not error:
        return "sent"
    return "retry" if retry_at else "failed"
