"""Checks in the management API (reference §3.2-§3.13): list, create, show, update, delete,
pause, resume, the ping log, ping bodies and status changes (flips).

Every rule lives in app.domain.checks; this module reads requests and shapes answers.

A check URL names the check by uuid or, for reading, by its unique_key (40 characters).
Litestar cannot route one path segment by its type, so each check URL is one route whose
handler picks the endpoint for the form it was given (``_CheckUrl``); anything else is 404.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, route
from litestar.enums import HttpMethod, MediaType
from litestar.handlers import HTTPRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from app import live
from app.db import models as m
from app.db.engine import write_session
from app.domain import checks
from app.domain.checks import check_to_dict, flip_to_dict
from app.domain.errors import Conflict
from app.web.api.auth import API_VERSIONS, ApiCall, ApiEndpoint, api_error

ANOTHER_PROJECT = "check belongs to another project"
# Django's uuid converter: canonical, lowercase. The unique_key converter is [A-z0-9]{40}
# (the range A-z also admits [\]^_` ).
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UNIQUE_KEY = re.compile(r"[A-z0-9]{40}")
_PING_NUMBER = re.compile(r"[0-9]{1,10}")
_REF = "check_ref"


class _CheckUrl:
    """A URL under ``/checks/{check_ref}``: ``by_code`` serves the uuid form, ``by_key`` (when
    the URL has one) the unique_key form. Each is an ApiEndpoint with its own methods, so
    CORS, 405s and authentication are exactly those of the form that was asked for."""

    def __init__(self, suffix: str, *, name: str, by_key: bool = False) -> None:
        path = "/checks/{" + _REF + ":str}" + suffix
        self.by_code = ApiEndpoint(path, name=f"{name}-by-code")
        self.by_key = ApiEndpoint(path, name=f"{name}-by-key") if by_key else None

        async def check_url_view(request: Request[Any, Any, Any]) -> Response[Any]:
            ref = request.path_params[_REF]
            if _UUID.fullmatch(ref):
                return await self.by_code._dispatch(request)
            if self.by_key is not None and _UNIQUE_KEY.fullmatch(ref):
                return await self.by_key._dispatch(request)
            return api_error(404, "not found")

        self.handler: HTTPRouteHandler = route(
            [f"/api/v{version}{path}" for version in API_VERSIONS],
            http_method=list(HttpMethod),
            status_code=200,
            name=name,
            include_in_schema=False,
            opt={"exclude_from_csrf": True},
        )(check_url_view)


check_list = ApiEndpoint("/checks/", name="api-checks")
check_detail = _CheckUrl("", name="api-check", by_key=True)
check_pause = _CheckUrl("/pause", name="api-check-pause")
check_resume = _CheckUrl("/resume", name="api-check-resume")
check_pings = _CheckUrl("/pings/", name="api-check-pings")
ping_body = _CheckUrl("/pings/{n:str}/body", name="api-check-ping-body")
check_flips = _CheckUrl("/flips/", name="api-check-flips", by_key=True)


# --- helpers -------------------------------------------------------------------------------------


async def _own_check(call: ApiCall, session: AsyncSession, *, for_update: bool = False) -> m.Check:
    """The check the URL names: by uuid (another project's → 403), or by unique_key among the
    caller's checks. NotFound becomes 404."""
    ref = call.request.path_params[_REF]
    if _UUID.fullmatch(ref):
        check = await checks.get_check(session, uuid.UUID(ref), for_update=for_update)
        call.auth.require_project(check.project_id, ANOTHER_PROJECT)
        return check
    return await checks.get_check_by_unique_key(
        session, call.auth.project_id, ref, for_update=for_update
    )


async def _checks_json(
    call: ApiCall, session: AsyncSession, found: Sequence[m.Check]
) -> list[dict[str, Any]]:
    readonly = call.auth.readonly
    codes = {} if readonly else await checks.channel_codes(session, [c.id for c in found])
    now = call.state.clock()
    return [
        check_to_dict(
            check,
            call.state.settings,
            now,
            readonly=readonly,
            version=call.version,
            channel_codes=codes.get(check.id),
        )
        for check in found
    ]


async def _check_json(call: ApiCall, session: AsyncSession, check: m.Check) -> dict[str, Any]:
    return (await _checks_json(call, session, [check]))[0]


# --- the list, and create ------------------------------------------------------------------------


@check_list.get()
async def list_checks(call: ApiCall) -> Response[Any]:
    params = call.request.query_params
    async with call.state.db.sessionmaker() as session:
        found = await checks.list_checks(
            session, call.auth.project_id, tags=params.getall("tag", []), slug=params.get("slug")
        )
        return Response({"checks": await _checks_json(call, session, found)})


@check_list.post()
async def create_check(call: ApiCall) -> Response[Any]:
    async with write_session(call.state.db) as session:
        check, created = await checks.create_check(
            session, call.auth.project_id, call.body, call.state.clock(), version=call.version
        )
        data = await _check_json(call, session, check)
    live.hub.publish((check.id,))  # committed: open dashboards show it
    return Response(data, status_code=201 if created else 200)


# --- one check -----------------------------------------------------------------------------------


@check_detail.by_code.get()
async def get_check(call: ApiCall) -> Response[Any]:
    async with call.state.db.sessionmaker() as session:
        check = await _own_check(call, session)
        return Response(await _check_json(call, session, check))


assert check_detail.by_key is not None
check_detail.by_key.get()(get_check)


@check_detail.by_code.post()
async def update_check(call: ApiCall) -> Response[Any]:
    async with write_session(call.state.db) as session:
        check = await _own_check(call, session, for_update=True)
        await checks.update_check(
            session, check, call.body, call.state.clock(), version=call.version
        )
        data = await _check_json(call, session, check)
    live.hub.publish((check.id,))  # committed: open dashboards show it
    return Response(data)


@check_detail.by_code.delete()
async def delete_check(call: ApiCall) -> Response[Any]:
    async with write_session(call.state.db) as session:
        check = await _own_check(call, session, for_update=True)
        data = await _check_json(call, session, check)
        await checks.delete_check(session, check)
    live.hub.publish((check.id,))  # committed: open dashboards show it
    return Response(data)


@check_pause.by_code.post()
async def pause_check(call: ApiCall) -> Response[Any]:
    async with write_session(call.state.db) as session:
        check = await _own_check(call, session, for_update=True)
        await checks.pause_check(session, check, call.state.clock())
        data = await _check_json(call, session, check)
    live.hub.publish((check.id,))  # committed: open dashboards show it
    return Response(data)


@check_resume.by_code.post()
async def resume_check(call: ApiCall) -> Response[Any]:
    async with write_session(call.state.db) as session:
        check = await _own_check(call, session, for_update=True)
        try:
            await checks.resume_check(session, check, call.state.clock())
        except Conflict as error:
            # Healthchecks answers this one in plain text, not as a JSON error.
            # (As Django does: text/html; Litestar adds "; charset=utf-8".)
            return Response(error.message, status_code=409, media_type=MediaType.HTML)
        data = await _check_json(call, session, check)
    live.hub.publish((check.id,))  # committed: open dashboards show it
    return Response(data)


# --- pings and flips -----------------------------------------------------------------------------


def _ping_to_dict(call: ApiCall, check: m.Check, ping: m.Ping) -> dict[str, Any]:
    body_url = None
    if ping.body:
        body_url = (
            f"{call.state.settings.site_root}/api/v{call.version}/checks/{check.code}"
            f"/pings/{ping.n}/body"
        )
    result: dict[str, Any] = {
        "type": ping.kind,
        "date": ping.created.isoformat(),
        "n": ping.n,
        "scheme": ping.scheme,
        "remote_addr": ping.remote_addr,
        "method": ping.method,
        "ua": ping.ua,
        "rid": str(ping.rid) if ping.rid is not None else None,
        "body_url": body_url,
    }
    duration = checks.ping_duration(ping)
    if duration is not None:
        result["duration"] = duration
    return result


@check_pings.by_code.get(write=True)
async def list_pings(call: ApiCall) -> Response[Any]:
    async with call.state.db.sessionmaker() as session:
        check = await _own_check(call, session)
        pings = await checks.list_pings(session, check)
    return Response({"pings": [_ping_to_dict(call, check, ping) for ping in pings]})


@ping_body.by_code.get(write=True)
async def get_ping_body(call: ApiCall) -> Response[Any]:
    n = call.request.path_params["n"]
    async with call.state.db.sessionmaker() as session:
        check = await _own_check(call, session)
        if not _PING_NUMBER.fullmatch(n):
            return api_error(404, "not found")
        body = await checks.get_ping_body(session, check, int(n))
    # text/plain without a charset: the bytes are the client's, in whatever encoding.
    return Response(body, media_type=MediaType.TEXT, headers={"Content-Type": "text/plain"})


class _BadParam(Exception):
    pass


_MAX_TIMESTAMP = 10_000_000_000  # year 2286: a sanity bound (reference §3.13)
_DECIMAL_TAIL = re.compile(r"\.0*\s*$")


def _timestamp_param(value: str | None) -> datetime | None:
    """``start`` / ``end``: a UNIX time in whole seconds, 0 … 10 000 000 000."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise _BadParam from None
    if not 0 <= number <= _MAX_TIMESTAMP:
        raise _BadParam
    return datetime.fromtimestamp(number, UTC)


def _seconds_param(value: str | None) -> int | None:
    """``seconds``: a Django IntegerField, 0 … 31 536 000 (empty means absent)."""
    if value is None or value == "":
        return None
    try:
        number = int(_DECIMAL_TAIL.sub("", value))
    except ValueError:
        raise _BadParam from None
    if not 0 <= number <= checks.MAX_SECONDS:
        raise _BadParam
    return number


def _last(call: ApiCall, name: str) -> str | None:
    values: list[str] = call.request.query_params.getall(name, [])
    return values[-1] if values else None


@check_flips.by_code.get()
async def list_flips(call: ApiCall) -> Response[Any]:
    async with call.state.db.sessionmaker() as session:
        check = await _own_check(call, session)
        try:
            start = _timestamp_param(_last(call, "start"))
            end = _timestamp_param(_last(call, "end"))
            seconds = _seconds_param(_last(call, "seconds"))
        except _BadParam:
            return Response(b"", status_code=400, media_type=MediaType.TEXT)
        flips = await checks.list_flips(
            session, check, call.state.clock(), start=start, end=end, seconds=seconds
        )
    return Response({"flips": [flip_to_dict(flip) for flip in flips]})


assert check_flips.by_key is not None
check_flips.by_key.get()(list_flips)


route_handlers = [
    check_list.handler,
    check_detail.handler,
    check_pause.handler,
    check_resume.handler,
    check_pings.handler,
    ping_body.handler,
    check_flips.handler,
]
