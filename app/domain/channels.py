"""Channels: a project's ways to notify people (one integration kind plus its config).

The API and the pages both create, list, delete and test channels through these functions.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import mail
from app.config import Settings
from app.db import models as m
from app.db.engine import Database, write_transaction
from app.domain import delivery, email_links
from app.domain.checks import unique_key
from app.domain.email_links import email_address
from app.domain.errors import NotFound, ValidationError
from app.integrations import registry
from app.integrations.base import CheckInfo, DeliveryContext, Event, TransportError, new_http_client
from app.integrations.setup import config_error_field

log = logging.getLogger("cronbeat.channels")

MAX_NAME = 100


class ConfigError(ValidationError):
    """An invalid channel config. The message is the API's (``value: <msgspec error>``);
    ``config_field`` names the config field at fault when the error says, and ``detail`` is
    the message about that field alone (the setup forms show it next to the field)."""

    def __init__(self, error: msgspec.ValidationError) -> None:
        super().__init__("value", f"value: {error}")
        self.config_field, self.detail = config_error_field(str(error))


def validate(name: str, kind: str, value: Any) -> tuple[bool, bool]:
    """Check a channel's name, kind and config; returns its (notify_down, notify_up).

    Raises ValidationError naming the field (ConfigError for the config).
    """
    if len(name) > MAX_NAME:
        raise ValidationError("name", "name is too long")
    try:
        integration = registry.get(kind)
    except registry.UnknownKind:
        raise ValidationError("kind", "kind has unexpected value") from None
    try:
        config = registry.parse_config(kind, value)
    except msgspec.ValidationError as error:
        raise ConfigError(error) from None
    return integration.directions(config)


async def create_channel(
    session: AsyncSession,
    project_id: int,
    name: str,
    kind: str,
    value: Any,
    now: datetime,
    *,
    verify_email: bool = True,
) -> m.Channel:
    """Validate and add a channel; raises ValidationError naming the field.

    An email channel to an address that is not the project owner's or a member's starts
    unverified (``verify_email``, from EMAIL_USE_VERIFICATION): the caller then mails it a
    link with ``ask_to_verify``.
    """
    notify_down, notify_up = validate(name, kind, value)
    unknown = verify_email and await _unknown_address(session, project_id, kind, value)
    channel = m.Channel(
        code=uuid.uuid4(),
        project_id=project_id,
        created=now,
        name=name,
        kind=kind,
        value=value,
        notify_down=notify_down,
        notify_up=notify_up,
        disabled=False,
        last_error="",
        email_verified=not unknown,
    )
    session.add(channel)
    await session.flush()
    return channel


async def assign_all_checks(session: AsyncSession, channel: m.Channel) -> set[int]:
    """Let every check of the project use the channel, as Healthchecks' setup pages do for a
    new channel (the API leaves new channels unattached); returns the checks changed."""
    all_checks = select(m.Check.id).where(m.Check.project_id == channel.project_id)
    chosen = await set_channel_checks(session, channel, (await session.scalars(all_checks)).all())
    return chosen.changed


async def update_channel(
    session: AsyncSession, channel: m.Channel, name: str, value: Any, *, verify_email: bool = True
) -> bool:
    """Change a channel's name and config (same rules as creating it). Returns whether the
    channel now needs its email address verified (a new address nobody on the project has):
    the caller then mails it a link with ``ask_to_verify``.

    A channel disabled by a permanent delivery error is enabled again: its config changed,
    so the next delivery may well succeed.
    """
    notify_down, notify_up = validate(name, channel.kind, value)
    verified = channel.email_verified
    new_address = email_address(channel.kind, value)
    if new_address != email_address(channel.kind, channel.value):
        verified = not (
            verify_email
            and await _unknown_address(session, channel.project_id, channel.kind, value)
        )
    await session.execute(
        update(m.Channel)
        .where(m.Channel.id == channel.id)
        .values(
            name=name,
            value=value,
            notify_down=notify_down,
            notify_up=notify_up,
            disabled=False,
            email_verified=verified,
        )
    )
    return not verified


# --- email addresses: verified before they are alerted (Healthchecks §5.7) ---------------------


async def _unknown_address(session: AsyncSession, project_id: int, kind: str, value: Any) -> bool:
    """Whether an email channel's address is nobody's on the project: not the owner's and
    not a member's. Those addresses already get the project's mail; others must say yes."""
    address = email_address(kind, value)
    if address is None:
        return False
    owner = (
        select(m.User.email)
        .join(m.Project, m.Project.owner_id == m.User.id)
        .where(m.Project.id == project_id)
    )
    members = (
        select(m.User.email)
        .join(m.Member, m.Member.user_id == m.User.id)
        .where(m.Member.project_id == project_id)
    )
    known = {email.lower() for email in await session.scalars(owner.union(members))}
    return address.lower() not in known


async def ask_to_verify(db: Database, settings: Settings, code: uuid.UUID) -> str | None:
    """If the channel's address is unverified, mail it the link that allows alerts to it
    (logged without EMAIL_HOST, like every email) and return the address; None if there is
    nothing to ask. A mail that fails is logged: the channel stays unverified."""
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                select(m.Channel.kind, m.Channel.value, m.Channel.email_verified, m.Project.name)
                .join(m.Project, m.Project.id == m.Channel.project_id)
                .where(m.Channel.code == code)
            )
        ).first()
    address = None if row is None else email_address(row.kind, row.value)
    if row is None or row.email_verified or not address:
        return None
    text = (
        f'Someone on the project "{row.name}" at {settings.site_name} wants to send its '
        "alerts to this address.\n\n"
        f"To allow it, open this link:\n{email_links.url(settings, code, email_links.VERIFY)}\n\n"
        "If you did not expect this, ignore this email: nothing will be sent to you.\n"
    )
    subject = f"Verify your address for {settings.site_name} alerts"
    message = mail.build_message(settings, to=address, subject=subject, text=text)
    try:
        await mail.send(settings, message)
    except mail.MailError as error:
        log.warning("verification email to %s not sent: %s", address, error.message)
    return address


async def channel_check_ids(session: AsyncSession, channel: m.Channel) -> set[int]:
    """The ids of the checks that use the channel."""
    rows = await session.scalars(
        select(m.check_channels.c.check_id).where(m.check_channels.c.channel_id == channel.id)
    )
    return set(rows.all())


async def check_counts(session: AsyncSession, project_id: int) -> dict[int, int]:
    """How many checks use each channel of the project (channel id -> count; 0s absent)."""
    rows = await session.execute(
        select(m.check_channels.c.channel_id, func.count())
        .join(m.Channel, m.Channel.id == m.check_channels.c.channel_id)
        .where(m.Channel.project_id == project_id)
        .group_by(m.check_channels.c.channel_id)
    )
    return {channel_id: count for channel_id, count in rows.tuples().all()}


@dataclass(frozen=True)
class ChannelChecks:
    """What ``set_channel_checks`` did: the checks that use the channel now, and those whose
    channels changed (added or removed)."""

    selected: set[int]
    changed: set[int]


async def set_channel_checks(
    session: AsyncSession, channel: m.Channel, check_ids: Iterable[int]
) -> ChannelChecks:
    """Make exactly these checks use the channel. Ids of other projects' checks are ignored."""
    wanted = set(
        (
            await session.scalars(
                select(m.Check.id).where(
                    m.Check.project_id == channel.project_id, m.Check.id.in_(set(check_ids))
                )
            )
        ).all()
    )
    current = await channel_check_ids(session, channel)
    removed, added = current - wanted, wanted - current
    if removed:
        await session.execute(
            delete(m.check_channels).where(
                m.check_channels.c.channel_id == channel.id,
                m.check_channels.c.check_id.in_(removed),
            )
        )
    if added:
        await session.execute(
            insert(m.check_channels),
            [{"check_id": check_id, "channel_id": channel.id} for check_id in sorted(added)],
        )
    return ChannelChecks(selected=wanted, changed=removed | added)


