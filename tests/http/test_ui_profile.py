"""The profile page: time zone, reports, reminder emails, nag periods, email and password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert, select

from app.db import models as m
from app.db.engine import Database
from app.domain import accounts, keys
from app.domain.permissions import Role
from tests.conftest import FakeClock
from tests.factories import Factory
from tests.ui import PASSWORD, post_form, sign_in

ALICE = "alice@example.org"


@pytest.fixture
async def alice(client: httpx.AsyncClient, factory: Factory) -> m.User:
    user = await factory.user(ALICE, PASSWORD)
    await sign_in(client, ALICE)
    return user


async def profile_of(db: Database, user: m.User) -> m.Profile:
    async with db.sessionmaker() as session:
        profile = await session.scalar(select(m.Profile).where(m.Profile.user_id == user.id))
        assert profile is not None
        return profile


async def user_row(db: Database, user: m.User) -> m.User:
    async with db.sessionmaker() as session:
        return await session.get_one(m.User, user.id)


async def project_row(db: Database, project: m.Project) -> m.Project:
    async with db.sessionmaker() as session:
        return await session.get_one(m.Project, project.id)


async def add_member(db: Database, project: m.Project, user: m.User, role: Role) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(m.Member).values(project_id=project.id, user_id=user.id, role=role.value)
        )


def error_text(field: str, message: str) -> str:
    return f'<p class="error" id="f-{field}-error">{message}</p>'


def other_browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A second browser on the same app (its own cookies)."""
    transport = client._transport  # the same app, so the same database
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


# --- the page -------------------------------------------------------------------------------------


