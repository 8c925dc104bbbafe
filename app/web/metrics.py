"""Metrics: a project's checks for Prometheus (reference §3.16), and the operator's own.

* ``/projects/<uuid>/metrics/<read-only key>`` — Healthchecks' Prometheus endpoint, per check
  and per tag, for the project's users to scrape.
* ``/api/vN/metrics/`` — figures for whoever runs Cronbeat (backlogs, queue depths), behind
  ``X-Metrics-Key``. Healthchecks answers JSON here; Cronbeat speaks Prometheus text instead.
* ``/api/vN/status/`` — ``OK`` when the database answers.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, Response, route
from litestar.enums import HttpMethod
from sqlalchemy import func, select
from sqlalchemy.orm import load_only

from app.db import models as m
from app.domain import alerts, keys
from app.domain.badges import tags_list
from app.domain.checks import TIMING_COLUMNS, unique_key
from app.domain.status import displayed_status
from app.web.api.auth import API_KEY_LENGTH, API_VERSIONS
from app.web.state import AppState
from workers.metrics import ActorFigures, figures, read_fields

logger = logging.getLogger(__name__)

MEDIA_TYPE = "text/plain; version=0.0.4"  # Litestar adds "; charset=utf-8"
_ALL_METHODS = list(HttpMethod)
_NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_QUEUE_TIMEOUT = 2.0  # seconds to wait for Redis before leaving the queue figures out


def _text(body: str, status_code: int = 200, media_type: str = MEDIA_TYPE) -> Response[bytes]:
    return Response(
        body.encode(),
        status_code=status_code,
        media_type=media_type,
        headers={"Cache-Control": _NEVER_CACHE},
    )


def _empty(status_code: int) -> Response[bytes]:
    return Response(b"", status_code=status_code, headers={"Cache-Control": _NEVER_CACHE})


# --- the project's Prometheus endpoint -------------------------------------------------------


def escape(value: str) -> str:
    """A label value in the text exposition format: backslash, double quote and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(frozen=True)
class CheckSample:
    name: str
    tags: str
    unique_key: str
    status: str  # displayed: new | paused | up | grace | down
    started: bool


def _gauge(name: str, help_text: str, samples: Iterable[tuple[str, int]]) -> Iterator[str]:
    yield f"# HELP {name} {help_text}\n"
    yield f"# TYPE {name} gauge\n"
    for labels, value in samples:
        yield f"{name}{labels} {value}\n"


def prometheus_text(checks: Sequence[CheckSample]) -> str:
    """The exposition: per check, per tag, then totals; a blank line between metrics."""

    def per_check(test: Callable[[CheckSample], bool]) -> Iterator[tuple[str, int]]:
        for check in checks:
            labels = (
                f'{{name="{escape(check.name)}", tags="{escape(check.tags)}", '
                f'unique_key="{check.unique_key}"}}'
            )
            yield labels, 1 if test(check) else 0

    tag_down: dict[str, bool] = {}
    for check in checks:
        for tag in tags_list(check.tags):
            tag_down[tag] = tag_down.get(tag, False) or check.status == "down"
    num_down = sum(1 for check in checks if check.status == "down")

    groups = [
        _gauge(
            "hc_check_up",
            "Whether the check is currently up (1 for yes, 0 for no).",
            per_check(lambda check: check.status != "down"),
        ),
        _gauge(
            "hc_check_started",
            "Whether the check is currently started (1 for yes, 0 for no).",
            per_check(lambda check: check.started),
        ),
        _gauge(
            "hc_check_grace",
            "Whether the check is currently in its grace period (1 for yes, 0 for no).",
            per_check(lambda check: check.status == "grace"),
        ),
        _gauge(
            "hc_check_paused",
            "Whether the check is currently paused (1 for yes, 0 for no).",
            per_check(lambda check: check.status == "paused"),
        ),
        _gauge(
            "hc_tag_up",
            "Whether all checks with this tag are up (1 for yes, 0 for no).",
            ((f'{{tag="{escape(tag)}"}}', 0 if tag_down[tag] else 1) for tag in sorted(tag_down)),
        ),
        _gauge("hc_checks_total", "The total number of checks.", [("", len(checks))]),
        _gauge("hc_checks_down_total", "The number of checks currently down.", [("", num_down)]),
        _gauge("hc_tags_total", "The total number of tags.", [("", len(tag_down))]),
        _gauge(
            "hc_tags_down_total",
            "The number of tags with a check currently down.",
            [("", sum(tag_down.values()))],
        ),
    ]
    return "\n".join("".join(group) for group in groups)


