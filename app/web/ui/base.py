"""What every dashboard page shares: who is signed in, project access, rendering, flashes.

Pages are plain forms that answer 303 redirects (so they work without JavaScript); htmx
enhances them. Access is decided here, once, from ``app.domain.permissions``:
an unknown project or one the viewer is not a member of → 404; a member lacking the right
for an action → 403.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException
from litestar.response import Redirect, Template
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import models as m
from app.db.engine import write_transaction
from app.domain import projects
from app.domain.errors import NotFound
from app.domain.permissions import Right, Role, has_right
from app.web.state import AppState
from app.web.ui.sessions import rotate_session

_VIEWER_KEY = "cronbeat_viewer"
_FLASH = "flash"


@dataclass(frozen=True)
class Viewer:
    """The signed-in user, as pages need them."""

    id: int
    email: str
    tz: str
    is_superuser: bool


@dataclass(frozen=True)
class ProjectAccess:
    project: m.Project
    role: Role
    viewer: Viewer

    def can(self, right: Right) -> bool:
        return has_right(self.role, right)

    @property
    def rights(self) -> dict[str, bool]:
        """For templates: ``access.rights.write`` etc."""
        return {r.value: self.can(r) for r in Right}


class SignInRequired(NotAuthorizedException):
    """No signed-in user: pages answer with a redirect to the sign-in form."""


class Forbidden(HTTPException):
    status_code = 403


def _auth_stamp(user: m.User) -> str:
    # Changing the password (or email) signs every other session out.
    source = f"{user.id}:{user.email}:{user.password_hash or ''}"
    return hashlib.sha256(source.encode()).hexdigest()[:20]


async def sign_in(
    request: Request[Any, Any, Any], user: m.User, now: datetime, *, login_stamped: bool = False
) -> None:
    """Start a session for ``user`` under a fresh session id.

    Stamps ``last_login`` (which spends the user's older sign-in links), unless the caller
    already did in its own transaction (``login_stamped``: a sign-in link stamps it where it
    locks the user to spend the link).
    """
    if not login_stamped:
        state = AppState.of(request)
        async with write_transaction(state.db) as conn:
            await conn.execute(update(m.User).where(m.User.id == user.id).values(last_login=now))
    flashes = request.session.get(_FLASH, [])
    request.set_session({"uid": user.id, "auth": _auth_stamp(user), _FLASH: flashes})
    rotate_session(request)


def refresh_sign_in(request: Request[Any, Any, Any], user: m.User) -> None:
    """Keep this session signed in after the user changed their own password or email."""
    request.session["auth"] = _auth_stamp(user)


def sign_out(request: Request[Any, Any, Any]) -> None:
    request.clear_session()


async def current_viewer(request: Request[Any, Any, Any]) -> Viewer | None:
    """The signed-in user or None; loaded once per request."""
    cached = request.scope.get("state", {}).get(_VIEWER_KEY)
    if cached is not None:
        return cached or None
    viewer: Viewer | None = None
    uid = request.session.get("uid") if "session" in request.scope else None
    if isinstance(uid, int):
        state = AppState.of(request)
        async with state.db.sessionmaker() as session:
            row = (
                await session.execute(
                    select(m.User, m.Profile.tz)
                    .join(m.Profile, m.Profile.user_id == m.User.id)
                    .where(m.User.id == uid, m.User.is_active.is_(True))
                )
            ).first()
        if row is not None and request.session.get("auth") == _auth_stamp(row[0]):
            user = row[0]
            viewer = Viewer(id=user.id, email=user.email, tz=row[1], is_superuser=user.is_superuser)
    request.scope.setdefault("state", {})[_VIEWER_KEY] = viewer or False
    return viewer


async def require_viewer(request: Request[Any, Any, Any]) -> Viewer:
    viewer = await current_viewer(request)
    if viewer is None:
        raise SignInRequired()
    return viewer


_Found = TypeVar("_Found")


async def _viewer_and(
    request: Request[Any, Any, Any],
    lookup: Callable[[AsyncSession, int], Awaitable[_Found]],
    missing: str,
) -> tuple[Viewer, _Found]:
    """Sign-in first, then ``lookup(session, viewer id)``; NotFound becomes a 404."""
    viewer = await require_viewer(request)
    async with AppState.of(request).db.sessionmaker() as session:
        try:
            return viewer, await lookup(session, viewer.id)
        except NotFound:
            raise NotFoundException(missing) from None


async def project_access(
    request: Request[Any, Any, Any], code: uuid.UUID, right: Right = Right.VIEW
) -> ProjectAccess:
    """The project and the viewer's role in it; 404 for strangers, 403 without ``right``."""
    viewer, found = await _viewer_and(
        request, lambda session, uid: projects.project_role(session, uid, code), "no such project"
    )
    return _allowed(found, viewer, right)


async def project_access_by_check(
    request: Request[Any, Any, Any], check_code: uuid.UUID, right: Right = Right.VIEW
) -> ProjectAccess:
    """``project_access`` to the check's project, in one query from the check's code: sign-in
    first, then 404 for an unknown check or a stranger, then 403 without ``right``."""
    viewer, found = await _viewer_and(
        request,
        lambda session, uid: projects.project_role_by_check(session, uid, check_code),
        "no such check",
    )
    return _allowed(found, viewer, right)


async def project_access_by_channel(
    request: Request[Any, Any, Any], channel_code: uuid.UUID, right: Right = Right.VIEW
) -> tuple[ProjectAccess, m.Channel]:
    """``project_access`` to the channel's project, and the channel, in one query from the
    channel's code (404 for an unknown channel or a stranger, 403 without ``right``)."""
    viewer, (found, channel) = await _viewer_and(
        request,
        lambda session, uid: projects.project_role_by_channel(session, uid, channel_code),
        "no such integration",
    )
    return _allowed(found, viewer, right), channel


def _allowed(found: projects.ProjectRole, viewer: Viewer, right: Right) -> ProjectAccess:
    access = ProjectAccess(project=found.project, role=found.role, viewer=viewer)
    if not access.can(right):
        raise Forbidden(detail=FORBIDDEN[right])
    return access


FORBIDDEN = {
    Right.VIEW: "You do not have access to this project.",
    Right.WRITE: "Your role in this project is read-only.",
    Right.MANAGE_TEAM: "Only the project's owner and managers can manage its team.",
    Right.OWN: "Only the project's owner can do this.",
}


def flash(request: Request[Any, Any, Any], message: str, level: str = "success") -> None:
    """A one-time message shown at the top of the next page (success | error | info)."""
    request.session[_FLASH] = [*request.session.get(_FLASH, []), [level, message]]


async def render(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Template:
    """Render a page (or, for htmx, the same template's fragment) with the shared context."""
    await current_viewer(request)
    return render_loaded(request, template, context, status_code=status_code)


def render_loaded(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Template:
    """``render`` without loading the viewer (error pages: shows them only if already known)."""
    state = AppState.of(request)
    viewer = request.scope.get("state", {}).get(_VIEWER_KEY) or None
    flashes: list[tuple[str, str]] = []
    if "session" in request.scope and request.session.get(_FLASH):
        flashes = [(level, text) for level, text in request.session.pop(_FLASH)]
    base = {
        "viewer": viewer,
        "site_name": state.settings.site_name,
        "registration_open": state.settings.registration_open,
        "flashes": flashes,
        "now": state.clock(),
        "tz": viewer.tz if viewer else "UTC",
    }
    return Template(template, context={**base, **(context or {})}, status_code=status_code)


def redirect(request: Request[Any, Any, Any], route: str, **params: Any) -> Redirect:
    """303 to a named route: the answer to a successful form POST."""
    return Redirect(path=request.app.route_reverse(route, **params), status_code=303)


def absolute_url(request: Request[Any, Any, Any], route: str, **params: Any) -> str:
    """A URL for an email: SITE_ROOT's origin (route paths already hold its path)."""
    site = urlsplit(AppState.of(request).settings.site_root)
    return f"{site.scheme}://{site.netloc}{request.app.route_reverse(route, **params)}"


def safe_next(request: Request[Any, Any, Any], target: str | None, default: str) -> str:
    """A ``?next=`` target only if it stays on this site (no open redirects)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return default


def sign_in_redirect(request: Request[Any, Any, Any]) -> Response[Any]:
    login = request.app.route_reverse("login")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(path=f"{login}?next={quote(target)}", status_code=303)
