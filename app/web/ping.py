"""Ping endpoints, wire-compatible with Healthchecks (reference §1).

The hot path is parse → one database round trip → respond. Error cases that need to tell
"unknown check" from "bad URL" (Healthchecks answers 404 before 400) take a slow path.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import structlog
from litestar import Litestar, Request, Response, get, post, route
from litestar.enums import HttpMethod, ScopeType
from litestar.types import (
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    HTTPScope,
    Receive,
    Scope,
    Send,
)

from app import live
from app.domain import pings
from app.domain.pings import PingError, PingRequest, Target
from app.logging import REQUEST_ID_HEADER, get_logger, request_id_from
from app.web.state import AppState

# Used with fullmatch only: "$" would also match before a trailing newline ("%0A").
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SLUG_SEGMENT = re.compile(r"[-a-zA-Z0-9_]+")
_EXIT_STATUS = re.compile(r"[0-9]+")
_MAX_REMOTE_ADDR = 100  # the column's size
_ALL_METHODS = [m for m in HttpMethod]
_NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"
_CONTENT_TYPE = "text/html; charset=utf-8"  # what Healthchecks (Django) sends


class _NotFoundUrl(Exception):
    """The URL names no ping form at all (Healthchecks: no route → 404)."""


def answer_headers(state: AppState, status_code: int) -> dict[str, str]:
    """Healthchecks' headers on a ping's answer (both the Litestar route and PingFastPath)."""
    headers = {"Cache-Control": _NEVER_CACHE, "Expires": "Thu, 01 Jan 1970 00:00:00 GMT"}
    if status_code < 300:
        headers["Access-Control-Allow-Origin"] = "*"
        if state.settings.ping_body_limit is not None:
            headers["Ping-Body-Limit"] = str(state.settings.ping_body_limit)
    return headers


def _answer(state: AppState, status_code: int, body: str) -> Response[bytes]:
    return Response(
        body.encode(),
        status_code=status_code,
        media_type="text/html",  # Litestar adds "; charset=utf-8"
        headers=answer_headers(state, status_code),
    )


def is_action(segment: str | None) -> bool:
    """Whether a URL suffix is a ping action: none, start, fail, log or an exit status."""
    return (
        segment is None
        or segment in pings.URL_ACTIONS
        or _EXIT_STATUS.fullmatch(segment) is not None
    )


def parse_action(segment: str | None) -> tuple[str, int | None]:
    """The URL suffix → (action, exit status). Raises PingError for exit status > 255."""
    if segment is None:
        return pings.SUCCESS, None
    if segment in pings.URL_ACTIONS:
        return segment, None
    if _EXIT_STATUS.fullmatch(segment):
        digits = segment.lstrip("0") or "0"
        if len(digits) > 3:  # > 255 anyway; int() refuses more than 4300 digits
            raise PingError("invalid url format")
        exitstatus = int(digits)
        return pings.action_for_exitstatus(exitstatus), exitstatus
    raise _NotFoundUrl


def parse_rid(request: Request[Any, Any, Any]) -> uuid.UUID | None:
    raw = request.query_params.get("rid")
    if raw is None:
        return None
    if not _RID.fullmatch(raw):
        raise PingError("invalid uuid format")
    return uuid.UUID(raw)


def remote_addr(request: Request[Any, Any, Any]) -> str | None:
    peer = request.client.host if request.client else None
    return client_address(request.headers.get("x-forwarded-for"), peer)


def client_address(forwarded: str | None, peer: str | None) -> str | None:
    """The first X-Forwarded-For address (as Healthchecks records it), else the peer's."""
    if not forwarded:
        return peer[:_MAX_REMOTE_ADDR] if peer else peer
    first = forwarded.split(",")[0].strip()
    try:
        ipaddress.ip_address(first)
    except ValueError:
        # "1.2.3.4:5678" (some proxies add the port): keep the address.
        parts = first.split(".")
        if len(parts) == 4 and ":" in parts[3]:
            first = first.rsplit(":", 1)[0]
    return first[:_MAX_REMOTE_ADDR]


def _trailing_slashes(request: Request[Any, Any, Any]) -> int:
    """How many "/" end the URL as sent (Litestar strips them before routing)."""
    raw = request.scope.get("raw_path") or b""
    return len(raw) - len(raw.rstrip(b"/"))


async def read_body(request: Request[Any, Any, Any], limit: int | None) -> bytes:
    return await _cut(request.stream(), limit)


async def _cut(chunks: AsyncIterator[bytes], limit: int | None) -> bytes:
    """The body cut at ``limit`` bytes; the rest is drained, not rejected (no 413)."""
    kept: list[bytes] = []
    size = 0
    async for chunk in chunks:
        if limit is None or size < limit:
            kept.append(chunk)
        size += len(chunk)
    body = b"".join(kept)
    return body if limit is None else body[:limit]


