"""create_app(): the Litestar application factory (web process and embedded mode)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app import live
from app.config import Settings, get_settings
from app.db.engine import Database
from app.domain.clock import Clock, utcnow
from app.logging import RequestIdMiddleware, litestar_logging_config
from app.web import badges, metrics, ping, ui
from app.web.api import channels, checks, docs, health_check_job, heartbeat_central
from app.web.state import AppState
from app.web.ui import formatting
from app.web.ui.sessions import SESSION_COOKIE, SESSION_MAX_AGE, DatabaseStore, SessionConfig

ROOT = Path(__file__).resolve().parent.parent


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    clock: Clock = utcnow,
    debug: bool = False,
) -> Litestar:
    settings = settings or get_settings()
    owns_db = db is None
    database = db or Database(settings.database_url, pool_size=settings.db_pool_size)
    state = AppState(settings=settings, db=database, clock=clock)

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncGenerator[None, None]:
        listener = _start_live_updates(settings)
        settle_memory()
        try:
            yield
        finally:
            if listener is not None:
                listener.cancel()
            if owns_db:
                await database.dispose()

    site = Router(
        path=settings.site_path or "/",
        route_handlers=[
            *ping.route_handlers,
            ui.router(),
            *channels.route_handlers,
            *checks.route_handlers,
            *badges.route_handlers,
            *metrics.route_handlers,
            *heartbeat_central.route_handlers,
            *health_check_job.route_handlers,
            *docs.route_handlers,
            create_static_files_router(
                path="/static", directories=[ROOT / "static"], name="static", cache_control=None
            ),
        ],
    )
    prefix = (settings.site_path or "").rstrip("/")
    # Machine endpoints: no cookies, no CSRF, no session lookups.
    machine_paths = [
        f"^{prefix}/{p}"
        for p in ("ping/", "api/", "heartbeat/", "health", "badge/", "b/", "v1/", "static/")
    ] + [f"^{prefix}/projects/[^/]+/metrics/"]
    secure = settings.site_root.startswith("https://")
    session_config = SessionConfig(
        key=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        secure=secure,
        httponly=True,
        samesite="lax",
        exclude=machine_paths,
    )
    return Litestar(
        route_handlers=[site],
        state=State({"cronbeat": state}),
        lifespan=[lifespan],
        template_config=TemplateConfig(
            # Each integration keeps its setup form beside its transport (STYLE.md).
            directory=[ROOT / "templates", ROOT / "app" / "integrations"],
            engine=JinjaTemplateEngine,
            engine_callback=formatting.configure,
        ),
        middleware=[RequestIdMiddleware, session_config.middleware],  # request ids: app/logging.py
        stores={"sessions": DatabaseStore(database, clock)},
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="cronbeat_csrf",
            cookie_secure=secure,
            cookie_samesite="lax",
            header_name="x-csrftoken",
            exclude=machine_paths,
        ),
        plugins=[HTMXPlugin()],
        openapi_config=None,
        debug=debug,
        # Operations (app/logging.py): Litestar's logs through structlog.
        logging_config=litestar_logging_config(),
    )


def settle_memory() -> None:
    """Move everything start-up built (modules, routes, templates) out of the garbage
    collector's reach: a full collection then walks only what requests allocate, which
    keeps a large page (the checks page renders ~1 MB of HTML) free of 50 ms GC pauses."""
    gc.collect()
    gc.freeze()


def _start_live_updates(settings: Settings) -> asyncio.Task[None] | None:
    """Share live updates with the other processes over Redis, when there is one."""
    if not settings.redis_url:
        return None
    # `cronbeat serve` may have started it already, for a sweep of its worker threads.
    outbox = live.ensure_outbox(settings.redis_url)
    task = asyncio.get_running_loop().create_task(
        live.listen(live.hub, settings.redis_url, outbox.origin)
    )

    def stop(_task: asyncio.Task[None]) -> None:
        live.hub.connect(None)
        outbox.close()

    task.add_done_callback(stop)
    return task
