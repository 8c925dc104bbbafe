"""Server-side dashboard sessions, kept in the database so every web process shares them.

Litestar's session middleware does the cookie work; ``DatabaseStore`` is its store, and
``SessionConfig`` adds what the middleware lacks: a fresh session id at sign-in (so a session
id planted before sign-in is worthless afterwards).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.base import ONE_DAY_IN_SECONDS
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.base import Store
from litestar.types import Message, ScopeSession
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from app.db import models as m
from app.db.engine import Database, write_transaction
from app.domain.clock import Clock

SESSION_COOKIE = "cronbeat_session"
SESSION_MAX_AGE = ONE_DAY_IN_SECONDS * 14
_ROTATE = "cronbeat_rotate_session"
_NEW_ID = "cronbeat_new_session_id"
_SEEN_LIMIT = 10_000


def rotate_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Store this request's session under a new id (call at sign-in and sign-out)."""
    connection.scope.setdefault("state", {})[_ROTATE] = True


class DatabaseStore(Store):
    """A Litestar store over the ``web_sessions`` table.

    The middleware stores the session after every response, changed or not; writing only
    what changed (or what is half-way to expiry) keeps page views free of database writes.
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._seen: OrderedDict[str, tuple[bytes, datetime | None]] = OrderedDict()

    def forget(self) -> None:
        """Drop what this process remembers of sessions (they are re-read when needed)."""
        self._seen.clear()

    def _remember(self, key: str, value: bytes, expires_at: datetime | None) -> None:
        self._seen[key] = (value, expires_at)
        self._seen.move_to_end(key)
        while len(self._seen) > _SEEN_LIMIT:
            self._seen.popitem(last=False)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        now = self.clock()
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(m.WebSession.value, m.WebSession.expires_at).where(
                        m.WebSession.key == key
                    )
                )
            ).first()
        if row is None or (row.expires_at is not None and row.expires_at <= now):
            self._seen.pop(key, None)
            return None
        self._remember(key, row.value, row.expires_at)
        if renew_for is not None:
            await self.set(key, row.value, renew_for)
        return bytes(row.value)

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        now = self.clock()
        ttl = expires_in if isinstance(expires_in, timedelta) else None
        if isinstance(expires_in, int):
            ttl = timedelta(seconds=expires_in)
        expires_at = now + ttl if ttl is not None else None
        seen_data, seen_expiry = self._seen.get(key, (None, None))
        fresh = seen_expiry is not None and ttl is not None and seen_expiry - now > ttl / 2
        if seen_data == data and fresh:
            return  # unchanged and far from expiry
        insert = (postgresql if not self.db.sqlite else sqlite).insert(m.WebSession)
        statement = insert.values(key=key, value=data, expires_at=expires_at)
        statement = statement.on_conflict_do_update(
            index_elements=[m.WebSession.key],
            set_={"value": statement.excluded.value, "expires_at": statement.excluded.expires_at},
        )
        async with write_transaction(self.db) as conn:
            await conn.execute(statement)
        self._remember(key, data, expires_at)

    async def delete(self, key: str) -> None:
        self._seen.pop(key, None)
        async with write_transaction(self.db) as conn:
            await conn.execute(delete(m.WebSession).where(m.WebSession.key == key))

    async def delete_all(self) -> None:
        self._seen.clear()
        async with write_transaction(self.db) as conn:
            await conn.execute(delete(m.WebSession))

    async def delete_expired(self) -> int:
        async with write_transaction(self.db) as conn:
            result = await conn.execute(
                delete(m.WebSession).where(m.WebSession.expires_at <= self.clock())
            )
        return int(result.rowcount or 0)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        async with self.db.engine.connect() as conn:
            expires_at = await conn.scalar(
                select(m.WebSession.expires_at).where(m.WebSession.key == key)
            )
        if expires_at is None:
            return None
        return int((expires_at - self.clock()).total_seconds())


class _RotatingBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        state = connection.scope.get("state", {})
        if not state.get(_ROTATE):
            return super().get_session_id(connection)
        if not state.get(_NEW_ID):
            state[_NEW_ID] = self.generate_session_id()
        new_id: str = state[_NEW_ID]
        return new_id

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        state = connection.scope.get("state", {})
        old = connection.cookies.get(self.config.key)
        if state.get(_ROTATE) and old and old != "null" and not state.get(_NEW_ID):
            await self.delete(old, store=self.config.get_store_from_app(connection.app))
        await super().store_in_message(scope_session, message, connection)


class SessionConfig(ServerSideSessionConfig):
    _backend_class = _RotatingBackend