async def _ping_request(
    request: Request[Any, Any, Any],
    state: AppState,
    action: str,
    exitstatus: int | None,
    rid: uuid.UUID | None,
) -> PingRequest:
    return PingRequest(
        action=action,
        exitstatus=exitstatus,
        rid=rid,
        method=request.method,
        scheme=request.headers.get("x-forwarded-proto", "http")[:10],
        remote_addr=remote_addr(request),
        ua=request.headers.get("user-agent", "")[:200],
        body=await read_body(request, state.settings.ping_body_limit),
    )


async def _ping_by_code(
    request: Request[Any, Any, Any], state: AppState, code: str, suffix: str | None
) -> Response[bytes]:
    check_code = uuid.UUID(code)
    try:
        action, exitstatus = parse_action(suffix)
        rid = parse_rid(request)
    except PingError:
        # Healthchecks looks the check up before validating the rest of the URL.
        if not await pings.check_exists(state.db, check_code):
            return _answer(state, 404, "not found")
        raise
    ping = await _ping_request(request, state, action, exitstatus, rid)
    result = await pings.record_ping(state.db, check_code, ping, state.clock())
    live.hub.publish((result.check_id,))
    return _answer(state, 200, "OK")


async def _ping_by_slug(
    request: Request[Any, Any, Any], state: AppState, ping_key: str, slug: str, suffix: str | None
) -> Response[bytes]:
    if not (_SLUG_SEGMENT.fullmatch(ping_key) and _SLUG_SEGMENT.fullmatch(slug)):
        raise _NotFoundUrl
    if not is_action(suffix):
        raise _NotFoundUrl
    if slug != slug.lower():
        raise PingError("invalid url format")
    create = request.query_params.get("create") == "1"
    try:
        action, exitstatus = parse_action(suffix)
        rid = parse_rid(request)
    except PingError:
        # As for uuids: a missing (404) or ambiguous (409) check is reported first.
        await pings.check_slug(state.db, ping_key, slug, create=create)
        raise
    ping = await _ping_request(request, state, action, exitstatus, rid)
    result = await pings.record_slug_ping(
        state.db, ping_key, slug, ping, state.clock(), create=create
    )
    live.hub.publish((result.check_id,))
    return _answer(state, 201, "Created") if result.created else _answer(state, 200, "OK")


