"""`cronbeat serve`: every process of the production shape, in one process.

The web app runs on uvicorn in the main event loop; side services start beside it and stop
with it: the Dramatiq worker threads and the periodic scheduler (in-memory broker unless
REDIS_URL is set), and the email ping listener when SMTPD_PORT is set.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import uvicorn

from app.config import Settings
from app.db.engine import Database
from app.main import create_app
from app.web.ping import PingFastPath

log = logging.getLogger("cronbeat")


class SideService(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def side_services(settings: Settings, db: Database) -> list[SideService]:
    from workers.embedded import EmbeddedWorker

    services: list[SideService] = [EmbeddedWorker()]
    if settings.smtpd_port:
        from app.smtpd import EmailPingServer

        services.append(
            EmailPingServer(settings, host="127.0.0.1", port=settings.smtpd_port, db=db)
        )
    return services


async def serve_embedded(settings: Settings, *, host: str, port: int) -> None:
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    app = create_app(settings, db=db)
    server = uvicorn.Server(
        uvicorn.Config(
            PingFastPath(app),
            host=host,
            port=port,
            access_log=False,
            log_config=None,  # through app/logging.py, configured by `cronbeat serve`
            log_level=settings.log_level.lower(),
            lifespan="on",
        )
    )
    services = side_services(settings, db)
    for service in services:
        await service.start()
    log.info(
        "Cronbeat on http://%s:%s (database %s)", host, port, settings.database_url.split("://")[0]
    )
    try:
        await server.serve()
    finally:
        for service in reversed(services):
            await service.stop()
        await db.dispose()


def run_embedded(settings: Settings, *, host: str, port: int) -> None:
    asyncio.run(serve_embedded(settings, host=host, port=port))
