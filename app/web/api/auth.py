"""What every management API endpoint shares: CORS, method dispatch, API keys, error answers.

Healthchecks wraps each API view in ``cors(...)`` and then ``authorize`` / ``authorize_read``
(reference §3.3, §3.4). ``ApiEndpoint`` does the same, in the same order, for one URL under
``/api/v1/``, ``/api/v2/`` and ``/api/v3/``:

1. ``OPTIONS`` → 204, no authentication;
2. a method the URL does not serve → 405 (before any key check);
3. a POST body that is not a JSON object → 400;
4. the API key (``X-Api-Key``, or ``api_key`` in a POST's JSON body) → 401 when missing or wrong;
5. the view; domain errors it raises become their one HTTP answer here.

Every answer, errors and 405s included, carries the CORS headers.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, route
from litestar.enums import HttpMethod, MediaType
from litestar.handlers import HTTPRouteHandler
from sqlalchemy import or_, select

from app.db import models as m
from app.domain import keys
from app.domain.errors import BadRequest, Conflict, LimitReached, NotFound, ValidationError
from app.web.state import AppState

API_VERSIONS = (1, 2, 3)
API_KEY_LENGTH = 32
_ALL_METHODS = list(HttpMethod)
_VERSION = re.compile(r"/api/v(\d+)/")
_BODY_STATE_KEY = "cronbeat_api_body"


@dataclass(frozen=True)
class ApiAuth:
    """Who is calling: the project the key belongs to, and whether it is the read-only key."""

    project_id: int
    readonly: bool

    def require_project(self, project_id: int, message: str) -> None:
        """An object of another project is refused with 403 (reference §3.2)."""
        if project_id != self.project_id:
            raise ApiError(403, message)


class ApiError(Exception):
    """Stop handling this request and answer ``{"error": message}`` with ``status_code``."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def api_error(status_code: int, message: str) -> Response[dict[str, str]]:
    return Response({"error": message}, status_code=status_code)


async def json_body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """A POST's JSON object body; ``{}`` for other methods and for an empty body.

    Parsed once per request (authentication and the view both read it).
    """
    if request.method != HttpMethod.POST:
        return {}
    state = request.state
    cached: dict[str, Any] | None = state.get(_BODY_STATE_KEY)
    if cached is not None:
        return cached
    raw = await request.body()
    body: dict[str, Any] = {}
    if raw:
        try:
            parsed = json.loads(raw.decode())
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
            raise ApiError(400, "could not parse request body") from None
        if not isinstance(parsed, dict):
            raise ApiError(400, "json validation error: value is not an object")
        body = parsed
    state[_BODY_STATE_KEY] = body
    return body


async def authenticate(request: Request[Any, Any, Any], *, write: bool) -> ApiAuth:
    """The project behind the request's API key; raises ApiError(400 or 401).

    ``write``: the endpoint needs the read-write key, so the read-only key is a wrong key
    (as in Healthchecks, this includes some GETs, e.g. the channel list).
    """
    body = await json_body(request)  # a body that does not parse is refused before the key
    key = request.headers.get("x-api-key")
    if key is None:
        # Healthchecks coerces the body's value with str(): a JSON number or null is no key.
        key = str(body.get("api_key", ""))
    if len(key) != API_KEY_LENGTH:
        raise ApiError(401, "missing api key")
    if not key.isascii() or not key.isprintable():
        raise ApiError(401, "wrong api key")  # no key we issue looks like this
    state = AppState.of(request)
    auth = await _project_for_key(state, key, write=write)
    if auth is None:
        raise ApiError(401, "wrong api key")
    return auth


async def _project_for_key(state: AppState, key: str, *, write: bool) -> ApiAuth | None:
    # The stored form is a deterministic HMAC, so an indexed equality lookup finds the row;
    # the constant-time comparison then decides.
    secret = state.settings.secret_key
    stored = keys.hash_api_key(key, secret)
    match = m.Project.api_key == stored
    if not write:
        match = or_(match, m.Project.api_key_readonly == stored)
    async with state.db.engine.connect() as conn:
        row = (
            await conn.execute(
                select(m.Project.id, m.Project.api_key, m.Project.api_key_readonly)
                .where(match)
                .limit(1)
            )
        ).first()
    if row is None:
        return None
    if keys.api_key_matches(key, row.api_key, secret):
        return ApiAuth(project_id=row.id, readonly=False)
    if not write and keys.api_key_matches(key, row.api_key_readonly, secret):
        return ApiAuth(project_id=row.id, readonly=True)
    return None


