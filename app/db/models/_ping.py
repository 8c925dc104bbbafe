from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.base import IdentityBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column


class Ping(IdentityBase):
    """One request (or email) received for a check; ``n`` counts 1, 2, 3… per check."""

    __tablename__ = "pings"
    # Also the index for "pings of a check, newest first" and for pruning by n.
    __table_args__ = (UniqueConstraint("check_id", "n", name="uq_pings_check_n"),)

    check_id: Mapped[int] = mapped_column(ForeignKey("checks.id", ondelete="cascade"))
    n: Mapped[int] = mapped_column(Integer)
    # success | start | fail | log | ign
    kind: Mapped[str] = mapped_column(String(7))
    created: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    scheme: Mapped[str] = mapped_column(String(10), default="http")
    remote_addr: Mapped[str | None] = mapped_column(String(100), default=None)
    method: Mapped[str] = mapped_column(String(30), default="")
    ua: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    exitstatus: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    rid: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    # Seconds since the matching start, when this success/fail closed one.
    duration: Mapped[float | None] = mapped_column(Float, default=None)
