"""Fixtures on the real database: SQLite by default, PostgreSQL when TEST_DATABASE_URL is set.

With CI=true a configured service that does not answer fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text

os.environ.setdefault("SECRET_KEY", "test-secret-key")

from app.config import Settings, load_settings
from app.db import models as m
from app.db.engine import Database
from app.db.migrate import upgrade
from app.main import create_app
from app.web.ping import PingFastPath
from app.web.state import AppState
from app.web.ui.sessions import DatabaseStore
from tests.factories import Factory

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


class FakeClock:
    """An injected clock that only moves when a test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        self.now += timedelta(seconds=seconds, **kwargs)
        return self.now


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its production cost spends ~50 ms per hash by design; the tests check the
    rules around passwords, not the cost, so they hash at argon2's cheapest profile."""
    from argon2 import PasswordHasher, profiles

    from app.domain import keys

    production = keys._password_hasher
    keys._password_hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    keys._password_hasher = production


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC))


def _postgres_url() -> str:
    if TEST_DATABASE_URL.startswith("postgresql://"):
        return "postgresql+asyncpg://" + TEST_DATABASE_URL.removeprefix("postgresql://")
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a template SQLite file, or the PostgreSQL test database."""
    if TEST_DATABASE_URL:
        url = _postgres_url()
        try:
            _reset_postgres(url)
            upgrade(url)
        except Exception as error:  # a configured but unreachable database
            message = f"TEST_DATABASE_URL is set but PostgreSQL is not usable: {error}"
            if IN_CI:
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        return url
    template = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{template}")
    return str(template)


def _reset_postgres(url: str) -> None:
    import asyncio

    async def drop() -> None:
        db = Database(url, pool_size=1)
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await db.dispose()

    asyncio.run(drop())


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> str:
    if TEST_DATABASE_URL:
        return migrated_database
    path = tmp_path / "cronbeat.db"
    shutil.copy(migrated_database, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    base = load_settings({"SECRET_KEY": "test-secret-key", "SITE_ROOT": "http://testserver.local"})
    return replace(base, database_url=database_url, integrations_allow_private_ips=True)


_TABLES = ", ".join(t.name for t in reversed(m.metadata.sorted_tables))


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url, pool_size=20)
    if not database.sqlite:
        async with database.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
    yield database
    await database.dispose()


@pytest.fixture
def factory(db: Database, clock: FakeClock, settings: Settings) -> Factory:
    return Factory(db, clock, settings)


_APPS: dict[str, Litestar] = {}


def app_for(settings: Settings, db: Database, clock: FakeClock) -> Litestar:
    """The app for this test's settings, database and clock.

    Building the app (its ~150 routes) costs a quarter of a second; tests whose settings
    differ only by database share one app, pointed at the test's database and clock.
    """
    key = repr(replace(settings, database_url=""))
    app = _APPS.get(key)
    if app is None:
        app = _APPS[key] = create_app(settings, db=db, clock=clock, debug=True)
        return app
    app.state["cronbeat"] = AppState(settings=settings, db=db, clock=clock)
    store = app.stores.get("sessions")
    assert isinstance(store, DatabaseStore)
    store.db, store.clock = db, clock
    store.forget()
    return app


@pytest.fixture
async def client(
    settings: Settings,
    db: Database,
    clock: FakeClock,
) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ASGI in the test's own event loop (the database pool lives there too)."""
    app = app_for(settings, db, clock)
    transport = httpx.ASGITransport(app=PingFastPath(app), client=("10.1.2.3", 4567))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver.local"
    ) as test_client:
        yield test_client