@dataclass(frozen=True)
class ApiCall:
    """One authenticated API request, as a view sees it."""

    request: Request[Any, Any, Any]
    state: AppState
    auth: ApiAuth
    body: dict[str, Any]  # the POST's JSON object ({} for GET and DELETE)
    version: int  # 1, 2 or 3: the URL's /api/vN/

    def uuid_param(self, name: str) -> uuid.UUID:
        """A ``{name:uuid}`` path parameter (Litestar answers 404 to a malformed one)."""
        value = self.request.path_params[name]
        assert isinstance(value, uuid.UUID)
        return value


ApiView = Callable[[ApiCall], Awaitable[Response[Any]]]


@dataclass(frozen=True)
class _Method:
    view: ApiView
    write: bool


class ApiEndpoint:
    """One management API URL, served under every API version.

    ``path`` is relative to ``/api/vN`` (``"/channels/{channel_code:uuid}"``). Views register
    per method; ``write=True`` means the read-write key is needed. ``handler`` is the Litestar
    route handler to register::

        channel_list = ApiEndpoint("/channels/", name="api-channels")

        @channel_list.get(write=True)
        async def list_channels(call: ApiCall) -> Response[Any]: ...
    """

    def __init__(self, path: str, *, name: str) -> None:
        self._methods: dict[str, _Method] = {}

        async def api_view(request: Request[Any, Any, Any]) -> Response[Any]:
            return await self._dispatch(request)

        self.handler: HTTPRouteHandler = route(
            [f"/api/v{version}{path}" for version in API_VERSIONS],
            http_method=_ALL_METHODS,
            status_code=200,  # for views that do not say (Litestar's default for POST is 201)
            name=name,
            include_in_schema=False,
            # API calls are authenticated by key, never by a cookie: no CSRF token applies.
            opt={"exclude_from_csrf": True},
        )(api_view)

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods this URL serves, besides OPTIONS (in registration order)."""
        return tuple(self._methods)

    @property
    def write_methods(self) -> tuple[str, ...]:
        """The methods that need the read-write key."""
        return tuple(name for name, method in self._methods.items() if method.write)

    def get(self, *, write: bool = False) -> Callable[[ApiView], ApiView]:
        return self._register(HttpMethod.GET, write=write)

    def post(self) -> Callable[[ApiView], ApiView]:
        return self._register(HttpMethod.POST, write=True)

    def delete(self) -> Callable[[ApiView], ApiView]:
        return self._register(HttpMethod.DELETE, write=True)

    def _register(self, method: HttpMethod, *, write: bool) -> Callable[[ApiView], ApiView]:
        def decorator(view: ApiView) -> ApiView:
            self._methods[method.value] = _Method(view, write)
            return view

        return decorator

    def _allowed(self) -> str:
        return ", ".join([*self._methods, "OPTIONS"])

    def _cors_headers(self) -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Headers": "X-Api-Key",
            "Access-Control-Allow-Methods": self._allowed(),
            "Access-Control-Max-Age": "600",
        }

    async def _dispatch(self, request: Request[Any, Any, Any]) -> Response[Any]:
        response = await self._answer(request)
        response.headers.update(self._cors_headers())
        return response

    async def _answer(self, request: Request[Any, Any, Any]) -> Response[Any]:
        if request.method == HttpMethod.OPTIONS:
            return Response(b"", status_code=204, media_type=MediaType.TEXT)
        method = self._methods.get(request.method)
        if method is None:
            return Response(
                b"", status_code=405, media_type=MediaType.TEXT, headers={"Allow": self._allowed()}
            )
        try:
            auth = await authenticate(request, write=method.write)
            call = ApiCall(
                request=request,
                state=AppState.of(request),
                auth=auth,
                body=await json_body(request),
                version=_version(request),
            )
            return await method.view(call)
        except ApiError as error:
            return api_error(error.status_code, error.message)
        except ValidationError as error:
            return api_error(400, f"json validation error: {error.message}")
        except BadRequest as error:
            return api_error(400, error.message)
        except LimitReached as error:
            return api_error(403, error.message)
        except NotFound:
            return api_error(404, "not found")
        except Conflict as error:
            return api_error(409, error.message)


def _version(request: Request[Any, Any, Any]) -> int:
    match = _VERSION.search(request.scope["path_template"])
    assert match is not None, "API endpoints are mounted under /api/vN/"
    return int(match.group(1))
