"""django-health-check-job's sync endpoint: ``POST /v1/metrics``.

The Django package posts the outcome of every health check plugin of one run; ``sync_app_id``
is the project's ping key (the only credential it sends). See app/domain/seed_systems.py.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, post

from app import live
from app.domain import seed_systems
from app.domain.errors import Conflict, LimitReached, NotFound, ValidationError
from app.domain.pings import PingRequest
from app.web.ping import remote_addr
from app.web.state import AppState


@post(
    "/v1/metrics",
    name="health-check-job-metrics",
    status_code=200,
    include_in_schema=False,
    # Authenticated by the ping key in the body, never by a cookie: no CSRF token applies.
    opt={"exclude_from_csrf": True},
)
async def metrics_view(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    state = AppState.of(request)
    try:
        body = json.loads(await request.body())
    except ValueError:  # UnicodeDecodeError is a ValueError too
        return _error(400, "could not parse request body")
    ping = PingRequest(
        method=request.method,
        scheme=request.headers.get("x-forwarded-proto", "http")[:10],
        remote_addr=remote_addr(request),
        ua=request.headers.get("user-agent", "")[:200],
    )
    try:
        payload = seed_systems.parse_metrics(body)
        outcome = await seed_systems.apply_metrics(
            state.db, payload, ping, state.clock(), body_limit=state.settings.ping_body_limit
        )
    except ValidationError as error:
        return _error(400, error.message)
    except NotFound as error:
        return _error(404, error.message)
    except LimitReached as error:
        return _error(403, error.message)
    except Conflict as error:
        return _error(409, error.message)
    live.hub.publish(outcome.check_ids)
    return Response({"status": "ok", "applied": outcome.applied, "created": list(outcome.created)})


def _error(status_code: int, message: str) -> Response[dict[str, Any]]:
    return Response({"error": message}, status_code=status_code)


route_handlers = [metrics_view]
