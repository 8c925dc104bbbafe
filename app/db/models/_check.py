from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from advanced_alchemy.base import IdentityBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from ._channel import Channel
    from ._project import Project

check_channels = Table(
    "check_channels",
    IdentityBase.metadata,
    Column("check_id", ForeignKey("checks.id", ondelete="cascade"), primary_key=True),
    Column(
        "channel_id", ForeignKey("channels.id", ondelete="cascade"), primary_key=True, index=True
    ),
)


class Check(IdentityBase):
    """A monitored job. Field names follow Healthchecks; durations are whole seconds."""

    __tablename__ = "checks"
    __table_args__ = (
        Index("ix_checks_project_slug", "project_id", "slug"),
        # The sweep reads due checks through this index: O(checks due), not O(checks).
        Index("ix_checks_status_alert_after", "status", "alert_after"),
        Index("ix_checks_next_nag_at", "next_nag_at"),
    )

    code: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="cascade"))
    created: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    name: Mapped[str] = mapped_column(String(100), default="")
    slug: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[str] = mapped_column(String(500), default="")
    desc: Mapped[str] = mapped_column(Text, default="")
    # simple | cron | oncalendar
    kind: Mapped[str] = mapped_column(String(10), default="simple")
    timeout: Mapped[int] = mapped_column(Integer, default=86400)
    grace: Mapped[int] = mapped_column(Integer, default=3600)
    schedule: Mapped[str] = mapped_column(String(100), default="* * * * *")
    tz: Mapped[str] = mapped_column(String(36), default="UTC")
    # new | up | down | paused (grace and started are derived at read time)
    status: Mapped[str] = mapped_column(String(6), default="new")
    last_ping: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_start: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_start_rid: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    last_duration: Mapped[float | None] = mapped_column(Float, default=None)
    # When the sweep must look at this check again. Exact for simple checks; for cron and
    # OnCalendar checks a ping stores a lower bound that the sweep corrects (docs/architecture.md).
    alert_after: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    n_pings: Mapped[int] = mapped_column(Integer, default=0)
    # While down: when the next nag (repeat of the down notification) is due.
    next_nag_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    methods: Mapped[str] = mapped_column(String(30), default="")
    manual_resume: Mapped[bool] = mapped_column(Boolean, default=False)
    filter_subject: Mapped[bool] = mapped_column(Boolean, default=False)
    filter_body: Mapped[bool] = mapped_column(Boolean, default=False)
    filter_http_body: Mapped[bool] = mapped_column(Boolean, default=False)
    filter_default_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    start_kw: Mapped[str] = mapped_column(String(200), default="")
    success_kw: Mapped[str] = mapped_column(String(200), default="")
    failure_kw: Mapped[str] = mapped_column(String(200), default="")
    badge_key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)

    project: Mapped[Project] = relationship(back_populates="checks", lazy="raise")
    channels: Mapped[list[Channel]] = relationship(
        secondary=check_channels, lazy="raise", back_populates="checks"
    )
