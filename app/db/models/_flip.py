from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.base import IdentityBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column


class Flip(IdentityBase):
    """A status change of a check. ``created`` is when it happened, not when it was seen."""

    __tablename__ = "flips"
    __table_args__ = (
        Index("ix_flips_check_created", "check_id", "created"),
        Index("ix_flips_created", "created"),
    )

    check_id: Mapped[int] = mapped_column(ForeignKey("checks.id", ondelete="cascade"))
    created: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    # Set once every notification of this flip has a result (or it needed none).
    processed: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    old_status: Mapped[str] = mapped_column(String(6))
    new_status: Mapped[str] = mapped_column(String(6))
    # "" | timeout | fail | nag
    reason: Mapped[str] = mapped_column(String(8), default="")
    # The number of the check's last ping when it flipped: the ping its alerts quote, however
    # late they are sent (Healthchecks: the last ping before the flip). None: pause, resume.
    last_ping_n: Mapped[int | None] = mapped_column(Integer, default=None)


class Notification(IdentityBase):
    """One delivery of one flip through one channel: the outbox row (one per flip and channel)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("flip_id", "channel_id", name="uq_notifications_flip_channel"),
        # The recovery sweep's view: undelivered rows by when they may be tried next.
        Index(
            "ix_notifications_pending",
            "next_attempt_at",
            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
            sqlite_where=text("sent_at IS NULL AND failed_at IS NULL"),
        ),
        Index("ix_notifications_created", "created"),
    )

    code: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    flip_id: Mapped[int | None] = mapped_column(
        ForeignKey("flips.id", ondelete="cascade"), default=None
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="cascade"), index=True
    )
    check_id: Mapped[int | None] = mapped_column(
        ForeignKey("checks.id", ondelete="cascade"), default=None, index=True
    )
    check_status: Mapped[str] = mapped_column(String(6))
    created: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When this may next be attempted: "now" when written; a claim moves it past the lease so
    # a crashed sender's row comes back by itself; a transient error moves it by the backoff.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # Set when delivery gave up (permanent error or attempts exhausted).
    failed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    error: Mapped[str] = mapped_column(Text, default="")


class Lease(IdentityBase):
    """A named, expiring lock in the database (e.g. "one sweeper at a time")."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(50), unique=True)
    holder: Mapped[str] = mapped_column(String(100), default="")
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
