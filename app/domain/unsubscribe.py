"""Unsubscribe links in alert emails: whoever receives a channel's alerts can stop them.

An email channel may send to anyone's address, so each alert email carries a link (and the
``List-Unsubscribe`` headers of RFC 2369 and RFC 8058, for one-click unsubscribe in mail
clients) that disables the channel. The link is the channel's code signed with SECRET_KEY;
it does not expire, as an alert can be read long after it was sent.
"""

from __future__ import annotations

import uuid

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import update

from app.config import Settings
from app.db import models as m
from app.db.engine import Database, write_transaction

_SALT = "cronbeat.alerts.unsubscribe"
UNSUBSCRIBED = "The recipient unsubscribed"


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_SALT)


def token(secret_key: str, channel_code: uuid.UUID) -> str:
    return str(_serializer(secret_key).dumps(str(channel_code)))


def url(settings: Settings, channel_code: uuid.UUID) -> str:
    return (
        f"{settings.site_root}/integrations/{channel_code}/unsub/"
        f"{token(settings.secret_key, channel_code)}/"
    )


def is_valid(secret_key: str, channel_code: uuid.UUID, signed: str) -> bool:
    try:
        return bool(_serializer(secret_key).loads(signed) == str(channel_code))
    except BadData:
        return False


async def unsubscribe(db: Database, channel_code: uuid.UUID) -> bool:
    """Disable the channel (editing it enables it again); False if it no longer exists."""
    async with write_transaction(db) as conn:
        changed = await conn.execute(
            update(m.Channel)
            .where(m.Channel.code == channel_code)
            .values(disabled=True, last_error=UNSUBSCRIBED)
        )
    return bool(changed.rowcount)
