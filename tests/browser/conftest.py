"""Pages in a real browser: Playwright driving Debian's Chromium against a live server.

Each test gets a fresh database and its own uvicorn server on 127.0.0.1 (in a thread, with
the real clock: the browser lives in real time). Set-up code runs through ``live_server.run``,
which gives an async function a Factory on its own event loop.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from sqlalchemy import text

from app.config import Settings
from app.db import models as m
from app.db.engine import Database
from app.domain.clock import utcnow
from app.main import create_app
from app.web.ping import PingFastPath
from tests.conftest import IN_CI
from tests.factories import Factory

pytestmark = pytest.mark.browser

T = TypeVar("T")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
_TABLES = ", ".join(t.name for t in reversed(m.metadata.sorted_tables))


class RealClock:
    """The factory's clock interface over the wall clock."""

    def __call__(self) -> datetime:
        return utcnow()

    @property
    def now(self) -> datetime:
        return utcnow()


def _run_async(fn: Callable[[], Awaitable[T]]) -> T:
    # A thread of its own: Playwright's sync API owns this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fn()).result()  # type: ignore[arg-type]


@dataclass
class LiveServer:
    url: str
    settings: Settings

    def run(self, fn: Callable[[Factory], Awaitable[T]]) -> T:
        """Run ``fn(factory)`` against this server's database, e.g. to create users."""

        async def main() -> T:
            db = Database(self.settings.database_url, pool_size=2)
            try:
                return await fn(Factory(db, RealClock(), self.settings))
            finally:
                await db.dispose()

        return _run_async(main)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _truncate(url: str) -> None:
    async def main() -> None:
        db = Database(url, pool_size=1)
        try:
            async with db.engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
        finally:
            await db.dispose()

    _run_async(main)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    if not settings.database_url.startswith("sqlite"):
        _truncate(settings.database_url)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = replace(settings, site_root=url, ping_endpoint=f"{url}/ping/")
    app = create_app(settings, debug=True)
    server = uvicorn.Server(
        uvicorn.Config(
            PingFastPath(app), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(url=url, settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(migrated_database: str) -> Iterator[Any]:
    # Module scope: Playwright's sync API owns the main thread's event loop while it runs,
    # which async tests in later modules need back.
    # Migrations run their own event loop: they must run before Playwright owns this
    # thread's loop, hence the dependency on the session's migrated database.
    executable = shutil.which("chromium")
    if executable is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A phone-sized, touch-enabled page, for the responsive layout."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot for the test report (test-results/screenshots/)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Any, email: str, password: str) -> None:
    """Sign in through the form, as a person would."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login" not in url)
