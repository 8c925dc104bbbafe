"""The `cronbeat` command: a contract that scripts, the Procfile and the tests rely on."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from app.config import ConfigError, Settings, get_settings

if TYPE_CHECKING:
    from app.web.ping import PingFastPath

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return get_settings()
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error}") from None


def _run_with_session(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(session)`` in one transaction and return its result."""
    from app.db.engine import Database, write_session
    from app.domain.errors import DomainError

    async def main() -> T:
        db = Database(settings.database_url, pool_size=1)
        try:
            # A write transaction: on SQLite, BEGIN IMMEDIATE, so this read-then-write cannot
            # fail on a stale snapshot while `cronbeat serve` writes to the same file.
            async with write_session(db) as session:
                return await work(session)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except DomainError as error:
        raise click.ClickException(error.message) from None


@click.group()
def main() -> None:
    """Cronbeat: monitors cron jobs and scheduled tasks."""


# --- processes --------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Embedded mode: migrate, then run every process in this one (SQLite by default)."""
    from app.db.migrate import upgrade
    from app.embedded import run_embedded

    settings = _configure_logging("serve")
    upgrade(settings.database_url)
    run_embedded(settings, host=host, port=port)


def _env_int(name: str, default: int) -> Callable[[], int]:
    def read() -> int:
        raw = os.environ.get(name, "").strip()
        try:
            return int(raw) if raw else default
        except ValueError:
            raise click.BadParameter(f"{name} must be an integer, got {raw!r}") from None

    return read


def _configure_logging(process: str) -> Settings:
    from app.logging import configure_logging

    settings = _settings()
    configure_logging(settings.log_format, settings.log_level, process=process)
    return settings


def web_app() -> PingFastPath:
    """The ASGI app of `cronbeat web` (a factory: each uvicorn worker process calls it)."""
    from app.main import create_app
    from app.web.ping import PingFastPath

    settings = _configure_logging("web")
    return PingFastPath(create_app(settings))


WEB_SHUTDOWN_SECONDS = 20  # open connections (SSE streams) get this long after SIGTERM


@main.command()
@click.option("--host", default=lambda: os.environ.get("HOST", "0.0.0.0"), show_default="0.0.0.0")
@click.option("--port", default=_env_int("PORT", 8000), type=int, show_default="$PORT or 8000")
@click.option(
    "--workers",
    default=_env_int("WEB_CONCURRENCY", 1),
    type=int,
    show_default="$WEB_CONCURRENCY or 1",
)
def web(host: str, port: int, workers: int) -> None:
    """The web process (production): uvicorn serving the Litestar app.

    Proxy headers (X-Forwarded-For/-Proto) are trusted from FORWARDED_ALLOW_IPS.
    """
    import uvicorn

    settings = _configure_logging("web")  # fail fast, with a clear message, before forking
    uvicorn.run(
        "app.cli:web_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        access_log=False,
        log_config=None,  # uvicorn's loggers go through ours (app/logging.py)
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=WEB_SHUTDOWN_SECONDS,
    )


@main.command()
@click.option(
    "--processes",
    default=_env_int("WORKER_PROCESSES", 1),
    type=int,
    show_default="$WORKER_PROCESSES or 1",
)
@click.option(
    "--threads",
    default=_env_int("WORKER_THREADS", 16),
    type=int,
    show_default="$WORKER_THREADS or 16",
)
@click.option(
    "--shutdown-timeout",
    default=_env_int("WORKER_SHUTDOWN_TIMEOUT", 25),
    type=int,
    show_default="$WORKER_SHUTDOWN_TIMEOUT or 25",
    help="Seconds to finish the messages in hand after SIGTERM.",
)
def worker(processes: int, threads: int, shutdown_timeout: int) -> None:
    """Dramatiq workers (production): sweeps, deliveries, reports, pruning. Needs REDIS_URL."""
    from workers.process import run_workers

    settings = _settings()
    if not settings.redis_url:
        raise click.ClickException("cronbeat worker needs REDIS_URL (without it, use serve)")
    sys.exit(run_workers(processes, threads, shutdown_timeout))


@main.command()
def scheduler() -> None:
    """Enqueues the periodic actors on their cron schedule (UTC). Needs REDIS_URL."""
    settings = _configure_logging("scheduler")
    if not settings.redis_url:
        raise click.ClickException("cronbeat scheduler needs REDIS_URL (without it, use serve)")
    from workers.scheduler import main as run_scheduler

    sys.exit(run_scheduler())


@main.command()
@click.option(
    "--host",
    default=lambda: os.environ.get("SMTPD_HOST", "127.0.0.1"),
    show_default="$SMTPD_HOST or 127.0.0.1",
)
@click.option(
    "--port", default=_env_int("SMTPD_PORT", 2525), type=int, show_default="$SMTPD_PORT or 2525"
)
def smtpd(host: str, port: int) -> None:
    """Email pings: accept mail to <uuid>@PING_EMAIL_DOMAIN and record it as a ping."""
    from app.smtpd import run_smtpd

    run_smtpd(_configure_logging("smtpd"), host=host, port=port)


# --- database -----------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema (idempotent)."""
    from app.db.migrate import upgrade

    upgrade(_settings().database_url)
    click.echo("database is up to date")


# --- users and projects -------------------------------------------------------------------------


@main.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.argument("email")
@click.option("--password", default=None, help="Without it the user signs in by email link.")
@click.option("--superuser", is_flag=True, default=False)
def users_create(email: str, password: str | None, superuser: bool) -> None:
    """Create a user (with a profile) who can then own projects."""
    from app.domain import accounts

    async def work(session: Any) -> str:
        user = await accounts.create_user(session, email, password=password, superuser=superuser)
        return str(user.email)

    click.echo(f"created user {_run_with_session(_settings(), work)}")


@main.group()
def projects() -> None:
    """Projects and their keys."""


@projects.command("create")
@click.option("--owner", "owner_email", required=True, help="The owner's email address.")
@click.option("--name", required=True)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    default=False,
    help="Print one JSON object with the keys (shown only here).",
)
def projects_create(owner_email: str, name: str, as_json: bool) -> None:
    """Create a project. Its API keys are shown now, once; only their hashes are kept."""
    from app.domain import accounts

    settings = _settings()

    async def work(session: Any) -> dict[str, str]:
        owner = await accounts.get_user_by_email(session, owner_email)
        project, plain = await accounts.create_project(
            session, owner, name, secret_key=settings.secret_key
        )
        return {
            "uuid": str(project.code),
            "name": project.name,
            "api_key": plain.api_key,
            "api_key_readonly": plain.api_key_readonly,
            "ping_key": plain.ping_key,
            "badge_key": plain.badge_key,
        }

    result = _run_with_session(settings, work)
    if as_json:
        click.echo(json.dumps(result))
        return
    for key, value in result.items():
        click.echo(f"{key:17} {value}")
    click.echo("Keep the API keys now: they are stored hashed and cannot be shown again.", err=True)
