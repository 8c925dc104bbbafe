"""Logs: structlog, configured once per process; every std-lib ``logging`` call goes through it.

``configure_logging`` puts one handler on the root logger whose ``ProcessorFormatter`` renders
both structlog events and plain ``logging`` records (uvicorn's, Dramatiq's, ours): one JSON
object per line (``LOG_FORMAT=json``, the default when stderr is not a terminal: process
managers, containers, PaaS log routers) or readable lines (``console``, the default on a
terminal). Context bound with ``structlog.contextvars`` (the request id, an actor's name, a
check's code) is added to every line logged while it is bound, from either API.

``RequestIdMiddleware`` gives each HTTP request an id: the caller's ``X-Request-ID`` when it is
a sane token (a proxy's or load balancer's), otherwise a new one; it is bound for the request's
log lines and returned in the ``X-Request-ID`` response header. It adds no log line: the ping
path stays as quiet and as cheap as before.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterable, Sequence
from typing import IO, Any

import structlog
from litestar.enums import ScopeType
from litestar.logging.config import LoggingConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from structlog.types import EventDict, Processor

_HANDLER_NAME = "cronbeat"
REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")


def use_json(log_format: str, stream: IO[str]) -> bool:
    if log_format == "json":
        return True
    if log_format == "console":
        return False
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


_process: dict[str, str] = {}  # {"process": name}, set by configure_logging


def _add_process(_logger: Any, _method: str, event: EventDict) -> EventDict:
    # A plain value, not a contextvar: it must reach every thread (Dramatiq's worker threads).
    for key, value in _process.items():
        event.setdefault(key, value)
    return event


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        _add_process,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(
    log_format: str = "auto",
    level: str = "INFO",
    *,
    process: str | None = None,
    stream: IO[str] | None = None,
) -> None:
    """Route structlog and std-lib logging to one stderr handler; idempotent per process.

    ``process`` ("web", "worker", …) is added to every line of this process.
    """
    out = stream or sys.stderr
    as_json = use_json(log_format, out)
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    final: Sequence[Processor] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        *([structlog.processors.format_exc_info] if as_json else []),
        renderer,
    ]
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=final, foreign_pre_chain=_shared_processors()
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        # Replace ours and basicConfig's; leave others alone (pytest's capture handlers).
        if old.get_name() == _HANDLER_NAME or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    _process.clear()
    if process:
        _process["process"] = process
    # Quiet by default: one INFO line per outbound request or per SMTP command is noise.
    for name in ("httpx", "httpcore", "mail.log"):
        logging.getLogger(name).setLevel(logging.WARNING)


def litestar_logging_config() -> LoggingConfig:
    """Litestar's own logger propagates to ours (no handler, no root takeover); unexpected
    errors (5xx) are logged with their traceback in production too, client errors are not."""
    return LoggingConfig(
        configure_root_logger=False,
        loggers={"litestar": {"level": "INFO", "handlers": [], "propagate": True}},
        log_exceptions="always",
        disable_stack_trace=set(range(400, 500)),
    )


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-ID if it is a sane token, else a new random id."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            if _SANE_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure ASGI: bind ``request_id`` for the request's log lines and echo it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        header = (REQUEST_ID_HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)


def get_logger(name: str) -> Any:
    """A structlog logger named like a std-lib one (``get_logger(__name__)``)."""
    return structlog.stdlib.get_logger(name)
