"""The profile: time zone, report and reminder emails, nag periods, email and password.

Each section is its own form; an error re-renders the whole page with status 400 and the
message next to its field, keeping what the user typed in that section.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from app import live
from app.db import models as m
from app.db.engine import write_session
from app.domain import accounts, ratelimit, schedules
from app.domain.errors import ValidationError
from app.domain.permissions import Right, has_right
from app.domain.ratelimit import PASSWORD_PER_EMAIL
from app.web.state import AppState
from app.web.ui.base import (
    Viewer,
    flash,
    project_access,
    redirect,
    refresh_sign_in,
    render,
    require_viewer,
)

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
TOO_MANY_TRIES = "Too many password attempts. Please try again tomorrow."
REPORT_LABELS = {choice: choice.capitalize() for choice in accounts.REPORT_CHOICES}


async def _page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    state = AppState.of(request)
    async with state.db.sessionmaker() as session:
        user = await session.get_one(m.User, viewer.id)
        profile = await accounts.profile_of(session, viewer.id)
        projects = [
            (project, role)
            for project, role in await accounts.projects_with_roles(session, viewer.id)
            if has_right(role, Right.WRITE)
        ]
    context = {
        "nav": "profile",
        "user": user,
        "profile": profile,
        "has_password": bool(user.password_hash),
        "projects": projects,
        "time_zones": schedules.selectable_timezones(),
        "report_choices": REPORT_LABELS,
        "reminder_choices": accounts.REMINDER_PERIODS,
        "nag_choices": accounts.NAG_PERIODS,
        "errors": errors or {},
        "values": values or {},
    }
    return await render(request, "pages/profile/profile.html", context, status_code=status_code)


async def _invalid(
    request: Request[Any, Any, Any], viewer: Viewer, error: ValidationError, values: dict[str, str]
) -> Template:
    return await _page(
        request, viewer, errors={error.field: error.message}, values=values, status_code=400
    )


@get("/accounts/profile/", name="profile")
async def profile_page(request: Request[Any, Any, Any]) -> Template:
    return await _page(request, await require_viewer(request))


@post("/accounts/profile/preferences/", name="profile-preferences", status_code=303)
async def save_preferences(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
    viewer = await require_viewer(request)
    state = AppState.of(request)
    try:
        async with write_session(state.db) as session:
            await accounts.update_preferences(
                session,
                viewer.id,
                tz=data.get("tz", ""),
                reports=data.get("reports", ""),
                reminder_period=data.get("reminder_period", ""),
                now=state.clock(),
            )
    except ValidationError as error:
        return await _invalid(request, viewer, error, data)
    flash(request, "Your preferences are saved.")
    return redirect(request, "profile")


@post("/accounts/profile/projects/{code:uuid}/nag/", name="profile-nag", status_code=303)
async def save_nag_period(
    request: Request[Any, Any, Any], code: uuid.UUID, data: Form
) -> Template | Redirect:
    access = await project_access(request, code, Right.WRITE)
    state = AppState.of(request)
    try:
        async with write_session(state.db) as session:
            moved = await accounts.set_nag_period(
                session, access.project.id, data.get("nag_period", ""), state.clock()
            )
    except ValidationError as error:
        field = f"nag-{code}"
        return await _invalid(
            request, access.viewer, ValidationError(field, error.message), {field: ""}
        )
    if moved:
        live.hub.publish(moved)
    flash(request, f"Repeat alerts saved for {access.project.name}.")
    return redirect(request, "profile")


async def _password_attempt_allowed(request: Request[Any, Any, Any], viewer: Viewer) -> bool:
    state = AppState.of(request)
    return await ratelimit.allow(state.db, state.clock(), (PASSWORD_PER_EMAIL, viewer.email))


@post("/accounts/profile/email/", name="profile-email", status_code=303)
async def change_email(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
    viewer = await require_viewer(request)
    state = AppState.of(request)
    values = {"new_email": data.get("new_email", "")}
    if not await _password_attempt_allowed(request, viewer):
        error = ValidationError("email_password", TOO_MANY_TRIES)
        return await _page(
            request, viewer, errors={error.field: error.message}, values=values, status_code=429
        )
    try:
        async with write_session(state.db) as session:
            user = await accounts.change_email(
                session, viewer.id, values["new_email"], data.get("email_password", "")
            )
    except ValidationError as error:
        return await _invalid(request, viewer, error, values)
    refresh_sign_in(request, user)  # this session stays; the others are signed out
    flash(request, f"Your email address is now {user.email}.")
    return redirect(request, "profile")


@post("/accounts/profile/password/", name="profile-password", status_code=303)
async def change_password(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
    viewer = await require_viewer(request)
    state = AppState.of(request)
    if not await _password_attempt_allowed(request, viewer):
        return await _page(
            request,
            viewer,
            errors={"current_password": TOO_MANY_TRIES},
            status_code=429,
        )
    new = data.get("new_password", "")
    try:
        if new != data.get("confirm_password", ""):
            raise ValidationError("confirm_password", "The two passwords do not match.")
        async with write_session(state.db) as session:
            user = await accounts.change_password(
                session, viewer.id, data.get("current_password", ""), new
            )
    except ValidationError as error:
        return await _invalid(request, viewer, error, {})
    refresh_sign_in(request, user)  # this session stays; the others are signed out
    flash(request, "Your password is changed. Other sessions are signed out.")
    return redirect(request, "profile")


route_handlers = [profile_page, save_preferences, save_nag_period, change_email, change_password]