async def test_an_anonymous_visitor_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/accounts/profile/")
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts/login?next=/accounts/profile"


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/profile/preferences/",
        "/accounts/profile/email/",
        "/accounts/profile/password/",
        "/accounts/profile/projects/6f1f8f2e-4d2c-4c4e-9a43-9c7a1f0d8e11/nag/",
    ],
)
async def test_an_anonymous_visitor_cannot_post_profile_forms(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await post_form(client, path, {"tz": "Europe/Riga"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/accounts/login?next=")


async def test_the_page_shows_the_profile(
    client: httpx.AsyncClient, alice: m.User, factory: Factory, db: Database
) -> None:
    owned, _ = await factory.project(alice, "Alice's own")
    someone = await factory.user("bob@example.org")
    managed, _ = await factory.project(someone, "Managed")
    watched, _ = await factory.project(someone, "Watched only")
    await add_member(db, managed, alice, Role.MANAGER)
    await add_member(db, watched, alice, Role.READONLY)
    response = await client.get("/accounts/profile/")
    assert response.status_code == 200
    text = response.text
    assert "Signed in as <strong>alice@example.org</strong>" in text
    assert "<option selected>UTC</option>" in text
    assert "<option>Europe/Riga</option>" in text
    assert '<option value="monthly" selected>Monthly</option>' in text
    assert '<option value="0" selected>Off</option>' in text
    assert "Repeat alerts while a check stays down" in text
    assert f'action="/accounts/profile/projects/{owned.code}/nag"' in text
    assert f'action="/accounts/profile/projects/{managed.code}/nag"' in text
    assert f"/accounts/profile/projects/{watched.code}/nag" not in text  # read-only member
    assert 'for="f-new_email"' in text and 'for="f-current_password"' in text
    assert '<input type="hidden" name="_csrf_token"' in text
    assert 'aria-current="page">Profile</a>' in text


# --- preferences ----------------------------------------------------------------------------------


async def test_it_saves_time_zone_reports_and_reminders(
    client: httpx.AsyncClient, alice: m.User, db: Database, clock: FakeClock
) -> None:
    data = {"tz": "Europe/Riga", "reports": "weekly", "reminder_period": "3600"}
    response = await post_form(client, "/accounts/profile/preferences/", data)
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts/profile"
    profile = await profile_of(db, alice)
    assert (profile.tz, profile.reports, profile.reminder_period) == ("Europe/Riga", "weekly", 3600)
    # Thursday 15 January 2026, 12:00 UTC: the next weekly report is Monday 19th, 09:00 Riga.
    assert clock.now.weekday() == 3
    assert profile.next_report_date == datetime(2026, 1, 19, 7, 0, tzinfo=UTC)
    page = await client.get("/accounts/profile/")
    assert "Your preferences are saved." in page.text
    assert "<option selected>Europe/Riga</option>" in page.text


async def test_turning_reports_off_clears_the_next_report(
    client: httpx.AsyncClient, alice: m.User, db: Database
) -> None:
    data = {"tz": "UTC", "reports": "off", "reminder_period": "0"}
    assert (await post_form(client, "/accounts/profile/preferences/", data)).status_code == 303
    profile = await profile_of(db, alice)
    assert profile.reports == "off" and profile.next_report_date is None


async def test_the_time_zone_is_used_on_every_page(
    client: httpx.AsyncClient, alice: m.User, factory: Factory
) -> None:
    project, _ = await factory.project(alice, "Timed")
    await factory.check(project, name="nightly", last_ping=factory.clock() - timedelta(hours=1))
    data = {"tz": "Asia/Tokyo", "reports": "monthly", "reminder_period": "0"}
    await post_form(client, "/accounts/profile/preferences/", data)
    page = await client.get(f"/projects/{project.code}/checks/")
    assert page.status_code == 200
    # 11:00 UTC is 20:00 in Tokyo.
    assert 'title="2026-01-15 20:00:00 JST"' in page.text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"tz": "Mars/Olympus", "reports": "monthly", "reminder_period": "0"},
            "tz",
            "&#39;Mars/Olympus&#39; is not a known time zone.",
        ),
        (
            {"tz": "UTC", "reports": "hourly", "reminder_period": "0"},
            "reports",
            "Choose one of the listed options.",
        ),
        (
            {"tz": "UTC", "reports": "daily", "reminder_period": "60"},
            "reminder_period",
            "Choose one of the listed options.",
        ),
        (
            {"tz": "UTC", "reports": "daily", "reminder_period": "soon"},
            "reminder_period",
            "Choose one of the listed options.",
        ),
        ({}, "tz", "&#39;&#39; is not a known time zone."),
    ],
)
async def test_bad_preferences_are_refused_by_field(
    client: httpx.AsyncClient,
    alice: m.User,
    db: Database,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = await post_form(client, "/accounts/profile/preferences/", data)
    assert response.status_code == 400
    assert error_text(field, message) in response.text
    assert f'aria-describedby="f-{field}-error' in response.text
    profile = await profile_of(db, alice)
    assert (profile.tz, profile.reports, profile.reminder_period) == ("UTC", "monthly", 0)


# --- nag periods ----------------------------------------------------------------------------------


async def test_an_owner_sets_the_nag_period_and_down_checks_follow(
    client: httpx.AsyncClient, alice: m.User, factory: Factory, db: Database, clock: FakeClock
) -> None:
    project, _ = await factory.project(alice, "Nagging")
    down = await factory.check(project, status="down", next_nag_at=clock() + timedelta(hours=1))
    up = await factory.check(project, status="up")
    url = f"/accounts/profile/projects/{project.code}/nag/"

    response = await post_form(client, url, {"nag_period": "86400"})
    assert response.status_code == 303
    assert (await project_row(db, project)).nag_period == 86400
    assert (await factory.reload(down)).next_nag_at == clock() + timedelta(days=1)
    assert (await factory.reload(up)).next_nag_at is None
    assert "Repeat alerts saved for Nagging." in (await client.get("/accounts/profile/")).text

    assert (await post_form(client, url, {"nag_period": "0"})).status_code == 303
    assert (await project_row(db, project)).nag_period == 0
    assert (await factory.reload(down)).next_nag_at is None


@pytest.mark.parametrize("role", [Role.MANAGER, Role.REGULAR])
async def test_members_who_write_set_the_nag_period(
    client: httpx.AsyncClient, alice: m.User, factory: Factory, db: Database, role: Role
) -> None:
    project, _ = await factory.project(await factory.user(), "Team")
    await add_member(db, project, alice, role)
    url = f"/accounts/profile/projects/{project.code}/nag/"
    assert (await post_form(client, url, {"nag_period": "0"})).status_code == 303
    assert (await project_row(db, project)).nag_period == 0


async def test_a_read_only_member_cannot_set_the_nag_period(
    client: httpx.AsyncClient, alice: m.User, factory: Factory, db: Database
) -> None:
    project, _ = await factory.project(await factory.user(), "Team")
    await add_member(db, project, alice, Role.READONLY)
    response = await post_form(
        client, f"/accounts/profile/projects/{project.code}/nag/", {"nag_period": "0"}
    )
    assert response.status_code == 403
    assert "Your role in this project is read-only." in response.text
    assert (await project_row(db, project)).nag_period == 3600


async def test_a_stranger_cannot_set_the_nag_period(
    client: httpx.AsyncClient, alice: m.User, factory: Factory, db: Database
) -> None:
    project, _ = await factory.project(await factory.user(), "Theirs")
    response = await post_form(
        client, f"/accounts/profile/projects/{project.code}/nag/", {"nag_period": "0"}
    )
    assert response.status_code == 404
    assert (await project_row(db, project)).nag_period == 3600


@pytest.mark.parametrize("value", ["60", "", "daily"])
async def test_a_nag_period_off_the_list_is_refused(
    client: httpx.AsyncClient, alice: m.User, factory: Factory, db: Database, value: str
) -> None:
    project, _ = await factory.project(alice, "Mine")
    response = await post_form(
        client, f"/accounts/profile/projects/{project.code}/nag/", {"nag_period": value}
    )
    assert response.status_code == 400
    assert error_text(f"nag-{project.code}", "Choose one of the listed options.") in response.text
    assert (await project_row(db, project)).nag_period == 3600


# --- email ----------------------------------------------------------------------------------------


async def test_it_changes_the_email_and_signs_out_other_sessions(
    client: httpx.AsyncClient, alice: m.User, db: Database
) -> None:
    async with other_browser(client) as elsewhere:
        await sign_in(elsewhere, ALICE)
        response = await post_form(
            client,
            "/accounts/profile/email/",
            {"new_email": "alice@new.example", "email_password": PASSWORD},
        )
        assert response.status_code == 303
        assert (await user_row(db, alice)).email == "alice@new.example"
        page = await client.get("/accounts/profile/")
        assert page.status_code == 200
        assert "Your email address is now alice@new.example." in page.text
        assert (await elsewhere.get("/accounts/profile/")).status_code == 303
        await sign_in(elsewhere, "alice@new.example")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"new_email": "bob@example.org", "email_password": PASSWORD}, "new_email",
         "An account with this email already exists."),
        ({"new_email": "BOB@example.org", "email_password": PASSWORD}, "new_email",
         "An account with this email already exists."),
        ({"new_email": "not an email", "email_password": PASSWORD}, "new_email",
         "Enter a valid email address."),
        ({"new_email": ALICE, "email_password": PASSWORD}, "new_email",
         "That is already your email address."),
        ({"new_email": "alice@new.example", "email_password": "wrong one"}, "email_password",
         "Incorrect password."),
        ({"new_email": "alice@new.example"}, "email_password", "Incorrect password."),
    ],
)  # fmt: skip
async def test_a_bad_email_change_is_refused_by_field(
    client: httpx.AsyncClient,
    alice: m.User,
    factory: Factory,
    db: Database,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    await factory.user("bob@example.org")
    response = await post_form(client, "/accounts/profile/email/", data)
    assert response.status_code == 400
    assert error_text(field, message) in response.text
    assert (await user_row(db, alice)).email == ALICE
    assert f'value="{data["new_email"]}"' in response.text  # what was typed stays


# --- password -------------------------------------------------------------------------------------


async def test_it_changes_the_password_and_signs_out_other_sessions(
    client: httpx.AsyncClient, alice: m.User, db: Database
) -> None:
    async with other_browser(client) as elsewhere:
        await sign_in(elsewhere, ALICE)
        assert (await elsewhere.get("/accounts/profile/")).status_code == 200
        data = {
            "current_password": PASSWORD,
            "new_password": "a brand new one",
            "confirm_password": "a brand new one",
        }
        response = await post_form(client, "/accounts/profile/password/", data)
        assert response.status_code == 303
        assert keys.verify_password("a brand new one", (await user_row(db, alice)).password_hash)
        page = await client.get("/accounts/profile/")
        assert page.status_code == 200  # this session stays signed in
        assert "Your password is changed." in page.text
        response = await elsewhere.get("/accounts/profile/")
        assert response.status_code == 303  # the other one is signed out
        await sign_in(elsewhere, ALICE, "a brand new one")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"current_password": "wrong one", "new_password": "a brand new one",
          "confirm_password": "a brand new one"}, "current_password", "Incorrect password."),
        ({"current_password": PASSWORD, "new_password": "a brand new one",
          "confirm_password": "another one"}, "confirm_password",
         "The two passwords do not match."),
        ({"current_password": PASSWORD, "new_password": "short",
          "confirm_password": "short"}, "new_password",
         "The password must be at least 8 characters long."),
    ],
)  # fmt: skip
async def test_a_bad_password_change_is_refused_by_field(
    client: httpx.AsyncClient,
    alice: m.User,
    db: Database,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = await post_form(client, "/accounts/profile/password/", data)
    assert response.status_code == 400
    assert error_text(field, message) in response.text
    assert keys.verify_password(PASSWORD, (await user_row(db, alice)).password_hash)
    assert (await client.get("/accounts/profile/")).status_code == 200


async def test_a_user_without_a_password_can_set_one(
    client: httpx.AsyncClient, factory: Factory, db: Database, clock: FakeClock
) -> None:
    user = await factory.user("nopass@example.org")
    async with db.sessionmaker() as session:  # signed in by an emailed link, in effect
        token_user = await session.get_one(m.User, user.id)
    token = accounts.login_token(token_user, clock(), secret_key=factory.settings.secret_key)
    await post_form(client, f"/accounts/login/link/{token}/")
    page = await client.get("/accounts/profile/")
    assert "Set a password" in page.text and 'for="f-current_password"' not in page.text
    assert 'for="f-new_email"' not in page.text  # changing the email needs a password
    data = {"new_password": "first password", "confirm_password": "first password"}
    assert (await post_form(client, "/accounts/profile/password/", data)).status_code == 303
    assert keys.verify_password("first password", (await user_row(db, user)).password_hash)
    refused = await post_form(
        client, "/accounts/profile/email/", {"new_email": "x@example.org", "email_password": ""}
    )
    assert refused.status_code == 400


async def test_password_attempts_are_limited(
    client: httpx.AsyncClient, alice: m.User, db: Database
) -> None:
    wrong = {"current_password": "wrong one", "new_password": "a brand new one",
             "confirm_password": "a brand new one"}  # fmt: skip
    for _ in range(20):
        await post_form(client, "/accounts/profile/password/", wrong)
    right = {**wrong, "current_password": PASSWORD}
    response = await post_form(client, "/accounts/profile/password/", right)
    assert response.status_code == 429
    assert (
        error_text("current_password", "Too many password attempts. Please try again tomorrow.")
        in response.text
    )
    assert keys.verify_password(PASSWORD, (await user_row(db, alice)).password_hash)


async def test_profile_posts_need_the_csrf_token(
    client: httpx.AsyncClient, alice: m.User, db: Database
) -> None:
    response = await client.post(
        "/accounts/profile/preferences/",
        data={"tz": "Europe/Riga", "reports": "off", "reminder_period": "0"},
    )
    assert response.status_code == 403
    assert (await profile_of(db, alice)).tz == "UTC"


def test_profile_time_zones_follow_the_schedule_rules() -> None:
    from app.domain import accounts
    from app.domain.errors import ValidationError

    assert accounts.validate_timezone("Europe/Kiev") == "Europe/Kyiv"  # renamed zones map
    for odd in ("Factory", "localtime"):
        with pytest.raises(ValidationError):
            accounts.validate_timezone(odd)
