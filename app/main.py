"""create_app(): the Litestar application factory (web process and embedded mode)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app.config import Settings, get_settings
from app.db.engine import Database
from app.domain.clock import Clock, utcnow
from app.web import badges, metrics, ping
from app.web.api import channels, checks, health_check_job, heartbeat_central
from app.web.state import AppState
from app.web.ui import home

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
        try:
            yield
        finally:
            if owns_db:
                await database.dispose()

    site = Router(
        path=settings.site_path or "/",
        route_handlers=[
            *ping.route_handlers,
            *home.route_handlers,
            *channels.route_handlers,
            *checks.route_handlers,
            *badges.route_handlers,
            *metrics.route_handlers,
            *heartbeat_central.route_handlers,
            *health_check_job.route_handlers,
            create_static_files_router(
                path="/static", directories=[ROOT / "static"], name="static", cache_control=None
            ),
        ],
    )
    return Litestar(
        route_handlers=[site],
        state=State({"cronbeat": state}),
        lifespan=[lifespan],
        template_config=TemplateConfig(directory=ROOT / "templates", engine=JinjaTemplateEngine),
        plugins=[HTMXPlugin()],
        openapi_config=None,
        debug=debug,
    )
