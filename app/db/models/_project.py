from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from advanced_alchemy.base import IdentityAuditBase
from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from ._check import Check
    from ._user import User


class Project(IdentityAuditBase):
    """A team's set of checks and channels. API keys are stored hashed (see domain.keys)."""

    __tablename__ = "projects"

    code: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="cascade"), index=True)
    api_key: Mapped[str] = mapped_column(String(128), default="", index=True)
    api_key_readonly: Mapped[str] = mapped_column(String(128), default="", index=True)
    ping_key: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    badge_key: Mapped[str] = mapped_column(String(150), unique=True)
    # Nag period (repeat the down notification while a check stays down): 0, 3600 or 86400 s.
    nag_period: Mapped[int] = mapped_column(Integer, default=3600)
    ping_log_limit: Mapped[int] = mapped_column(Integer, default=1000)

    owner: Mapped[User] = relationship(back_populates="projects", lazy="raise")
    members: Mapped[list[Member]] = relationship(
        back_populates="project", lazy="raise", cascade="all, delete-orphan"
    )
    checks: Mapped[list[Check]] = relationship(
        back_populates="project", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )


class Member(IdentityAuditBase):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="cascade"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="cascade"), index=True)
    # readonly | regular | manager
    role: Mapped[str] = mapped_column(String(10), default="regular")

    project: Mapped[Project] = relationship(back_populates="members", lazy="raise")
    user: Mapped[User] = relationship(back_populates="memberships", lazy="raise")
