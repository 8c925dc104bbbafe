"""Real rows in the real database, with sensible defaults, for tests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from app.config import Settings
from app.db import models as m
from app.db.engine import Database
from app.domain import accounts
from app.domain.accounts import ProjectKeys


class Factory:
    def __init__(self, db: Database, clock: Any, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    async def user(self, email: str | None = None, password: str | None = None) -> m.User:
        async with self.db.sessionmaker() as session, session.begin():
            return await accounts.create_user(
                session, email or f"user{self._next()}@example.org", password=password
            )

    async def project(
        self,
        owner: m.User | None = None,
        name: str = "Project",
    ) -> tuple[m.Project, ProjectKeys]:
        owner = owner or await self.user()
        async with self.db.sessionmaker() as session, session.begin():
            return await accounts.create_project(
                session, owner, name, secret_key=self.settings.secret_key
            )

    async def check(self, project: m.Project | None = None, **fields: Any) -> m.Check:
        if project is None:
            project, _ = await self.project()
        values: dict[str, Any] = {
            "created": self.clock(),
            "code": uuid.uuid4(),
            "badge_key": uuid.uuid4(),
            "project_id": project.id,
        }
        values.update(fields)
        async with self.db.sessionmaker() as session, session.begin():
            check = m.Check(**values)
            session.add(check)
            await session.flush()
            return check

    async def reload_project(self, check: m.Check) -> m.Project:
        async with self.db.sessionmaker() as session:
            found = await session.get(m.Project, check.project_id)
            assert found is not None
            return found

    async def channel(
        self,
        project: m.Project,
        kind: str = "webhook",
        **fields: Any,
    ) -> m.Channel:
        async with self.db.sessionmaker() as session, session.begin():
            channel = m.Channel(project_id=project.id, kind=kind, created=self.clock(), **fields)
            session.add(channel)
            await session.flush()
            return channel

    async def assign(self, check: m.Check, channel: m.Channel) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(
                insert(m.check_channels).values(check_id=check.id, channel_id=channel.id)
            )

    async def reload(self, check: m.Check) -> m.Check:
        async with self.db.sessionmaker() as session:
            found = await session.scalar(select(m.Check).where(m.Check.id == check.id))
            assert found is not None
            return found

    async def pings(self, check: m.Check) -> list[m.Ping]:
        async with self.db.sessionmaker() as session:
            return list(
                (
                    await session.scalars(
                        select(m.Ping).where(m.Ping.check_id == check.id).order_by(m.Ping.n)
                    )
                ).all()
            )

    async def flips(self, check: m.Check) -> list[m.Flip]:
        async with self.db.sessionmaker() as session:
            return list(
                (
                    await session.scalars(
                        select(m.Flip).where(m.Flip.check_id == check.id).order_by(m.Flip.id)
                    )
                ).all()
            )

    def at(self, when: datetime) -> None:
        self.clock.now = when
