from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from advanced_alchemy.base import IdentityAuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from ._project import Member, Project


class User(IdentityAuditBase):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    # Changes at every sign-in, which makes an emailed sign-in link single-use.
    last_login: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    profile: Mapped[Profile] = relationship(
        back_populates="user", lazy="raise", cascade="all, delete-orphan"
    )
    projects: Mapped[list[Project]] = relationship(back_populates="owner", lazy="raise")
    memberships: Mapped[list[Member]] = relationship(
        back_populates="user", lazy="raise", cascade="all, delete-orphan"
    )


class Profile(IdentityAuditBase):
    """Per-user preferences: time zone, reports and reminder emails, limits."""

    __tablename__ = "profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="cascade"), unique=True)
    tz: Mapped[str] = mapped_column(String(36), default="UTC")
    # off | daily | weekly | monthly
    reports: Mapped[str] = mapped_column(String(10), default="monthly")
    next_report_date: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )
    # Reminder emails listing every down check: 0 (off), 3600 or 86400 seconds.
    reminder_period: Mapped[int] = mapped_column(Integer, default=0)
    next_reminder_date: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )
    check_limit: Mapped[int] = mapped_column(Integer, default=10000)

    user: Mapped[User] = relationship(back_populates="profile", lazy="raise")
