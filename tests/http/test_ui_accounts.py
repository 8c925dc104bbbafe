"""Accounts pages: sign up, password and emailed-link sign-in, sign out, password reset,
session cookies, CSRF and the sign-in rate limits.

Outgoing mail goes to a real aiosmtpd server on 127.0.0.1; time moves with the FakeClock.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from app.config import Settings
from app.db import models as m
from app.db.engine import Database
from app.domain import keys
from app.main import create_app
from app.web.ui.sessions import SESSION_COOKIE
from tests.conftest import FakeClock
from tests.factories import Factory
from tests.smtp import Inbox, smtp_server
from tests.ui import PASSWORD, csrf_token, post_form, sign_in

TOO_MANY = "Too many sign-in attempts. Please try again later."
LINK_SENT = "If an account exists for that address, we sent a link to it."


@pytest.fixture
async def inbox() -> AsyncIterator[Inbox]:
    async with smtp_server(Inbox()) as handler:
        yield handler


@pytest.fixture
def settings(settings: Settings, inbox: Inbox) -> Settings:
    return replace(settings, email_host="127.0.0.1", email_port=inbox.port, email_use_tls=False)


def app_client(settings: Settings, db: Database, clock: FakeClock) -> httpx.AsyncClient:
    """Another browser on the same server (or the same database under other settings)."""
    app = create_app(settings, db=db, clock=clock, debug=True)
    transport = httpx.ASGITransport(app=app, client=("10.9.9.9", 4567))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


async def signed_in_email(client: httpx.AsyncClient) -> str | None:
    """Who the profile page says is signed in (None: redirected to sign in)."""
    response = await client.get("/accounts/profile/")
    if response.status_code == 303:
        return None
    assert response.status_code == 200, response.text
    found = re.search(r"Signed in as <strong>([^<]+)</strong>", response.text)
    assert found is not None
    return found.group(1)


def set_cookie(response: httpx.Response, name: str) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


# --- password sign-in ---------------------------------------------------------------------------


async def test_the_sign_in_page_offers_every_way_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/accounts/login/")
    assert response.status_code == 200
    assert '<input type="hidden" name="_csrf_token"' in response.text
    assert 'for="f-email"' in response.text and 'for="f-password"' in response.text
    assert 'href="/accounts/login/link"' in response.text
    assert 'href="/accounts/password-reset"' in response.text
    assert 'href="/accounts/signup"' in response.text


async def test_it_signs_in_with_a_password(client: httpx.AsyncClient, factory: Factory) -> None:
    await factory.user("alice@example.org", PASSWORD)
    response = await post_form(
        client, "/accounts/login/", {"email": "alice@example.org", "password": PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/projects"
    assert await signed_in_email(client) == "alice@example.org"


async def test_it_refuses_a_wrong_password(client: httpx.AsyncClient, factory: Factory) -> None:
    await factory.user("alice@example.org", PASSWORD)
    response = await post_form(
        client, "/accounts/login/", {"email": "alice@example.org", "password": "wrong one"}
    )
    assert response.status_code == 400
    assert "Incorrect email or password." in response.text
    assert 'value="alice@example.org"' in response.text
    assert await signed_in_email(client) is None


async def test_it_refuses_an_unknown_email(client: httpx.AsyncClient) -> None:
    response = await post_form(
        client, "/accounts/login/", {"email": "nobody@example.org", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "Incorrect email or password." in response.text


async def test_a_signed_in_visitor_skips_the_sign_in_page(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    await sign_in(client, "alice@example.org")
    response = await client.get("/accounts/login?next=/accounts/profile/")
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/accounts/profile/"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/accounts/profile/", "/accounts/profile/"),
        ("/projects/?q=a", "/projects/?q=a"),
        ("https://evil.example/", "/projects"),
        ("//evil.example/", "/projects"),
        ("/\\evil.example/", "/projects"),
        ("javascript:alert(1)", "/projects"),
    ],
)
async def test_next_stays_on_this_site(
    client: httpx.AsyncClient, factory: Factory, target: str, expected: str
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    response = await post_form(
        client,
        "/accounts/login/",
        {"email": "alice@example.org", "password": PASSWORD, "next": target},
    )
    assert response.status_code == 303
    assert response.headers["location"] == expected


async def test_a_page_that_needs_sign_in_comes_back_after_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    response = await client.get("/accounts/profile/")
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts/login?next=/accounts/profile"
    page = await client.get(response.headers["location"])
    assert 'name="next" value="/accounts/profile"' in page.text
    response = await post_form(
        client,
        "/accounts/login/",
        {"email": "alice@example.org", "password": PASSWORD, "next": "/accounts/profile/"},
    )
    assert response.headers["location"] == "/accounts/profile/"


# --- rate limits --------------------------------------------------------------------------------


async def wrong_password(client: httpx.AsyncClient, address: str, ip: str) -> httpx.Response:
    data = {"email": address, "password": "wrong one"}
    return await post_form(client, "/accounts/login/", data, headers={"x-forwarded-for": ip})


async def test_twenty_sign_in_attempts_an_hour_are_allowed(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    for n in range(20):
        response = await wrong_password(client, "alice@example.org", "192.0.2.1")
        assert response.status_code == 400, n


async def test_sign_in_is_rate_limited_per_email(
    client: httpx.AsyncClient, factory: Factory, clock: FakeClock
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    for n in range(20):
        # A different address each time: only the per-email bucket empties.
        await wrong_password(client, "alice@example.org", f"192.0.2.{n}")
    data = {"email": "alice@example.org", "password": PASSWORD}
    response = await post_form(client, "/accounts/login/", data)
    assert response.status_code == 429
    assert f'<p class="error" id="login-error" role="alert">{TOO_MANY}</p>' in response.text
    assert await signed_in_email(client) is None
    # Another account from the same address is not affected.
    await factory.user("bob@example.org", PASSWORD)
    await sign_in(client, "bob@example.org")
    clock.advance(hours=1)
    response = await post_form(client, "/accounts/login/", data)
    assert response.status_code == 303


async def test_sign_in_is_rate_limited_per_ip(client: httpx.AsyncClient, factory: Factory) -> None:
    await factory.user("alice@example.org", PASSWORD)
    for n in range(20):
        await wrong_password(client, f"guess{n}@example.org", "198.51.100.7, 10.0.0.1")
    data = {"email": "alice@example.org", "password": PASSWORD}
    headers = {"x-forwarded-for": "198.51.100.7, 10.0.0.1"}
    response = await post_form(client, "/accounts/login/", data, headers=headers)
    assert response.status_code == 429
    assert TOO_MANY in response.text
    # Only the first hop counts: the same client behind another proxy is still refused,
    # another client is not.
    headers = {"x-forwarded-for": "198.51.100.7, 10.0.0.2"}
    response = await post_form(client, "/accounts/login/", data, headers=headers)
    assert response.status_code == 429
    headers = {"x-forwarded-for": "198.51.100.8"}
    response = await post_form(client, "/accounts/login/", data, headers=headers)
    assert response.status_code == 303


# --- sessions, cookies, CSRF ----------------------------------------------------------------------


async def test_a_post_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    await client.get("/accounts/login/")  # the CSRF cookie alone is not enough
    response = await client.post(
        "/accounts/login/", data={"email": "alice@example.org", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert await signed_in_email(client) is None


async def test_an_htmx_post_may_send_the_token_in_a_header(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    await client.get("/accounts/login/")
    token = client.cookies["cronbeat_csrf"]
    response = await client.post(
        "/accounts/login/",
        data={"email": "alice@example.org", "password": PASSWORD},
        headers={"x-csrftoken": token, "hx-request": "true"},
    )
    assert response.status_code == 303


async def test_the_session_cookie_is_httponly_and_samesite_lax(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    response = await post_form(
        client, "/accounts/login/", {"email": "alice@example.org", "password": PASSWORD}
    )
    cookie = set_cookie(response, SESSION_COOKIE).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie.replace("httponly", "")  # plain http: Secure would lose it


async def test_the_session_cookie_is_secure_on_https(
    settings: Settings, db: Database, clock: FakeClock, factory: Factory
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    https = replace(settings, site_root="https://testserver.local")
    async with app_client(https, db, clock) as client:
        client.base_url = httpx.URL("https://testserver.local")
        page = await client.get("/accounts/login/")
        assert "; secure" in set_cookie(page, "cronbeat_csrf").lower()
        response = await post_form(
            client, "/accounts/login/", {"email": "alice@example.org", "password": PASSWORD}
        )
        assert response.status_code == 303
        cookie = set_cookie(response, SESSION_COOKIE).lower()
        assert "; secure" in cookie
        assert "httponly" in cookie and "samesite=lax" in cookie


async def test_signing_in_gives_a_new_session_id(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    # An anonymous session (the flash of a link request) that an attacker could have planted.
    await post_form(client, "/accounts/login/link/", {"email": "someone@example.org"})
    before = client.cookies[SESSION_COOKIE]
    assert before and before != "null"
    await sign_in(client, "alice@example.org")
    after = client.cookies[SESSION_COOKIE]
    assert after != before
    async with db.sessionmaker() as session:
        assert await session.get(m.WebSession, before) is None
        keys_left = (await session.scalars(select(m.WebSession.key))).all()
    assert before not in keys_left and after in keys_left


async def test_signing_out_deletes_the_server_side_session(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    await sign_in(client, "alice@example.org")
    old = client.cookies[SESSION_COOKIE]
    response = await post_form(client, "/accounts/logout/")
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts/login"
    async with db.sessionmaker() as session:
        keys_left = (await session.scalars(select(m.WebSession.key))).all()
    assert old not in keys_left
    page = await client.get("/accounts/login/")
    assert "You are signed out." in page.text
    assert await signed_in_email(client) is None
    # Replaying the old cookie (stolen before sign-out) no longer signs anyone in.
    client.cookies.set(SESSION_COOKIE, old)
    assert await signed_in_email(client) is None


async def test_the_sign_out_button_carries_the_csrf_token(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    await sign_in(client, "alice@example.org")
    page = await client.get("/accounts/profile/")
    form = re.search(r'<form method="post" action="/accounts/logout".*?</form>', page.text, re.S)
    assert form is not None
    token = re.search(r'<input type="hidden" name="_csrf_token" value="([^"]+)"', form.group(0))
    assert token is not None
    response = await client.post("/accounts/logout/", data={"_csrf_token": token.group(1)})
    assert response.status_code == 303


async def test_sign_out_needs_a_post_with_the_csrf_token(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    await sign_in(client, "alice@example.org")
    assert (await client.get("/accounts/logout/")).status_code == 405
    assert (await client.post("/accounts/logout/")).status_code == 403
    assert await signed_in_email(client) == "alice@example.org"


# --- sign up ------------------------------------------------------------------------------------


async def test_signing_up_creates_an_account_with_a_first_project_and_check(
    client: httpx.AsyncClient, db: Database
) -> None:
    page = await client.get("/accounts/signup/")
    assert page.status_code == 200
    assert 'for="f-email"' in page.text and 'for="f-password"' in page.text
    response = await post_form(
        client, "/accounts/signup/", {"email": "new.user@Example.ORG", "password": PASSWORD}
    )
    assert response.status_code == 303
    async with db.sessionmaker() as session:
        user = await session.scalar(select(m.User).where(m.User.email == "new.user@example.org"))
        assert user is not None
        assert keys.verify_password(PASSWORD, user.password_hash)
        assert await session.scalar(select(m.Profile).where(m.Profile.user_id == user.id))
        [project] = (await session.scalars(select(m.Project))).all()
        [check] = (await session.scalars(select(m.Check))).all()
        [channel] = (await session.scalars(select(m.Channel))).all()
        assigned = (await session.execute(select(m.check_channels))).all()
    assert project.owner_id == user.id and project.name == "new.user's project"
    assert response.headers["location"] == f"/projects/{project.code}/checks/"
    assert check.name == "My First Check" and check.project_id == project.id
    assert channel.kind == "email" and channel.value["value"] == "new.user@example.org"
    assert [(row.check_id, row.channel_id) for row in assigned] == [(check.id, channel.id)]
    assert await signed_in_email(client) == "new.user@example.org"


async def test_signing_up_with_a_taken_email_says_so(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    response = await post_form(
        client, "/accounts/signup/", {"email": "Alice@example.org", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "An account with this email already exists." in response.text
    assert 'aria-describedby="f-email-error' in response.text
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(m.Project)) == 0


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email", "Enter a valid email address."),
        ({"email": "", "password": PASSWORD}, "email", "Enter a valid email address."),
        (
            {"email": "bob@example.org", "password": "short"},
            "password",
            "The password must be at least 8 characters long.",
        ),
        (
            {"email": "bob@example.org"},
            "password",
            "The password must be at least 8 characters long.",
        ),
    ],
)
async def test_signing_up_with_bad_input_shows_the_error_by_its_field(
    client: httpx.AsyncClient, db: Database, data: dict[str, str], field: str, message: str
) -> None:
    response = await post_form(client, "/accounts/signup/", data)
    assert response.status_code == 400
    assert f'<p class="error" id="f-{field}-error">{message}</p>' in response.text
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(m.User)) == 0


async def test_sign_up_is_closed_when_registration_is_off(
    settings: Settings, db: Database, clock: FakeClock
) -> None:
    closed = replace(settings, registration_open=False)
    async with app_client(closed, db, clock) as client:
        page = await client.get("/accounts/signup/")
        assert page.status_code == 403
        assert "Registration is closed" in page.text
        response = await post_form(
            client, "/accounts/signup/", {"email": "bob@example.org", "password": PASSWORD}
        )
        assert response.status_code == 403
        login = await client.get("/accounts/login/")
        assert "/accounts/signup/" not in login.text
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(m.User)) == 0


async def test_an_address_the_email_integration_refuses_gets_a_check_without_channel(
    client: httpx.AsyncClient, db: Database
) -> None:
    response = await post_form(
        client, "/accounts/signup/", {"email": "admin@localhost", "password": PASSWORD}
    )
    assert response.status_code == 303
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(m.Check)) == 1
        assert await session.scalar(select(func.count()).select_from(m.Channel)) == 0


# --- sign-in by emailed link --------------------------------------------------------------------


async def request_link(client: httpx.AsyncClient, address: str) -> httpx.Response:
    return await post_form(client, "/accounts/login/link/", {"email": address})


async def test_an_emailed_link_signs_in_once(
    client: httpx.AsyncClient, factory: Factory, inbox: Inbox, clock: FakeClock
) -> None:
    await factory.user("alice@example.org")  # no password: links are the way in
    response = await request_link(client, "alice@example.org")
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts/login/link"
    assert LINK_SENT in (await client.get("/accounts/login/link/")).text
    [message] = inbox.messages
    assert message["To"] == "alice@example.org"
    assert message["Subject"] == "Sign in to Cronbeat"
    path = inbox.link("/accounts/login/link/")
    html = message.get_body(("html",))
    assert html is not None and path in html.get_content()

    # The GET (what a mail scanner fetches) only shows a button.
    page = await client.get(path)
    assert page.status_code == 200
    assert "alice@example.org" in page.text and f'action="{path}"' in page.text
    assert await signed_in_email(client) is None

    clock.advance(minutes=5)
    response = await post_form(client, path)
    assert response.status_code == 303
    assert response.headers["location"] == "/projects"
    assert await signed_in_email(client) == "alice@example.org"

    async with app_client(factory.settings, factory.db, clock) as other:
        again = await other.get(path)
        assert again.status_code == 400
        assert "This sign-in link has already been used." in again.text
        assert 'href="/accounts/login/link"' in again.text
        response = await post_form(other, path)
        assert response.status_code == 400
        assert await signed_in_email(other) is None


async def test_an_emailed_link_stamps_last_login_once(
    client: httpx.AsyncClient, factory: Factory, inbox: Inbox, clock: FakeClock
) -> None:
    """Spending the link stamps last_login in the transaction that locks the user (what makes
    it single use); starting the session does not write it a second time."""
    user = await factory.user("alice@example.org")
    await request_link(client, "alice@example.org")
    path = inbox.link("/accounts/login/link/")
    await csrf_token(client)
    clock.advance(minutes=5)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(factory.db.engine.sync_engine, "before_cursor_execute", record)
    try:
        response = await post_form(client, path)
    finally:
        event.remove(factory.db.engine.sync_engine, "before_cursor_execute", record)
    assert response.status_code == 303
    user_writes = [s for s in statements if s.lstrip().upper().startswith("UPDATE USERS")]
    assert len(user_writes) == 1, user_writes
    async with factory.db.sessionmaker() as session:
        assert (
            await session.scalar(select(m.User.last_login).where(m.User.id == user.id)) == clock()
        )
    assert await signed_in_email(client) == "alice@example.org"


async def test_an_emailed_link_expires_after_an_hour(
    client: httpx.AsyncClient, factory: Factory, inbox: Inbox, clock: FakeClock
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    await request_link(client, "alice@example.org")
    path = inbox.link("/accounts/login/link/")
    clock.advance(minutes=59)
    assert (await client.get(path)).status_code == 200
    clock.advance(minutes=2)
    page = await client.get(path)
    assert page.status_code == 400
    assert "This sign-in link has expired." in page.text
    response = await post_form(client, path)
    assert response.status_code == 400
    assert await signed_in_email(client) is None


async def test_a_tampered_link_is_refused(
    client: httpx.AsyncClient, factory: Factory, inbox: Inbox
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    await request_link(client, "alice@example.org")
    path = inbox.link("/accounts/login/link/")
    token = path.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    page = await client.get(f"/accounts/login/link/{forged}/")
    assert page.status_code == 400
    assert "This sign-in link is not valid." in page.text
    assert (await client.get("/accounts/login/link/garbage/")).status_code == 400


async def test_asking_for_a_link_does_not_tell_who_has_an_account(
    client: httpx.AsyncClient, inbox: Inbox
) -> None:
    response = await request_link(client, "nobody@example.org")
    assert response.status_code == 303
    assert LINK_SENT in (await client.get("/accounts/login/link/")).text
    assert inbox.messages == []


async def test_asking_for_a_link_needs_an_email_address(client: httpx.AsyncClient) -> None:
    response = await request_link(client, "not an address")
    assert response.status_code == 400
    assert '<p class="error" id="f-email-error">Enter a valid email address.</p>' in response.text


async def test_link_requests_are_rate_limited_per_email(
    client: httpx.AsyncClient, factory: Factory, inbox: Inbox
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    for n in range(20):
        headers = {"x-forwarded-for": f"192.0.2.{n}"}
        await post_form(
            client, "/accounts/login/link/", {"email": "alice@example.org"}, headers=headers
        )
    sent = len(inbox.messages)
    response = await request_link(client, "alice@example.org")
    assert response.status_code == 429
    assert "Too many requests. Please try again later." in response.text
    assert len(inbox.messages) == sent


async def test_without_an_smtp_server_the_link_is_logged(
    settings: Settings,
    db: Database,
    clock: FakeClock,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    caplog.set_level("INFO", logger="cronbeat.mail")
    async with app_client(replace(settings, email_host=None), db, clock) as client:
        response = await request_link(client, "alice@example.org")
        assert response.status_code == 303
        [url] = re.findall(r"http://testserver.local(/accounts/login/link/\S+)", caplog.text)
        assert (await post_form(client, url)).status_code == 303
        assert await signed_in_email(client) == "alice@example.org"


async def test_a_mail_server_that_is_down_changes_nothing_in_the_answer(
    settings: Settings,
    db: Database,
    clock: FakeClock,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    down = replace(settings, email_port=closed_port)
    async with app_client(down, db, clock) as client:
        response = await request_link(client, "alice@example.org")
        assert response.status_code == 303
        assert LINK_SENT in (await client.get("/accounts/login/link/")).text
    assert "could not send login_link email" in caplog.text


# --- password reset -------------------------------------------------------------------------------


async def test_a_password_reset_sets_a_new_password_and_signs_in(
    client: httpx.AsyncClient, factory: Factory, inbox: Inbox, db: Database
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    assert (await client.get("/accounts/password-reset/")).status_code == 200
    response = await post_form(client, "/accounts/password-reset/", {"email": "alice@example.org"})
    assert response.status_code == 303
    assert LINK_SENT in (await client.get("/accounts/password-reset/")).text
    [message] = inbox.messages
    assert message["Subject"] == "Set a new password for Cronbeat"
    path = inbox.link("/accounts/password-reset/")

    page = await client.get(path)
    assert page.status_code == 200
    assert 'for="f-new_password"' in page.text and 'for="f-confirm_password"' in page.text

    response = await post_form(
        client, path, {"new_password": "a new secret", "confirm_password": "a new secret"}
    )
    assert response.status_code == 303
    assert await signed_in_email(client) == "alice@example.org"
    async with db.sessionmaker() as session:
        user = await session.scalar(select(m.User))
        assert user is not None
        assert keys.verify_password("a new secret", user.password_hash)

    again = await client.get(path)
    assert again.status_code == 400
    assert "This password reset link has already been used." in again.text
    assert 'href="/accounts/password-reset"' in again.text


@pytest.mark.parametrize(
    ("new", "confirm", "field", "message"),
    [
        ("a new secret", "another one", "confirm_password", "The two passwords do not match."),
        ("short", "short", "new_password", "The password must be at least 8 characters long."),
    ],
)
async def test_a_password_reset_with_a_bad_new_password_keeps_the_old_one(
    client: httpx.AsyncClient,
    factory: Factory,
    inbox: Inbox,
    db: Database,
    new: str,
    confirm: str,
    field: str,
    message: str,
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    await post_form(client, "/accounts/password-reset/", {"email": "alice@example.org"})
    path = inbox.link("/accounts/password-reset/")
    response = await post_form(client, path, {"new_password": new, "confirm_password": confirm})
    assert response.status_code == 400
    assert f'<p class="error" id="f-{field}-error">{message}</p>' in response.text
    async with db.sessionmaker() as session:
        user = await session.scalar(select(m.User))
        assert user is not None and keys.verify_password(PASSWORD, user.password_hash)
    assert (await client.get(path)).status_code == 200  # still usable: nothing changed


async def test_a_password_reset_link_expires_after_an_hour(
    client: httpx.AsyncClient, factory: Factory, inbox: Inbox, clock: FakeClock
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    await post_form(client, "/accounts/password-reset/", {"email": "alice@example.org"})
    path = inbox.link("/accounts/password-reset/")
    clock.advance(hours=1, seconds=1)
    response = await post_form(
        client, path, {"new_password": "a new secret", "confirm_password": "a new secret"}
    )
    assert response.status_code == 400
    assert "This password reset link has expired." in response.text


async def test_a_sign_in_link_is_not_a_password_reset_link(
    client: httpx.AsyncClient, factory: Factory, inbox: Inbox
) -> None:
    await factory.user("alice@example.org", PASSWORD)
    await request_link(client, "alice@example.org")
    token = inbox.link("/accounts/login/link/").rstrip("/").rsplit("/", 1)[1]
    page = await client.get(f"/accounts/password-reset/{token}/")
    assert page.status_code == 400
    assert "This password reset link is not valid." in page.text


async def test_a_password_reset_for_an_unknown_address_sends_nothing(
    client: httpx.AsyncClient, inbox: Inbox
) -> None:
    response = await post_form(client, "/accounts/password-reset/", {"email": "no@example.org"})
    assert response.status_code == 303
    assert inbox.messages == []