async def _project_for_readonly_key(state: AppState, key: str) -> int | None:
    secret = state.settings.secret_key
    async with state.db.engine.connect() as conn:
        row = (
            await conn.execute(
                select(m.Project.id, m.Project.api_key_readonly)
                .where(m.Project.api_key_readonly == keys.hash_api_key(key, secret))
                .limit(1)
            )
        ).first()
    if row is None or not keys.api_key_matches(key, row.api_key_readonly, secret):
        return None
    return int(row.id)


async def _check_samples(state: AppState, project_id: int, now: datetime) -> list[CheckSample]:
    query = (
        select(m.Check)
        .where(m.Check.project_id == project_id)
        .order_by(m.Check.id)
        .options(load_only(m.Check.code, m.Check.name, m.Check.tags, *TIMING_COLUMNS))
    )
    async with state.db.sessionmaker() as session:
        checks = (await session.scalars(query)).all()
    return [
        CheckSample(
            name=check.name,
            tags=check.tags,
            unique_key=unique_key(check.code),
            status=displayed_status(check, now),
            started=check.last_start is not None,
        )
        for check in checks
    ]


def _bearer_key(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@route(
    [
        "/projects/{project_code:uuid}/metrics/{key:str}",
        "/projects/{project_code:uuid}/checks/metrics/{key:str}",
        "/projects/{project_code:uuid}/metrics",
    ],
    http_method=[HttpMethod.GET],
    include_in_schema=False,
    name="prometheus-metrics",
)
async def prometheus_view(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The project's checks for Prometheus; only the read-only API key is accepted (a leaked
    scrape config must not give write access). The key names the project: as in Healthchecks,
    the uuid in the path is not checked against it. PROMETHEUS_ENABLED=false turns it off
    (404, as in Healthchecks)."""
    if not AppState.of(request).settings.prometheus_enabled:
        return _empty(404)
    key: str | None = request.path_params.get("key")
    if key is not None and not _SLUG.fullmatch(key):
        return _empty(404)  # Healthchecks' URL pattern takes a slug here
    if key is None:
        key = _bearer_key(request)
        if key is None:
            return _empty(401)
    if len(key) != API_KEY_LENGTH:
        return _empty(400)
    state = AppState.of(request)
    project_id = await _project_for_readonly_key(state, key)
    if project_id is None:
        return _empty(403)
    samples = await _check_samples(state, project_id, state.clock())
    return _text(prometheus_text(samples))


# --- the operator's metrics ------------------------------------------------------------------


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    ready: int  # waiting for a worker
    delayed: int  # scheduled for later (retries, delays)


def queue_depths(broker: Any) -> list[QueueDepth]:
    """Messages waiting in each declared Dramatiq queue (blocking: talks to Redis)."""
    from dramatiq.brokers.stub import StubBroker
    from dramatiq.common import dq_name

    depths = []
    # The in-memory broker declares each queue's delay queue ("<name>.DQ") as a queue too.
    queues = {queue.removesuffix(".DQ") for queue in broker.get_declared_queues()}
    for queue in sorted(queues):
        if isinstance(broker, StubBroker):
            ready = broker.queues[queue].qsize()
            delayed = broker.queues[dq_name(queue)].qsize()
        else:  # RedisBroker: a list of waiting message ids; delayed messages in a hash
            prefix = f"{broker.namespace}:"
            ready = int(broker.client.llen(prefix + queue))
            delayed = int(broker.client.hlen(prefix + dq_name(queue) + ".msgs"))
        depths.append(QueueDepth(queue, ready, delayed))
    return depths


def _broker() -> Any:
    # Imported on first use: the web process needs the broker only here, and importing the
    # actors binds them to it (workers/broker.py picks Redis or in-memory from REDIS_URL).
    from workers.actors import broker

    return broker


async def _queue_depths() -> list[QueueDepth] | None:
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(lambda: queue_depths(_broker())), _QUEUE_TIMEOUT
        )
    except Exception:  # Redis down or slow: the other figures are still worth reporting
        logger.warning("could not read the Dramatiq queue depths", exc_info=True)
        return None


async def _check_counts(state: AppState) -> tuple[int, int]:
    """All checks, and those down (as the sweep has recorded it)."""
    async with state.db.engine.connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(m.Check))).scalar_one()
        down = (
            await conn.execute(
                select(func.count()).select_from(m.Check).where(m.Check.status == "down")
            )
        ).scalar_one()
    return int(total), int(down)


def operator_text(
    counts: dict[str, int],
    checks_total: int,
    checks_down: int,
    queues: list[QueueDepth] | None,
    actors: list[ActorFigures] | None = None,
) -> str:
    groups = [
        _gauge(
            "cronbeat_unprocessed_flips",
            "Status changes not yet turned into notifications.",
            [("", counts["unprocessed_flips"])],
        ),
        _gauge(
            "cronbeat_undelivered_notifications",
            "Notifications not yet sent (queued, being sent or waiting for a retry).",
            [("", counts["undelivered_notifications"])],
        ),
        _gauge("cronbeat_checks_total", "The number of checks.", [("", checks_total)]),
        _gauge(
            "cronbeat_checks_down_total", "The number of checks that are down.", [("", checks_down)]
        ),
    ]
    if queues is not None:
        groups += [
            _gauge(
                "cronbeat_queue_depth",
                "Messages waiting for a worker, per Dramatiq queue.",
                [(f'{{queue="{escape(q.queue)}"}}', q.ready) for q in queues],
            ),
            _gauge(
                "cronbeat_queue_delayed",
                "Messages scheduled for later, per Dramatiq queue.",
                [(f'{{queue="{escape(q.queue)}"}}', q.delayed) for q in queues],
            ),
        ]
    if actors is not None:
        groups += actor_groups(actors)
    return "\n".join("".join(group) for group in groups)


def _number(value: float) -> str:
    return repr(round(value, 6))


def actor_groups(actors: Sequence[ActorFigures]) -> list[Iterator[str]]:
    """Per Dramatiq actor: messages by outcome (counter), processing time (histogram) and
    time waited in the queue (summary), summed over every worker process."""

    def messages() -> Iterator[str]:
        name = "cronbeat_actor_messages_total"
        yield f"# HELP {name} Messages processed, per Dramatiq actor and outcome.\n"
        yield f"# TYPE {name} counter\n"
        for one in actors:
            for outcome, count in sorted(one.messages.items()):
                yield f'{name}{{actor="{escape(one.actor)}",outcome="{escape(outcome)}"}} {count}\n'

    def durations() -> Iterator[str]:
        name = "cronbeat_actor_duration_seconds"
        yield f"# HELP {name} Time spent processing a message, per Dramatiq actor.\n"
        yield f"# TYPE {name} histogram\n"
        for one in actors:
            actor = escape(one.actor)
            buckets = one.cumulative_buckets()
            for bound, count in buckets:
                yield f'{name}_bucket{{actor="{actor}",le="{bound}"}} {count}\n'
            yield f'{name}_sum{{actor="{actor}"}} {_number(one.seconds)}\n'
            yield f'{name}_count{{actor="{actor}"}} {buckets[-1][1]}\n'

    def waits() -> Iterator[str]:
        name = "cronbeat_actor_queue_wait_seconds"
        yield f"# HELP {name} Time a message waited in the queue before a worker took it.\n"
        yield f"# TYPE {name} summary\n"
        for one in actors:
            actor = escape(one.actor)
            yield f'{name}_sum{{actor="{actor}"}} {_number(one.waited)}\n'
            yield f'{name}_count{{actor="{actor}"}} {one.waited_count}\n'

    return [messages(), durations(), waits()]


async def _actor_figures() -> list[ActorFigures] | None:
    try:
        fields = await asyncio.wait_for(
            asyncio.to_thread(lambda: read_fields(_broker())), _QUEUE_TIMEOUT
        )
    except Exception:  # Redis down or slow: the other figures are still worth reporting
        logger.warning("could not read the actor metrics", exc_info=True)
        return None
    return figures(fields)


def _metrics_key_ok(request: Request[Any, Any, Any], expected: str | None) -> bool:
    """``X-Metrics-Key`` as in Healthchecks, or ``Authorization: Bearer`` (what a Prometheus
    scrape config's ``authorization`` section sends)."""
    given = request.headers.get("x-metrics-key")
    if given is None:
        given = _bearer_key(request)
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


@route(
    [f"/api/v{version}/metrics/" for version in API_VERSIONS],
    http_method=_ALL_METHODS,
    include_in_schema=False,
    name="api-metrics",
    opt={"exclude_from_csrf": True},
)
async def operator_metrics_view(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = AppState.of(request)
    if not _metrics_key_ok(request, state.settings.metrics_key):
        return _empty(403)
    counts = await alerts.counts(state.db)
    checks_total, checks_down = await _check_counts(state)
    queues, actors = await asyncio.gather(_queue_depths(), _actor_figures())
    return _text(operator_text(counts, checks_total, checks_down, queues, actors))


@route(
    [f"/api/v{version}/status/" for version in API_VERSIONS],
    http_method=_ALL_METHODS,
    include_in_schema=False,
    name="api-status",
    opt={"exclude_from_csrf": True},
)
async def status_view(request: Request[Any, Any, Any]) -> Response[bytes]:
    """``OK`` once the database has answered ``SELECT 1`` (for load balancers)."""
    state = AppState.of(request)
    try:
        await state.db.check_connection()
    except Exception:  # any failure to reach the database
        logger.exception("the database did not answer")
        return _text("database unavailable", 503, "text/plain")
    return _text("OK", 200, "text/html")


route_handlers = [prometheus_view, operator_metrics_view, status_view]
