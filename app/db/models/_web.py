from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import DefaultBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Float, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column


class WebSession(DefaultBase):
    """Server-side sessions of the dashboard, shared by every web process.

    Litestar's session middleware keeps its data here (see app.web.ui.sessions.DatabaseStore);
    the key is the random id in the browser's cookie.
    """

    __tablename__ = "web_sessions"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None, index=True
    )


class TokenBucket(DefaultBase):
    """A rate limit's state: tokens in [0, 1], refilled linearly (reference §8.3)."""

    __tablename__ = "token_buckets"

    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float, default=1.0)
    updated: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
