"""What actors need, per event loop: settings, the database, an HTTP client, the clock.

Dramatiq's AsyncIO middleware runs every async actor of a worker process on one event loop
thread; database pools and HTTP clients belong to a loop, so they are made lazily, per loop.
Tests swap settings and the clock with ``configure``.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from dataclasses import dataclass

from app.config import Settings, get_settings
from app.db.engine import Database
from app.domain.clock import Clock, utcnow
from app.integrations.base import DeliveryContext, new_http_client


@dataclass
class Runtime:
    settings: Settings
    db: Database
    ctx: DeliveryContext
    clock: Clock


# Set when the worker shuts down, so long-running loops (the sweeper) end promptly.
stopping = threading.Event()

_overrides: dict[str, object] = {}
_runtimes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Runtime] = (
    weakref.WeakKeyDictionary()
)


def configure(
    *, settings: Settings | None = None, clock: Clock | None = None, db: Database | None = None
) -> None:
    """Replace what actors use (tests); forgets runtimes already made."""
    _overrides.clear()
    _overrides.update(
        {k: v for k, v in {"settings": settings, "clock": clock, "db": db}.items() if v is not None}
    )
    _runtimes.clear()


def current() -> Runtime:
    loop = asyncio.get_running_loop()
    runtime = _runtimes.get(loop)
    if runtime is None:
        settings: Settings = _overrides.get("settings") or get_settings()  # type: ignore[assignment]
        db: Database = _overrides.get("db") or Database(  # type: ignore[assignment]
            settings.database_url, pool_size=settings.db_pool_size
        )
        clock: Clock = _overrides.get("clock") or utcnow  # type: ignore[assignment]
        runtime = Runtime(
            settings=settings,
            db=db,
            ctx=DeliveryContext(settings=settings, http=new_http_client()),
            clock=clock,
        )
        _runtimes[loop] = runtime
    return runtime
