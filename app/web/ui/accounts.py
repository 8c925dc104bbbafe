"""Signing in and out."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy import func, select

from app.db import models as m
from app.domain import keys
from app.domain.accounts import normalize_email
from app.web.state import AppState
from app.web.ui.base import current_viewer, render, safe_next, sign_in, sign_out

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
BAD_CREDENTIALS = "Incorrect email or password."


@get("/accounts/login/", name="login")
async def login_form(
    request: Request[Any, Any, Any], next: str | None = None
) -> Template | Redirect:
    if await current_viewer(request) is not None:
        return Redirect(path=safe_next(request, next, request.app.route_reverse("projects")))
    return await render(request, "pages/accounts/login.html", {"next": next or "", "email": ""})


@post("/accounts/login/", name="login-submit", status_code=303)
async def login_submit(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
    state = AppState.of(request)
    email = normalize_email(data.get("email", ""))
    password = data.get("password", "")
    target = safe_next(request, data.get("next"), request.app.route_reverse("projects"))
    user = None
    if email and password:
        async with state.db.sessionmaker() as session:
            user = await session.scalar(
                select(m.User).where(
                    func.lower(m.User.email) == email.lower(), m.User.is_active.is_(True)
                )
            )
    if (
        user is None
        or not user.password_hash
        or not keys.verify_password(password, user.password_hash)
    ):
        return await render(
            request,
            "pages/accounts/login.html",
            {"next": data.get("next", ""), "email": email, "error": BAD_CREDENTIALS},
            status_code=400,
        )
    await sign_in(request, user, state.clock())
    return Redirect(path=target, status_code=303)


@post("/accounts/logout/", name="logout", status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    sign_out(request)
    return Redirect(path=request.app.route_reverse("login"), status_code=303)


route_handlers = [login_form, login_submit, logout]
