"""Status badges (reference §4) and the badges list of the management API (§3.14).

Badge URLs are public: a signed project/tag URL or a check's badge key is the only secret.
Anything that does not name a badge (bad signature, unknown format, unknown check, a malformed
segment) is a plain 404.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any
from urllib.parse import unquote

from litestar import Request, Response, route
from litestar.enums import HttpMethod

from app.domain import badges
from app.web.api.auth import ApiCall, ApiEndpoint
from app.web.state import AppState

_ALL_METHODS = list(HttpMethod)
_ALLOWED = "GET, OPTIONS"
# Django's URL converters, which Healthchecks' badge URLs use: slug, "quoted" (the tag, after
# the HTTP layer's percent-decoding) and uuid (lowercase).
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_QUOTED = re.compile(r"[\w%~_.-]+")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Caching. Healthchecks marks badges never-cache. A README on GitHub shows images through
# GitHub's camo proxy, which honours Cache-Control: "no-cache" makes it revalidate with us on
# every page view, while a short public max-age lets it (and browsers) reuse a badge for a
# minute. A status badge a minute old is as good as fresh for a reader, and the load on us is
# then bounded by one request per minute per cache, not one per page view. After that minute
# the cache revalidates with If-None-Match and, while the status is unchanged, gets a 304
# without a body.
CACHE_CONTROL = "public, max-age=60"
_NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "X-Api-Key",
    "Access-Control-Allow-Methods": _ALLOWED,
    "Access-Control-Max-Age": "600",
}
_SVG = "image/svg+xml"
_JSON = "application/json"


class _NotFound(Exception):
    pass


def _trailing_slash(request: Request[Any, Any, Any]) -> bool:
    """Whether the URL as sent ends with "/" (Litestar strips it before routing)."""
    raw: bytes = request.scope.get("raw_path") or b""
    return raw.endswith(b"/")


def _split(filename: str) -> tuple[str, str]:
    """``name.fmt`` → (name, fmt), as the URL pattern matches it (the view checks fmt later)."""
    name, dot, fmt = filename.rpartition(".")
    if not dot or not name or not _SLUG.fullmatch(fmt):
        raise _NotFound
    return name, fmt


def _check_format(fmt: str) -> None:
    if fmt not in badges.FORMATS:
        raise _NotFound


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _etag_matches(request: Request[Any, Any, Any], etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    # Weak comparison (RFC 9110 §13.1.2): W/"x" matches "x".
    candidates = {value.strip().removeprefix("W/") for value in header.split(",")}
    return etag in candidates


def _badge_response(
    request: Request[Any, Any, Any], fmt: str, label: str, state: badges.BadgeState
) -> Response[bytes]:
    if fmt == "svg":
        body = badges.svg(label, state.status).encode()
        media_type = _SVG
    else:
        data = state.as_json() if fmt == "json" else badges.shields(label, state)
        body = json.dumps(data, ensure_ascii=False).encode()
        media_type = _JSON
    etag = _etag(body)
    headers = {**_CORS, "Cache-Control": CACHE_CONTROL, "ETag": etag}
    if _etag_matches(request, etag):
        return Response(b"", status_code=304, headers=headers)
    return Response(body, status_code=200, media_type=media_type, headers=headers)


def _not_found() -> Response[bytes]:
    return Response(
        b"not found",
        status_code=404,
        media_type="text/plain",
        headers={**_CORS, "Cache-Control": _NEVER_CACHE},
    )


def _preflight(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """OPTIONS → 204 (no lookups at all); a method other than GET/HEAD → 405."""
    if request.method == HttpMethod.OPTIONS:
        return Response(b"", status_code=204, headers=_CORS)
    if request.method not in (HttpMethod.GET, HttpMethod.HEAD):
        return Response(b"", status_code=405, headers={**_CORS, "Allow": "GET, HEAD, OPTIONS"})
    return None


@route(
    [
        "/badge/{badge_key:str}/{signature:str}/{filename:str}",
        "/badge/{badge_key:str}/{filename:str}",
    ],
    http_method=_ALL_METHODS,
    include_in_schema=False,
    name="badge",
)
async def project_badge_view(request: Request[Any, Any, Any]) -> Response[bytes]:
    """``/badge/<badge_key>/<sig>/<tag>.<fmt>`` and ``/badge/<badge_key>/<sig>.<fmt>`` (all)."""
    params = request.path_params
    try:
        if _trailing_slash(request):
            raise _NotFound
        if "signature" in params:
            signature = params["signature"]
            raw_tag, fmt = _split(params["filename"])
            if not _QUOTED.fullmatch(raw_tag):
                raise _NotFound
            tag = unquote(raw_tag)  # the second decoding (see badges.url_tag)
        else:
            signature, fmt = _split(params["filename"])
            tag = badges.ALL_TAGS
        badge_key = params["badge_key"]
        if not (_SLUG.fullmatch(badge_key) and _SLUG.fullmatch(signature)):
            raise _NotFound
        if (answer := _preflight(request)) is not None:
            return answer
        _check_format(fmt)
        state = AppState.of(request)
        verdict = badges.verify(badge_key, tag, signature, state.settings.secret_key)
        if not verdict.valid:
            raise _NotFound
        badge = await badges.project_badge(
            state.db, badge_key, tag, state.clock(), with_late=verdict.with_late
        )
    except _NotFound:
        return _not_found()
    label = state.settings.site_name if tag == badges.ALL_TAGS else tag
    return _badge_response(request, fmt, label, badge)


async def _check_badge(request: Request[Any, Any, Any], *, with_late: bool) -> Response[bytes]:
    try:
        if _trailing_slash(request):
            raise _NotFound
        code, fmt = _split(request.path_params["filename"])
        if not _UUID.fullmatch(code):
            raise _NotFound
        if (answer := _preflight(request)) is not None:
            return answer
        _check_format(fmt)
        state = AppState.of(request)
        badge = await badges.check_badge(
            state.db, uuid.UUID(code), state.clock(), with_late=with_late
        )
        if badge is None:
            raise _NotFound
    except _NotFound:
        return _not_found()
    return _badge_response(request, fmt, badge.label, badge.state)


@route(
    "/b/2/{filename:str}", http_method=_ALL_METHODS, include_in_schema=False, name="check-badge-2"
)
async def check_badge_2_view(request: Request[Any, Any, Any]) -> Response[bytes]:
    """``/b/2/<check badge_key>.<fmt>``: up or down."""
    return await _check_badge(request, with_late=False)


@route(
    "/b/3/{filename:str}", http_method=_ALL_METHODS, include_in_schema=False, name="check-badge-3"
)
async def check_badge_3_view(request: Request[Any, Any, Any]) -> Response[bytes]:
    """``/b/3/<check badge_key>.<fmt>``: up, late or down."""
    return await _check_badge(request, with_late=True)


badge_list = ApiEndpoint("/badges/", name="api-badges")


@badge_list.get()
async def list_badges(call: ApiCall) -> Response[Any]:
    settings = call.state.settings
    found = await badges.project_badge_urls(
        call.state.db, call.auth.project_id, settings.site_root, settings.secret_key
    )
    return Response({"badges": found})


route_handlers = [project_badge_view, check_badge_2_view, check_badge_3_view, badge_list.handler]
