"""The async engine, one per process, and the SQLite settings that make it safe to share."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    # No overflow: SQLAlchemy closes overflow connections on return, so under load a process
    # would keep reconnecting (and re-preparing the ping statement). Requests wait for a
    # pooled connection instead; PostgreSQL's row lock serialises pings to one check anyway.
    return create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_recycle=1800)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers work while a ping writes; busy_timeout makes writers queue
        # instead of failing; SQLite ignores foreign keys (and cascades) unless asked.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # Let us issue BEGIN ourselves, so a write transaction can take the write lock first.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate") else "BEGIN"
        )


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


class Database:
    """The engine, a session factory, and (on SQLite) the in-process writer lock.

    SQLite allows one writer at a time; queuing writers on an asyncio lock costs nothing,
    whereas letting them collide makes SQLite's busy handler sleep in 1-100 ms steps.
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.sqlite = is_sqlite(self.engine)
        self._write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def write_lock(self) -> asyncio.Lock:
        """The SQLite writer lock of the running event loop (web and worker loops differ)."""
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = asyncio.Lock()
        return lock

    async def check_connection(self) -> None:
        """Raise unless the database answers ``SELECT 1``."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class _WriteTransaction:
    """A write transaction: BEGIN IMMEDIATE behind the writer lock on SQLite."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> AsyncConnection:
        if self.db.sqlite:
            await self.db.write_lock.acquire()
        try:
            conn = await self.db.engine.connect()
            if self.db.sqlite:
                conn = await conn.execution_options(sqlite_immediate=True)
            await conn.begin()
        except BaseException:
            if self.db.sqlite:
                self.db.write_lock.release()
            raise
        self._conn = conn
        return conn

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._conn is not None
        try:
            if exc_type is None:
                await self._conn.commit()
            else:
                await self._conn.rollback()
            await self._conn.close()
        finally:
            if self.db.sqlite:
                self.db.write_lock.release()


def write_transaction(db: Database) -> _WriteTransaction:
    return _WriteTransaction(db)


@asynccontextmanager
async def write_session(db: Database) -> AsyncIterator[AsyncSession]:
    """An ORM session inside a write transaction (on SQLite: BEGIN IMMEDIATE behind the
    writer lock, so a read-then-write cannot fail on a stale snapshot). Commits on exit."""
    async with (
        write_transaction(db) as conn,
        AsyncSession(bind=conn, expire_on_commit=False) as session,
    ):
        yield session
        await session.flush()
