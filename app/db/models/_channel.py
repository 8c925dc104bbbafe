from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from advanced_alchemy.base import IdentityBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, Text, Uuid, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ._check import check_channels

if TYPE_CHECKING:
    from ._check import Check


class Channel(IdentityBase):
    """A way to notify people (one integration kind plus its config)."""

    __tablename__ = "channels"

    code: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="cascade"), index=True
    )
    created: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[Any] = mapped_column(JSON, default=dict)
    # Which directions this channel delivers; derived from the config when it is saved so
    # that choosing channels for a flip is a plain SQL filter.
    notify_down: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_up: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # An email channel to an address nobody on the project has shown is theirs sends nothing
    # until the link mailed to it is visited (app/domain/channels.py). Other kinds: True.
    email_verified: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    last_notify: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_notify_duration: Mapped[float | None] = mapped_column(Float, default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")

    checks: Mapped[list[Check]] = relationship(
        secondary=check_channels, lazy="raise", back_populates="channels"
    )