@route(
    [
        "/ping/{first:str}",
        "/ping/{first:str}/{second:str}",
        "/ping/{first:str}/{second:str}/{third:str}",
    ],
    http_method=_ALL_METHODS,
    request_max_body_size=None,
    include_in_schema=False,
    name="ping",
)
async def ping_view(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Every ping URL: /ping/<uuid>[/<action>] and /ping/<ping_key>/<slug>[/<action>]."""
    state = AppState.of(request)
    # Read from path_params: three URL shapes share one handler, so the segments are optional.
    first = request.path_params["first"]
    second = request.path_params.get("second")
    third = request.path_params.get("third")
    # Only the bare uuid URL has a trailing-slash form (/ping/<uuid>/), as in Healthchecks.
    slashes = _trailing_slashes(request)
    try:
        if (
            _UUID.fullmatch(first)
            and third is None
            and is_action(second)
            and slashes <= (1 if second is None else 0)
        ):
            return await _ping_by_code(request, state, first, second)
        # Anything else with two or three segments has the shape of a slug URL, even when the
        # first is a uuid (/ping/<uuid>/Start answers 400 like Healthchecks' URL table does).
        if second is None or slashes:
            raise _NotFoundUrl
        return await _ping_by_slug(request, state, first, second, third)
    except PingError as error:
        return _answer(state, error.status_code, error.message)
    except _NotFoundUrl:
        return _answer(state, 404, "not found")


@post(
    "/heartbeat/{code:str}",
    request_max_body_size=None,
    name="heartbeat",
    status_code=200,
    summary="Heartbeat Central: a success ping",
)
async def heartbeat_view(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Heartbeat Central's URL: POST /heartbeat/<uuid> records a success ping."""
    state = AppState.of(request)
    code = request.path_params["code"]
    if not _UUID.fullmatch(code):
        return _answer(state, 404, "not found")
    try:
        return await _ping_by_code(request, state, code, None)
    except PingError as error:
        return _answer(state, error.status_code, error.message)


@get("/health", name="health", summary="Liveness: does the database answer?", cache=False)
async def health_view(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    state = AppState.of(request)
    try:
        await state.db.check_connection()
    except Exception as error:  # any failure to reach the database means "unhealthy"
        return Response(
            {"status": "error", "database": type(error).__name__},
            status_code=503,
            headers={"Cache-Control": _NEVER_CACHE},
        )
    return Response(
        {"status": "ok", "database": "ok"}, status_code=200, headers={"Cache-Control": _NEVER_CACHE}
    )


route_handlers = [ping_view, heartbeat_view, health_view]


_log = get_logger(__name__)
_SERVER_ERROR = b'{"status_code":500,"detail":"Internal Server Error"}'


class PingFastPath:
    """Pure ASGI in front of the Litestar app, for the URLs almost every ping uses.

    ``GET|POST /ping/<uuid>[/<action>]`` and ``/ping/<ping_key>/<slug>[/<action>]`` with no
    query string are parsed straight from the ASGI scope and answered with the bytes
    ``ping_view`` sends (tests compare the two). Through Litestar's router, middleware and
    request/response objects the same ping costs a third more CPU, and at ingest rates that
    is the p99 (bench/ping.py). Every other request, and every URL shape this does not take
    (errors, ``?rid=``, ``?create=1``, other methods), goes to the app unchanged.
    """

    def __init__(self, app: Litestar) -> None:
        self.app = app
        prefix = re.escape(AppState.of_app(app).settings.site_path) + "/ping/"
        # The ping URLs' own parts (an exit status over 255 is left to the app).
        action = f"(?:/({'|'.join(pings.URL_ACTIONS)}|[0-9]{{1,3}}))"
        self._by_code = re.compile(f"{prefix}({_UUID.pattern})(?:{action}|/)?")
        # Lower-case slugs only: Healthchecks answers 400 to the others (the app does).
        self._by_slug = re.compile(f"{prefix}({_SLUG_SEGMENT.pattern})/([-a-z0-9_]+){action}?")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == ScopeType.HTTP
            and not scope["query_string"]
            and scope["method"] in ("GET", "POST")
        ):
            target = self._target(scope["path"])
            if target is not None:
                await self._ping(scope, receive, send, *target)
                return
        await self.app(scope, receive, send)

    def _target(self, path: str) -> tuple[Target, str, int | None] | None:
        """(check code or (ping key, slug), action, exit status) for the URLs taken here."""
        if match := self._by_code.fullmatch(path):
            target: Target = uuid.UUID(match[1])
            suffix = match[2]
        elif (match := self._by_slug.fullmatch(path)) and not _UUID.fullmatch(match[1]):
            # (/ping/<uuid>/<digits> is a bad exit status, not a slug: the app answers it.)
            target, suffix = (match[1], match[2]), match[3]
        else:
            return None
        try:
            action, exitstatus = parse_action(suffix)
        except PingError:  # an exit status over 255: the app answers it
            return None
        return target, action, exitstatus

    async def _ping(
        self,
        scope: HTTPScope,
        receive: Receive,
        send: Send,
        target: Target,
        action: str,
        exitstatus: int | None,
    ) -> None:
        state = AppState.of_app(self.app)
        try:
            body = await _cut(_chunks(receive), state.settings.ping_body_limit)
        except _ClientGone:
            return  # there is no ping, and nobody to answer
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)  # the first of repeated headers, as Litestar reads
        forwarded = headers.get(b"x-forwarded-for")
        peer = scope.get("client")
        ping = PingRequest(
            action=action,
            exitstatus=exitstatus,
            method=scope["method"],
            scheme=headers.get(b"x-forwarded-proto", b"http").decode("latin-1")[:10],
            remote_addr=client_address(
                forwarded.decode("latin-1") if forwarded else None, peer[0] if peer else None
            ),
            ua=headers.get(b"user-agent", b"").decode("latin-1")[:200],
            body=body,
        )
        request_id = request_id_from(scope["headers"])
        try:
            if isinstance(target, uuid.UUID):
                result = await pings.record_ping(state.db, target, ping, state.clock())
            else:
                ping_key, slug = target
                result = await pings.record_slug_ping(state.db, ping_key, slug, ping, state.clock())
        except PingError as error:
            status, answer = error.status_code, error.message.encode()
        except Exception:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                _log.exception("ping failed", path=scope["path"])
            await _send(send, 500, "application/json", {}, _SERVER_ERROR, request_id)
            return
        else:
            live.hub.publish((result.check_id,))
            status, answer = 200, b"OK"
        await _send(send, status, _CONTENT_TYPE, answer_headers(state, status), answer, request_id)


class _ClientGone(Exception):
    """The client hung up before its request's body was complete."""


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    """A request's body from the ASGI ``receive`` channel, chunk by chunk."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        yield cast(bytes, message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _send(
    send: Send,
    status: int,
    content_type: str,
    headers: dict[str, str],
    body: bytes,
    request_id: str,
) -> None:
    raw_headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        (REQUEST_ID_HEADER, request_id.encode()),
    ]
    await send(
        HTTPResponseStartEvent(type="http.response.start", status=status, headers=raw_headers)
    )
    await send(HTTPResponseBodyEvent(type="http.response.body", body=body, more_body=False))
