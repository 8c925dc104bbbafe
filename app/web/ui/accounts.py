"""Accounts: sign up, sign in (password or emailed link), sign out, password reset.

Every form is a plain POST answered by a 303 (success) or a re-rendered form with status
400/429 (error next to its field). Emailed links carry signed, one-hour, single-use tokens
(``app.domain.accounts``); their GET only shows a button, because mail scanners fetch links
and a GET that signed in would spend the link before its owner clicks it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.exc import IntegrityError

from app import mail
from app.db.engine import write_session
from app.domain import accounts, keys, ratelimit
from app.domain.accounts import normalize_email
from app.domain.errors import Conflict, ValidationError
from app.domain.ratelimit import LOGIN_PER_EMAIL, LOGIN_PER_IP
from app.web.ping import remote_addr
from app.web.state import AppState
from app.web.ui.base import (
    Forbidden,
    absolute_url,
    current_viewer,
    flash,
    redirect,
    render,
    safe_next,
    sign_in,
    sign_out,
)
from app.web.ui.checks import checks_url
from app.web.ui.sessions import rotate_session

log = logging.getLogger("cronbeat.accounts")

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
BAD_CREDENTIALS = "Incorrect email or password."
TOO_MANY_ATTEMPTS = "Too many sign-in attempts. Please try again later."
TOO_MANY_REQUESTS = "Too many requests. Please try again later."
EMAIL_TAKEN = "An account with this email already exists."
INVALID_EMAIL = "Enter a valid email address."
LINK_SENT = "If an account exists for that address, we sent a link to it. It works for one hour."
REGISTRATION_CLOSED = "Registration is closed on this server. Ask its administrator for an account."


# --- helpers ------------------------------------------------------------------------------------


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The address rate limits count by: X-Forwarded-For's first hop, as pings record it."""
    return remote_addr(request) or "unknown"


def _projects_url(request: Request[Any, Any, Any]) -> str:
    return request.app.route_reverse("projects")


async def _send_link(
    request: Request[Any, Any, Any], to: str, subject: str, template: str, link: str
) -> None:
    """Email a link. A failure is logged, not shown: the answer must not say whether the
    address has an account."""
    settings = AppState.of(request).settings
    context = {"link": link, "site_name": settings.site_name, "email": to}
    text, html = mail.render(template, context)
    message = mail.build_message(settings, to, subject, text, html)
    try:
        await mail.send(settings, message)
    except mail.MailError as error:
        log.error("could not send %s email: %s", template, error.message)


def _sentence(message: str) -> str:
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."


# --- password sign-in ---------------------------------------------------------------------------


@get("/accounts/login/", name="login")
async def login_form(
    request: Request[Any, Any, Any], next: str | None = None
) -> Template | Redirect:
    if await current_viewer(request) is not None:
        return Redirect(path=safe_next(request, next, _projects_url(request)))
    return await render(request, "pages/accounts/login.html", {"next": next or "", "email": ""})


async def _login_error(
    request: Request[Any, Any, Any], data: dict[str, str], error: str, status_code: int
) -> Template:
    context = {
        "next": data.get("next", ""),
        "email": normalize_email(data.get("email", "")),
        "error": error,
    }
    return await render(request, "pages/accounts/login.html", context, status_code=status_code)