async def list_channels(session: AsyncSession, project_id: int) -> list[m.Channel]:
    rows = await session.scalars(
        select(m.Channel).where(m.Channel.project_id == project_id).order_by(m.Channel.id)
    )
    return list(rows.all())


async def get_channel(session: AsyncSession, code: uuid.UUID) -> m.Channel:
    """The channel with this code, in whichever project; raises NotFound.

    Callers check the project themselves: the API answers 403, not 404, for another
    project's channel.
    """
    channel = await session.scalar(select(m.Channel).where(m.Channel.code == code))
    if channel is None:
        raise NotFound(f"no channel {code}")
    return channel


async def delete_channel(session: AsyncSession, channel: m.Channel) -> None:
    # A Core delete: the database cascades to check_channels and notifications.
    await session.execute(delete(m.Channel).where(m.Channel.id == channel.id))


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str


async def send_test(
    db: Database, channel: m.Channel, settings: Settings, now: datetime
) -> SendResult:
    """Send a sample notification through the channel, now; record it like any other. It is
    a "down" one, or "up" for a channel that only notifies up (a webhook with only an up URL).

    The notification row is written once the outcome is known (sent or failed), so the
    delivery sweep never sees it as pending. A permanent error disables the channel, as a
    real notification's does; a test that gets through enables it again.
    """
    async with db.engine.connect() as conn:
        project_name = (
            await conn.execute(select(m.Project.name).where(m.Project.id == channel.project_id))
        ).scalar_one()
    notification_code = uuid.uuid4()
    status = "up" if channel.notify_up and not channel.notify_down else "down"
    event = sample_event(project_name, settings, now, notification_code, status)
    event = replace(event, unsubscribe_url=delivery.unsubscribe_url(channel, settings))
    started = time.monotonic()
    error, disables = "", False
    async with new_http_client() as http:
        try:
            await delivery.send(
                event,
                channel.kind,
                channel.value,
                DeliveryContext(settings=settings, http=http),
                email_verified=channel.email_verified,
            )
        except TransportError as failure:
            error, disables = failure.message, failure.disables_channel
    duration = time.monotonic() - started
    async with write_transaction(db) as conn:
        # The channel first: if it was deleted meanwhile there is nothing to record (and the
        # row lock keeps a concurrent delete out until the notification is written).
        changed = await conn.execute(
            update(m.Channel)
            .where(m.Channel.id == channel.id)
            .values(
                last_notify=now,
                last_error=error,
                last_notify_duration=duration,
                disabled=_disabled_after_test(error, disables),
            )
        )
        if changed.rowcount == 1:
            await conn.execute(
                insert(m.Notification).values(
                    code=notification_code,
                    flip_id=None,
                    check_id=None,
                    channel_id=channel.id,
                    check_status=status,
                    created=now,
                    attempts=1,
                    next_attempt_at=now,
                    sent_at=None if error else now,
                    failed_at=now if error else None,
                    error=error,
                )
            )
    return SendResult(ok=not error, error=error)


def _disabled_after_test(error: str, disables: bool) -> Any:
    """A test that got through enables the channel; one refused for good disables it; a
    transient error leaves it as it was."""
    if not error:
        return False
    return True if disables else m.Channel.disabled


def sample_event(
    project_name: str,
    settings: Settings,
    now: datetime,
    notification_code: uuid.UUID,
    status: str = "down",
) -> Event:
    """A test event (``status`` "down" or "up") for a sample check named after the project."""
    code = uuid.uuid4()
    check = CheckInfo(
        code=code,
        name=project_name,
        slug="",
        tags="",
        desc="",
        kind="simple",
        timeout=86400,
        grace=3600,
        schedule="* * * * *",
        tz="UTC",
        status=status,
        n_pings=0,
        last_ping=None,
        unique_key=unique_key(code),
        project_name=project_name,
        details_url=settings.site_root,
        as_json={"name": project_name, "status": status, "uuid": str(code)},
    )
    return Event(
        status=status,
        reason="test",
        created=now,
        check=check,
        last_ping=None,
        notification_code=notification_code,
        site_name=settings.site_name,
    )
