"""Heartbeat Central's management API, served over simple checks.

``GET/POST /api/applications``, ``GET/PUT/DELETE /api/applications/<id>`` and
``GET /api/applications/<id>/heartbeats``, with Heartbeat Central's JSON and status codes
(201 on create, 204 on delete), authenticated like the rest of the API by a project key in
``X-Api-Key`` (the read-only key may only read). ``POST /heartbeat/<uuid>`` is in app/web/ping.py;
the translation between applications and checks is in app/domain/seed_systems.py.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, delete, get, post, put
from litestar.enums import MediaType
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import live
from app.db import models as m
from app.db.engine import write_session
from app.domain import checks, seed_systems
from app.domain.errors import BadRequest, Conflict, LimitReached, NotFound, ValidationError
from app.web.api.auth import ApiAuth, ApiError, api_error, authenticate, json_body
from app.web.state import AppState

LIST_PATH = "/api/applications"
DETAIL_PATH = "/api/applications/{app_id:str}"
RECENT_HEARTBEATS = 10  # the detail view's "recent_heartbeats", as in Heartbeat Central
PER_PAGE, MAX_PER_PAGE = 50, 1000

NOT_FOUND = "application not found"
ANOTHER_PROJECT = "application belongs to another project"
_DIGITS = re.compile(r"[0-9]{1,9}")
# Authenticated by key, never by a cookie: no CSRF token applies.
_OPT = {"exclude_from_csrf": True}


@dataclass(frozen=True)
class _Call:
    request: Request[Any, Any, Any]
    state: AppState
    auth: ApiAuth


_View = Callable[[_Call], Awaitable[Response[Any]]]


async def _serve(request: Request[Any, Any, Any], view: _View, *, write: bool) -> Response[Any]:
    """Authenticate, run the view, and turn every error into its one ``{"error": …}`` answer."""
    try:
        auth = await authenticate(request, write=write)
        return await view(_Call(request, AppState.of(request), auth))
    except ApiError as error:
        return api_error(error.status_code, error.message)
    except ValidationError as error:
        return api_error(400, seed_systems.application_error(error).message)
    except BadRequest as error:
        return api_error(400, error.message)
    except LimitReached as error:
        return api_error(403, error.message)
    except NotFound:
        return api_error(404, NOT_FOUND)
    except Conflict as error:
        return api_error(409, error.message)


async def _body(call: _Call) -> Any:
    if call.request.method == "POST":
        return await json_body(call.request)  # already parsed by authenticate
    raw = await call.request.body()
    try:
        return json.loads(raw) if raw else {}
    except ValueError:  # UnicodeDecodeError is a ValueError too
        raise ApiError(400, "could not parse request body") from None


def _code(call: _Call) -> uuid.UUID:
    try:
        return uuid.UUID(call.request.path_params["app_id"])
    except ValueError:
        raise NotFound(NOT_FOUND) from None


def _applications() -> Select[m.Check]:
    # Applications are simple checks: cron, OnCalendar and HTTP checks have no expected
    # interval, so Heartbeat Central's API neither lists nor edits them.
    return select(m.Check).where(m.Check.kind == "simple")


async def _own_application(
    call: _Call, session: AsyncSession, *, for_update: bool = False
) -> m.Check:
    query = _applications().where(m.Check.code == _code(call))
    if for_update:
        # PostgreSQL: a concurrent ping must not slip between reading the check and writing
        # it back (its new last_ping would be lost from alert_after). SQLite needs no lock:
        # a write session holds the database's write lock from its first statement.
        query = query.with_for_update(of=m.Check)
    check = await session.scalar(query)
    if check is None:
        raise NotFound(NOT_FOUND)
    call.auth.require_project(check.project_id, ANOTHER_PROJECT)
    return check


async def _to_dict(session: AsyncSession, check: m.Check) -> dict[str, Any]:
    changed = await seed_systems.changed_at(session, [check.id])
    return seed_systems.application_to_dict(check, changed.get(check.id))


def _positive_int(call: _Call, name: str, default: int, maximum: int) -> int:
    raw = call.request.query_params.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= maximum:
        raise ValidationError(name, f"{name} must be an integer from 1 to {maximum}")
    return int(raw)


# --- views ------------------------------------------------------------------------------------


async def _list(call: _Call) -> Response[Any]:
    async with call.state.db.sessionmaker() as session:
        found = list(
            (
                await session.scalars(
                    _applications()
                    .where(m.Check.project_id == call.auth.project_id)
                    .order_by(m.Check.id)
                )
            ).all()
        )
        changed = await seed_systems.changed_at(session, [check.id for check in found])
    return Response([seed_systems.application_to_dict(c, changed.get(c.id)) for c in found])


async def _create(call: _Call) -> Response[Any]:
    changes = seed_systems.parse_application(await _body(call), create=True)
    now = call.state.clock()
    async with write_session(call.state.db) as session:
        check, _ = await checks.create_check(session, call.auth.project_id, changes.check_data, now)
        if changes.is_active is False:
            await checks.pause_check(session, check, now)
        result = await _to_dict(session, check)
    live.hub.publish((check.id,))
    return Response(result, status_code=201)


async def _detail(call: _Call) -> Response[Any]:
    async with call.state.db.sessionmaker() as session:
        check = await _own_application(call, session)
        result = await _to_dict(session, check)
        recent, _ = await seed_systems.heartbeats(
            session, check.id, offset=0, limit=RECENT_HEARTBEATS
        )
    # Heartbeat Central's detail view adds these two to the application's fields.
    result["is_overdue"] = seed_systems.is_overdue(check, call.state.clock())
    result["recent_heartbeats"] = [seed_systems.heartbeat_to_dict(p, check.code) for p in recent]
    return Response(result)


async def _update(call: _Call) -> Response[Any]:
    changes = seed_systems.parse_application(await _body(call), create=False)
    now = call.state.clock()
    async with write_session(call.state.db) as session:
        check = await _own_application(call, session, for_update=True)
        if changes.check_data:
            await checks.update_check(session, check, changes.check_data, now)
        if changes.is_active is False and check.status != "paused":
            await checks.pause_check(session, check, now)
        elif changes.is_active is True and check.status == "paused":
            await checks.resume_check(session, check, now)
        result = await _to_dict(session, check)
    live.hub.publish((check.id,))
    return Response(result)


async def _delete(call: _Call) -> Response[Any]:
    async with write_session(call.state.db) as session:
        check = await _own_application(call, session, for_update=True)
        await checks.delete_check(session, check)
    live.hub.publish((check.id,))
    return Response(b"", status_code=204, media_type=MediaType.TEXT)


async def _heartbeats(call: _Call) -> Response[Any]:
    page = _positive_int(call, "page", 1, 1_000_000)
    per_page = _positive_int(call, "per_page", PER_PAGE, MAX_PER_PAGE)
    async with call.state.db.sessionmaker() as session:
        check = await _own_application(call, session)
        found, total = await seed_systems.heartbeats(
            session, check.id, offset=(page - 1) * per_page, limit=per_page
        )
    return Response(
        {
            "heartbeats": [seed_systems.heartbeat_to_dict(p, check.code) for p in found],
            "total": total,
            "pages": math.ceil(total / per_page),
            "current_page": page,
        }
    )


# --- routes -----------------------------------------------------------------------------------


@get(LIST_PATH, name="hc-applications", include_in_schema=False, opt=_OPT)
async def list_applications(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _serve(request, _list, write=False)


@post(LIST_PATH, name="hc-application-create", include_in_schema=False, opt=_OPT)
async def create_application(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _serve(request, _create, write=True)


@get(DETAIL_PATH, name="hc-application", include_in_schema=False, opt=_OPT)
async def get_application(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _serve(request, _detail, write=False)


@put(DETAIL_PATH, name="hc-application-update", include_in_schema=False, opt=_OPT)
async def update_application(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _serve(request, _update, write=True)


@delete(
    DETAIL_PATH,
    name="hc-application-delete",
    include_in_schema=False,
    opt=_OPT,
    status_code=200,  # the view answers 204 itself: Litestar refuses 204 handlers with a body
)
async def delete_application(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _serve(request, _delete, write=True)


@get(DETAIL_PATH + "/heartbeats", name="hc-heartbeats", include_in_schema=False, opt=_OPT)
async def list_heartbeats(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _serve(request, _heartbeats, write=False)


route_handlers = [
    list_applications,
    create_application,
    get_application,
    update_application,
    delete_application,
    list_heartbeats,
]
