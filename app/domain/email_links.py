"""Signed links in the mail about an email channel: the address says yes, or stops the alerts.

An email channel may alert anyone's address. So the address is first mailed a link that
allows it (``VERIFY``, Healthchecks §5.7), and every alert carries a link (with the
``List-Unsubscribe`` headers of RFC 2369 and RFC 8058, for one-click unsubscribe in mail
clients) that disables the channel (``UNSUBSCRIBE``). A link is the channel's code signed
with SECRET_KEY and a salt of its own; it does not expire, as a mail can be read long after
it was sent. Neither needs a sign-in: holding the mail is the authority.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import select, update

from app.config import Settings
from app.db import models as m
from app.db.engine import Database, write_transaction

Purpose = Literal["verify", "unsub"]  # also the link's path segment
VERIFY: Purpose = "verify"
UNSUBSCRIBE: Purpose = "unsub"
UNSUBSCRIBED = "The recipient unsubscribed"


def email_address(kind: str, value: Any) -> str | None:
    """The address an email channel alerts (None for other kinds)."""
    if kind != "email" or not isinstance(value, dict):
        return None
    return str(value.get("value", ""))


def _serializer(secret_key: str, purpose: Purpose) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=f"cronbeat.channels.{purpose}")


def token(secret_key: str, code: uuid.UUID, purpose: Purpose) -> str:
    return str(_serializer(secret_key, purpose).dumps(str(code)))


def url(settings: Settings, code: uuid.UUID, purpose: Purpose) -> str:
    signed = token(settings.secret_key, code, purpose)
    return f"{settings.site_root}/integrations/{code}/{purpose}/{signed}/"


def is_valid(secret_key: str, code: uuid.UUID, signed: str, purpose: Purpose) -> bool:
    try:
        return bool(_serializer(secret_key, purpose).loads(signed) == str(code))
    except BadData:
        return False


async def address(db: Database, code: uuid.UUID) -> str | None:
    """The email channel's address; None if it is gone (or not an email channel)."""
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                select(m.Channel.kind, m.Channel.value).where(m.Channel.code == code)
            )
        ).first()
    return None if row is None else email_address(row.kind, row.value)


async def verify(db: Database, code: uuid.UUID) -> str | None:
    """Allow alerts to the channel's address; returns it (None: the channel is gone)."""
    return await _change(db, code, email_verified=True)


async def unsubscribe(db: Database, code: uuid.UUID) -> str | None:
    """Disable the channel (editing it enables it again); returns its address (None: gone)."""
    return await _change(db, code, disabled=True, last_error=UNSUBSCRIBED)


async def _change(db: Database, code: uuid.UUID, **values: Any) -> str | None:
    async with write_transaction(db) as conn:
        row = (
            await conn.execute(
                update(m.Channel)
                .where(m.Channel.code == code, m.Channel.kind == "email")
                .values(**values)
                .returning(m.Channel.kind, m.Channel.value)
            )
        ).first()
    return None if row is None else email_address(row.kind, row.value)