@post("/accounts/login/", name="login-submit", status_code=303)
async def login_submit(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
    state = AppState.of(request)
    email = normalize_email(data.get("email", ""))
    password = data.get("password", "")
    target = safe_next(request, data.get("next"), _projects_url(request))
    uses = [(LOGIN_PER_IP, client_ip(request))]
    if email:
        uses.append((LOGIN_PER_EMAIL, email.lower()))
    if not await ratelimit.allow(state.db, state.clock(), *uses):
        return await _login_error(request, data, TOO_MANY_ATTEMPTS, 429)
    user = None
    if email and password:
        async with state.db.sessionmaker() as session:
            user = await accounts.find_active_user(session, email)
    if user is None or not await keys.verify_password_off_loop(password, user.password_hash):
        return await _login_error(request, data, BAD_CREDENTIALS, 400)
    await sign_in(request, user, state.clock())
    return Redirect(path=target, status_code=303)


@post("/accounts/logout/", name="logout", status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    sign_out(request)
    # The old session row is deleted; the goodbye message lives in a fresh, anonymous one.
    rotate_session(request)
    request.set_session({})
    flash(request, "You are signed out.", "info")
    return redirect(request, "login")


# --- sign up ------------------------------------------------------------------------------------


def _require_registration(request: Request[Any, Any, Any]) -> None:
    if not AppState.of(request).settings.registration_open:
        raise Forbidden(detail=REGISTRATION_CLOSED)


@get("/accounts/signup/", name="signup")
async def signup_form(request: Request[Any, Any, Any]) -> Template | Redirect:
    _require_registration(request)
    if await current_viewer(request) is not None:
        return Redirect(path=_projects_url(request))
    return await render(request, "pages/accounts/signup.html", {"email": "", "errors": {}})


@post("/accounts/signup/", name="signup-submit", status_code=303)
async def signup_submit(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
    _require_registration(request)
    state = AppState.of(request)
    email = normalize_email(data.get("email", ""))

    async def fail(field: str, message: str, status_code: int = 400) -> Template:
        context = {"email": email, "errors": {field: message}}
        return await render(request, "pages/accounts/signup.html", context, status_code=status_code)

    if not await ratelimit.allow(state.db, state.clock(), (LOGIN_PER_IP, client_ip(request))):
        return await fail("form", TOO_MANY_REQUESTS, 429)
    try:
        async with write_session(state.db) as session:
            user, project = await accounts.sign_up(
                session,
                email,
                data.get("password", ""),
                state.clock(),
                secret_key=state.settings.secret_key,
            )
    except ValidationError as error:
        message = INVALID_EMAIL if error.field == "email" else _sentence(error.message)
        return await fail(error.field, message)
    except (Conflict, IntegrityError):  # IntegrityError: a concurrent sign-up won the race
        return await fail("email", EMAIL_TAKEN)
    await sign_in(request, user, state.clock())
    flash(request, f"Welcome to {state.settings.site_name}! Your first check is ready.")
    return Redirect(path=checks_url(request, project.code), status_code=303)


# --- sign-in by emailed link ----------------------------------------------------------------------


async def _request_link_form(
    request: Request[Any, Any, Any],
    template: str,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    context = {"email": email, "error": error}
    return await render(request, template, context, status_code=status_code)


async def _link_requested(
    request: Request[Any, Any, Any], data: dict[str, str], template: str
) -> tuple[Template | None, str]:
    """Validate and rate-limit a "send me a link" form; returns (error page, email)."""
    state = AppState.of(request)
    email = normalize_email(data.get("email", ""))
    try:
        email = accounts.validate_email(email)
    except ValidationError:
        return await _request_link_form(request, template, email, INVALID_EMAIL, 400), email
    uses = ((LOGIN_PER_IP, client_ip(request)), (LOGIN_PER_EMAIL, email.lower()))
    if not await ratelimit.allow(state.db, state.clock(), *uses):
        page = await _request_link_form(request, template, email, TOO_MANY_REQUESTS, 429)
        return page, email
    return None, email


async def _link_error(
    request: Request[Any, Any, Any], error: accounts.LinkError, again: str
) -> Template:
    context = {"message": error.message, "again": again}
    return await render(request, "pages/accounts/link_error.html", context, status_code=400)


@dataclass(frozen=True)
class LinkKind:
    """An emailed link: the page that asks for it, the page it opens, its email, its token."""

    form_route: str
    confirm_route: str
    template: str
    subject: str  # with {site_name}
    make_token: Callable[..., str]


LOGIN_LINK = LinkKind(
    "login-link", "login-link-confirm", "login_link", "Sign in to {site_name}", accounts.login_token
)
RESET_LINK = LinkKind(
    "password-reset",
    "password-reset-confirm",
    "password_reset",
    "Set a new password for {site_name}",
    accounts.reset_token,
)


async def _email_link(
    request: Request[Any, Any, Any], data: dict[str, str], kind: LinkKind
) -> Template | Redirect:
    """Email the link when the address has an account; answer the same either way."""
    state = AppState.of(request)
    page, email = await _link_requested(request, data, f"pages/accounts/{kind.template}.html")
    if page is not None:
        return page
    async with state.db.sessionmaker() as session:
        user = await accounts.find_active_user(session, email)
    if user is not None:
        token = kind.make_token(user, state.clock(), secret_key=state.settings.secret_key)
        link = absolute_url(request, kind.confirm_route, token=token)
        subject = kind.subject.format(site_name=state.settings.site_name)
        await _send_link(request, user.email, subject, kind.template, link)
    flash(request, LINK_SENT, "info")
    return redirect(request, kind.form_route)


@get("/accounts/login/link/", name="login-link")
async def login_link_form(request: Request[Any, Any, Any]) -> Template:
    return await _request_link_form(request, "pages/accounts/login_link.html")


@post("/accounts/login/link/", name="login-link-submit", status_code=303)
async def login_link_submit(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
    return await _email_link(request, data, LOGIN_LINK)


@get("/accounts/login/link/{token:str}/", name="login-link-confirm")
async def login_link_confirm(request: Request[Any, Any, Any], token: str) -> Template:
    state = AppState.of(request)
    async with state.db.sessionmaker() as session:
        try:
            user = await accounts.user_from_login_token(
                session, token, state.clock(), secret_key=state.settings.secret_key
            )
        except accounts.LinkError as error:
            return await _link_error(request, error, "login-link")
    context = {"email": user.email, "token": token}
    return await render(request, "pages/accounts/login_link_confirm.html", context)


@post("/accounts/login/link/{token:str}/", name="login-link-use", status_code=303)
async def login_link_use(request: Request[Any, Any, Any], token: str) -> Template | Redirect:
    state = AppState.of(request)
    try:
        async with write_session(state.db) as session:
            user = await accounts.use_login_token(
                session, token, state.clock(), secret_key=state.settings.secret_key
            )
    except accounts.LinkError as error:
        return await _link_error(request, error, "login-link")
    await sign_in(request, user, state.clock(), login_stamped=True)  # use_login_token did
    return Redirect(path=_projects_url(request), status_code=303)


# --- password reset -------------------------------------------------------------------------------


@get("/accounts/password-reset/", name="password-reset")
async def password_reset_form(request: Request[Any, Any, Any]) -> Template:
    return await _request_link_form(request, "pages/accounts/password_reset.html")


@post("/accounts/password-reset/", name="password-reset-submit", status_code=303)
async def password_reset_submit(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
    return await _email_link(request, data, RESET_LINK)


async def _new_password_form(
    request: Request[Any, Any, Any],
    token: str,
    email: str,
    errors: dict[str, str] | None = None,
) -> Template:
    context = {"token": token, "email": email, "errors": errors or {}}
    return await render(
        request,
        "pages/accounts/password_reset_confirm.html",
        context,
        status_code=400 if errors else 200,
    )


@get("/accounts/password-reset/{token:str}/", name="password-reset-confirm")
async def password_reset_confirm(request: Request[Any, Any, Any], token: str) -> Template:
    state = AppState.of(request)
    async with state.db.sessionmaker() as session:
        try:
            user = await accounts.user_from_reset_token(
                session, token, state.clock(), secret_key=state.settings.secret_key
            )
        except accounts.LinkError as error:
            return await _link_error(request, error, "password-reset")
    return await _new_password_form(request, token, user.email)


@post("/accounts/password-reset/{token:str}/", name="password-reset-set", status_code=303)
async def password_reset_set(
    request: Request[Any, Any, Any], token: str, data: Form
) -> Template | Redirect:
    state = AppState.of(request)
    new, confirm = data.get("new_password", ""), data.get("confirm_password", "")
    try:
        async with write_session(state.db) as session:
            user = await accounts.use_reset_token(
                session, token, state.clock(), secret_key=state.settings.secret_key
            )
            email = user.email
            if new != confirm:
                raise ValidationError("confirm_password", "The two passwords do not match.")
            user = await accounts.reset_password(session, user.id, new)
    except accounts.LinkError as error:
        return await _link_error(request, error, "password-reset")
    except ValidationError as error:
        return await _new_password_form(request, token, email, {error.field: error.message})
    await sign_in(request, user, state.clock())
    flash(request, "Your new password is set, and you are signed in.")
    return Redirect(path=_projects_url(request), status_code=303)


route_handlers = [
    login_form,
    login_submit,
    logout,
    signup_form,
    signup_submit,
    login_link_form,
    login_link_submit,
    login_link_confirm,
    login_link_use,
    password_reset_form,
    password_reset_submit,
    password_reset_confirm,
    password_reset_set,
]
