"""Project pages: the list with status summaries, creation, settings (name, keys, team,
ownership, deletion)."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.config import Settings
from app.db import models as m
from app.db.engine import Database, write_session
from app.domain import keys, projects
from app.domain.errors import Conflict, NotFound, ValidationError
from app.domain.permissions import Role
from tests.conftest import FakeClock, app_for
from tests.factories import Factory
from tests.ui import PASSWORD, post_form, sign_in


async def add_member(db: Database, project: m.Project, user: m.User, role: Role) -> None:
    async with write_session(db) as session:
        await projects.invite_member(session, project, user.email, role)


async def load_project(db: Database, project: m.Project) -> m.Project | None:
    async with db.sessionmaker() as session:
        found: m.Project | None = await session.get(m.Project, project.id)
        return found


async def member_roles(db: Database, project: m.Project) -> dict[str, str]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(m.User.email, m.Member.role)
            .join(m.Member, m.Member.user_id == m.User.id)
            .where(m.Member.project_id == project.id)
        )
        return {email: role for email, role in rows}


PASSWORD_HASH = keys.hash_password(PASSWORD)


async def user_with_password(factory: Factory, email: str) -> m.User:
    """A user who can sign in, without paying for an argon2 hash per test."""
    user = await factory.user(email)
    async with write_session(factory.db) as session:
        await session.execute(
            update(m.User).where(m.User.id == user.id).values(password_hash=PASSWORD_HASH)
        )
    return user


@pytest.fixture
async def owner(factory: Factory) -> m.User:
    return await user_with_password(factory, "owner@example.org")


@pytest.fixture
async def project(factory: Factory, owner: m.User) -> m.Project:
    created, _ = await factory.project(owner, "Backups")
    return created


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, owner: m.User) -> httpx.AsyncClient:
    await sign_in(client, owner.email)
    return client


def settings_url(project: m.Project, rest: str = "") -> str:
    return f"/projects/{project.code}/settings/{rest}"


# --- the list ------------------------------------------------------------------------------------


async def test_the_list_asks_anonymous_visitors_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/projects/")
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts/login?next=/projects"


async def test_an_empty_list_explains_and_offers_a_first_project(
    signed_in: httpx.AsyncClient,
) -> None:
    response = await signed_in.get("/projects/")
    assert response.status_code == 200
    assert "You have no projects yet." in response.text
    assert 'href="/projects/add"' in response.text


async def test_the_list_shows_owned_and_member_projects_with_roles(
    signed_in: httpx.AsyncClient, factory: Factory, db: Database, owner: m.User, project: m.Project
) -> None:
    other_owner = await factory.user("other@example.org")
    shared, _ = await factory.project(other_owner, "Shared reports")
    await add_member(db, shared, owner, Role.READONLY)
    await factory.project(other_owner, "Not mine")
    response = await signed_in.get("/projects/")
    assert response.status_code == 200
    assert f'href="/projects/{project.code}/checks"' in response.text
    assert f'href="/projects/{shared.code}/checks"' in response.text
    assert "Not mine" not in response.text
    rows = re.findall(r"<tr>(.*?)</tr>", response.text, re.S)
    backups = next(row for row in rows if "Backups" in row)
    reports = next(row for row in rows if "Shared reports" in row)
    assert '<td data-label="Your role">Owner</td>' in backups
    assert '<td data-label="Your role">Read-only</td>' in reports


def _count(row: str, label: str) -> str:
    cell = re.search(rf'<td data-label="{label}">(.*?)</td>', row, re.S)
    assert cell is not None, label
    return re.sub(r"<[^>]+>|\s", "", cell.group(1)).replace(label, "")


async def test_the_summary_counts_displayed_statuses_including_late(
    signed_in: httpx.AsyncClient, factory: Factory, clock: FakeClock, project: m.Project
) -> None:
    now = clock()
    await factory.check(project, status="up", last_ping=now - timedelta(minutes=5))
    await factory.check(project, status="up", last_ping=now - timedelta(minutes=6))
    # Past its timeout but within grace: stored "up", shown as late.
    await factory.check(
        project,
        status="up",
        timeout=3600,
        grace=3600,
        last_ping=now - timedelta(hours=1, minutes=30),
    )
    # Past timeout + grace but not yet swept: shown down.
    await factory.check(
        project, status="up", timeout=3600, grace=60, last_ping=now - timedelta(hours=2)
    )
    await factory.check(project, status="down")
    await factory.check(project, status="paused")
    await factory.check(project, status="new")
    await factory.check(project, status="new")
    await factory.check(project, status="new")
    # A run that started and outlived its grace is down whatever the stored status says.
    await factory.check(project, status="new", grace=60, last_start=now - timedelta(minutes=5))
    response = await signed_in.get("/projects/")
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", response.text, re.S) if "Backups" in r)
    assert _count(row, "Checks") == "10"
    assert _count(row, "Up") == "2"
    assert _count(row, "Late") == "1"
    assert _count(row, "Down") == "3"
    assert _count(row, "Paused") == "1"
    assert _count(row, "New") == "3"


async def test_list_projects_sums_per_project(
    factory: Factory, db: Database, clock: FakeClock, owner: m.User, project: m.Project
) -> None:
    second, _ = await factory.project(owner, "archive")
    await factory.check(project, status="down")
    await factory.check(second, status="paused")
    async with db.sessionmaker() as session:
        summaries = await projects.list_projects(session, owner.id, clock())
    assert [(s.name, s.role, dict(s.counts)) for s in summaries] == [
        ("archive", Role.OWNER, {"paused": 1}),
        ("Backups", Role.OWNER, {"down": 1}),
    ]


# --- creation ------------------------------------------------------------------------------------


async def test_creating_a_project_shows_its_keys_once(
    signed_in: httpx.AsyncClient, db: Database, settings: Any, owner: m.User
) -> None:
    response = await post_form(signed_in, "/projects/add/", {"name": "  Nightly jobs "})
    assert response.status_code == 303
    async with db.sessionmaker() as session:
        created = await session.scalar(select(m.Project).where(m.Project.name == "Nightly jobs"))
    assert created is not None and created.owner_id == owner.id
    assert response.headers["location"] == f"/projects/{created.code}/created"
    page = await signed_in.get(response.headers["location"])
    assert page.status_code == 200
    shown = dict(re.findall(r'<input id="(key-\w+)" type="text" value="([^"]+)"', page.text))
    assert keys.api_key_matches(shown["key-rw"], created.api_key, settings.secret_key)
    assert keys.api_key_matches(shown["key-ro"], created.api_key_readonly, settings.secret_key)
    assert shown["key-ping"] == created.ping_key
    assert shown["key-rw"].startswith("hcw_") and shown["key-ro"].startswith("hcr_")
    assert 'data-copy="#key-rw"' in page.text
    assert f'href="/projects/{created.code}/checks"' in page.text
    again = await signed_in.get(response.headers["location"])
    assert again.status_code == 200
    assert shown["key-rw"] not in again.text
    assert "were shown once" in again.text


@pytest.mark.parametrize(
    ("name", "message"),
    [("   ", "project name must not be empty"), ("x" * 201, "project name is too long")],
)
async def test_a_bad_project_name_is_told_next_to_the_field(
    signed_in: httpx.AsyncClient, db: Database, name: str, message: str
) -> None:
    response = await post_form(signed_in, "/projects/add/", {"name": name})
    assert response.status_code == 400
    assert f'<p class="error" id="f-name-error">{message}' in response.text
    assert 'aria-describedby="f-name-error' in response.text
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(m.Project)) == 0


async def test_the_created_page_of_a_strangers_project_is_404(
    signed_in: httpx.AsyncClient, factory: Factory
) -> None:
    theirs, _ = await factory.project(name="Theirs")
    response = await signed_in.get(f"/projects/{theirs.code}/created/")
    assert response.status_code == 404


# --- settings: name and keys ---------------------------------------------------------------------


async def test_the_settings_page_shows_keys_as_set_and_the_ping_key(
    signed_in: httpx.AsyncClient, project: m.Project
) -> None:
    response = await signed_in.get(settings_url(project))
    assert response.status_code == 200
    assert response.text.count('<span class="tag">set</span>') == 2
    assert f'value="{project.ping_key}"' in response.text
    assert f"http://testserver.local/ping/{project.ping_key}/&lt;slug&gt;" in response.text
    assert 'aria-current="page">Settings' in response.text
    assert "Delete this project" in response.text
    forms = re.findall(r'<form method="post"[^>]*>\s*(<[^>]+>)', response.text)
    assert len(forms) >= 3
    # Every form carries the CSRF token as a real field, so it submits from a browser.
    assert all(re.match(r'<input type="hidden" name="_csrf_token"', f) for f in forms), forms


async def test_renaming(signed_in: httpx.AsyncClient, db: Database, project: m.Project) -> None:
    response = await post_form(signed_in, settings_url(project, "name/"), {"name": " Backups 2 "})
    assert response.status_code == 303
    assert response.headers["location"] == f"/projects/{project.code}/settings"
    reloaded = await load_project(db, project)
    assert reloaded is not None and reloaded.name == "Backups 2"
    page = await signed_in.get(response.headers["location"])
    assert "Project renamed to “Backups 2”." in page.text


async def test_renaming_to_nothing_is_refused_on_the_field(
    signed_in: httpx.AsyncClient, db: Database, project: m.Project
) -> None:
    response = await post_form(signed_in, settings_url(project, "name/"), {"name": ""})
    assert response.status_code == 400
    assert '<p class="error" id="f-name-error">project name must not be empty</p>' in response.text
    reloaded = await load_project(db, project)
    assert reloaded is not None and reloaded.name == "Backups"


@pytest.mark.parametrize(
    ("kind", "column"), [("read-write", "api_key"), ("read-only", "api_key_readonly")]
)
async def test_a_new_api_key_replaces_the_old_one_and_is_shown_once(
    signed_in: httpx.AsyncClient,
    db: Database,
    settings: Any,
    project: m.Project,
    kind: str,
    column: str,
) -> None:
    confirm = await signed_in.get(settings_url(project, f"keys/?kind={kind}"))
    assert confirm.status_code == 200
    assert "stops working" in confirm.text
    response = await post_form(signed_in, settings_url(project, "keys/"), {"kind": kind})
    assert response.status_code == 303
    page = await signed_in.get(settings_url(project))
    found = re.search(r'<input id="new-key" type="text" value="([^"]+)"', page.text)
    assert found is not None
    reloaded = await load_project(db, project)
    assert reloaded is not None
    stored = getattr(reloaded, column)
    assert stored != getattr(project, column)
    assert keys.api_key_matches(found.group(1), stored, settings.secret_key)
    again = await signed_in.get(settings_url(project))
    assert found.group(1) not in again.text


async def test_revoking_a_key_leaves_it_not_set(
    signed_in: httpx.AsyncClient, db: Database, project: m.Project
) -> None:
    confirm = await signed_in.get(settings_url(project, "keys/revoke/?kind=read-only"))
    assert confirm.status_code == 200
    assert "Revoke the read-only api key" in confirm.text
    response = await post_form(
        signed_in, settings_url(project, "keys/revoke/"), {"kind": "read-only"}
    )
    assert response.status_code == 303
    reloaded = await load_project(db, project)
    assert reloaded is not None
    assert reloaded.api_key_readonly == "" and reloaded.api_key == project.api_key
    page = await signed_in.get(settings_url(project))
    assert "not set</span>" in page.text
    assert "Create key<span" in page.text  # no key to replace: no confirmation needed


async def test_the_revoked_key_no_longer_opens_the_api(
    signed_in: httpx.AsyncClient, factory: Factory, owner: m.User
) -> None:
    theirs, plain = await factory.project(owner, "API")
    headers = {"X-Api-Key": plain.api_key}
    assert (await signed_in.get("/api/v3/checks/", headers=headers)).status_code == 200
    await post_form(signed_in, settings_url(theirs, "keys/revoke/"), {"kind": "read-write"})
    assert (await signed_in.get("/api/v3/checks/", headers=headers)).status_code == 401


@pytest.mark.parametrize("kind", ["", "admin"])
async def test_an_unknown_key_kind_is_a_400(
    signed_in: httpx.AsyncClient, project: m.Project, kind: str
) -> None:
    response = await post_form(signed_in, settings_url(project, "keys/"), {"kind": kind})
    assert response.status_code == 400
    assert "kind must be read-write or read-only" in response.text
    assert (await signed_in.get(settings_url(project, "keys/revoke/"))).status_code == 400


async def test_a_new_ping_key_changes_slug_urls(
    signed_in: httpx.AsyncClient, db: Database, project: m.Project
) -> None:
    confirm = await signed_in.get(settings_url(project, "ping-key/"))
    assert "will get 404" in confirm.text
    response = await post_form(signed_in, settings_url(project, "ping-key/"))
    assert response.status_code == 303
    reloaded = await load_project(db, project)
    assert reloaded is not None and reloaded.ping_key != project.ping_key
    assert re.fullmatch(r"[a-z0-9]{22}", reloaded.ping_key or "")
    page = await signed_in.get(settings_url(project))
    assert f'value="{reloaded.ping_key}"' in page.text


# --- settings: the team --------------------------------------------------------------------------


async def test_inviting_someone_new_creates_a_passwordless_account_and_emails_them(
    signed_in: httpx.AsyncClient, db: Database, project: m.Project, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cronbeat.mail")
    response = await post_form(
        signed_in,
        settings_url(project, "members/"),
        {"email": "New@Example.ORG", "role": "readonly"},
    )
    assert response.status_code == 303
    assert await member_roles(db, project) == {"New@example.org": "readonly"}
    async with db.sessionmaker() as session:
        invited = await session.scalar(select(m.User).where(m.User.email == "New@example.org"))
    assert invited is not None and invited.password_hash is None
    mail_log = "\n".join(r.getMessage() for r in caplog.records)
    assert "to=New@example.org" in mail_log
    assert "owner@example.org invited you to the project “Backups”" in mail_log
    assert "http://testserver.local/accounts/login" in mail_log
    assert "Email me a sign-in link" in mail_log
    page = await signed_in.get(settings_url(project))
    assert "New@example.org was added to the project and sent an invitation." in page.text
    assert '<td data-label="Email">New@example.org</td>' in page.text


async def test_inviting_an_existing_user_adds_them_with_the_role(
    signed_in: httpx.AsyncClient, factory: Factory, db: Database, project: m.Project
) -> None:
    await factory.user("bob@example.org")
    response = await post_form(
        signed_in,
        settings_url(project, "members/"),
        {"email": "bob@example.org", "role": "manager"},
    )
    assert response.status_code == 303
    assert await member_roles(db, project) == {"bob@example.org": "manager"}


@pytest.mark.parametrize(
    ("email", "role", "field", "message"),
    [
        ("owner@example.org", "regular", "email", "owner@example.org is already a member"),
        ("member@example.org", "regular", "email", "member@example.org is already a member"),
        ("not an email", "regular", "email", "is not a valid email address"),
        ("x@example.org", "owner", "role", "role must be one of readonly, regular, manager"),
    ],
)
async def test_bad_invitations_are_told_next_to_the_field(
    signed_in: httpx.AsyncClient,
    factory: Factory,
    db: Database,
    project: m.Project,
    email: str,
    role: str,
    field: str,
    message: str,
) -> None:
    member = await factory.user("member@example.org")
    await add_member(db, project, member, Role.REGULAR)
    response = await post_form(
        signed_in, settings_url(project, "members/"), {"email": email, "role": role}
    )
    assert response.status_code == 400
    assert re.search(
        rf'<p class="error" id="f-{field}-error">[^<]*{re.escape(message)}', response.text
    )
    assert f'aria-describedby="f-{field}-error' in response.text
    assert await member_roles(db, project) == {"member@example.org": "regular"}


async def test_invitations_are_rate_limited_per_inviter(
    signed_in: httpx.AsyncClient, db: Database, project: m.Project
) -> None:
    url = settings_url(project, "members/")
    statuses = [
        (await post_form(signed_in, url, {"email": f"u{n}@example.org"})).status_code
        for n in range(21)
    ]
    # 20 a day (reference §8.3).
    assert statuses == [303] * 20 + [429]
    response = await post_form(signed_in, url, {"email": "late@example.org"})
    assert response.status_code == 429
    assert "You have sent too many invitations today." in response.text
    assert "late@example.org" not in await member_roles(db, project)


async def test_changing_a_role(
    signed_in: httpx.AsyncClient, factory: Factory, db: Database, project: m.Project
) -> None:
    member = await factory.user("member@example.org")
    await add_member(db, project, member, Role.READONLY)
    url = settings_url(project, f"members/{member.id}/role/")
    response = await post_form(signed_in, url, {"role": "manager"})
    assert response.status_code == 303
    assert await member_roles(db, project) == {"member@example.org": "manager"}
    bad = await post_form(signed_in, url, {"role": "owner"})
    assert bad.status_code == 400
    assert f'id="role-{member.id}-error">role must be one of' in bad.text
    assert await member_roles(db, project) == {"member@example.org": "manager"}


async def test_team_actions_on_a_non_member_are_404(
    signed_in: httpx.AsyncClient, factory: Factory, owner: m.User, project: m.Project
) -> None:
    outsider = await factory.user("outsider@example.org")
    for path, data in (
        (f"members/{outsider.id}/role/", {"role": "regular"}),
        (f"members/{outsider.id}/remove/", {}),
        (f"transfer/{outsider.id}/", {}),
        (f"transfer/{owner.id}/", {}),
        ("members/999999/remove/", {}),
    ):
        response = await post_form(signed_in, settings_url(project, path), data)
        assert response.status_code == 404, path
    assert (
        await signed_in.get(settings_url(project, f"transfer/{outsider.id}/"))
    ).status_code == 404


async def test_removing_a_member(
    signed_in: httpx.AsyncClient, factory: Factory, db: Database, project: m.Project
) -> None:
    member = await factory.user("member@example.org")
    await add_member(db, project, member, Role.REGULAR)
    url = settings_url(project, f"members/{member.id}/remove/")
    confirm = await signed_in.get(url)
    assert "Remove member@example.org?" in confirm.text
    response = await post_form(signed_in, url)
    assert response.status_code == 303
    assert await member_roles(db, project) == {}


async def test_a_member_can_leave_and_loses_access(
    client: httpx.AsyncClient, factory: Factory, db: Database, project: m.Project
) -> None:
    member = await user_with_password(factory, "member@example.org")
    await add_member(db, project, member, Role.READONLY)
    await sign_in(client, member.email)
    response = await post_form(client, settings_url(project, f"members/{member.id}/remove/"))
    assert response.status_code == 303
    assert response.headers["location"] == "/projects"
    assert (await client.get(settings_url(project))).status_code == 404


async def test_transferring_ownership(
    signed_in: httpx.AsyncClient, factory: Factory, db: Database, owner: m.User, project: m.Project
) -> None:
    heir = await factory.user("heir@example.org")
    await add_member(db, project, heir, Role.READONLY)
    url = settings_url(project, f"transfer/{heir.id}/")
    confirm = await signed_in.get(url)
    assert confirm.status_code == 200
    assert "Make heir@example.org the owner?" in confirm.text
    response = await post_form(signed_in, url)
    assert response.status_code == 303
    reloaded = await load_project(db, project)
    assert reloaded is not None and reloaded.owner_id == heir.id
    assert await member_roles(db, project) == {"owner@example.org": "manager"}
    # The old owner is now a manager: the owner's actions are refused.
    refused = await post_form(
        signed_in, settings_url(project, "delete/"), {"confirm_name": "Backups"}
    )
    assert refused.status_code == 403
    page = await signed_in.get(settings_url(project))
    assert "Delete this project" not in page.text


async def test_deleting_needs_the_projects_name_and_cascades(
    signed_in: httpx.AsyncClient, factory: Factory, db: Database, project: m.Project
) -> None:
    check = await factory.check(project, status="up")
    channel = await factory.channel(project)
    await factory.assign(check, channel)
    member = await factory.user("member@example.org")
    await add_member(db, project, member, Role.REGULAR)
    url = settings_url(project, "delete/")
    confirm = await signed_in.get(url)
    assert "Type the project&#39;s name to confirm" in confirm.text
    wrong = await post_form(signed_in, url, {"confirm_name": "backups"})
    assert wrong.status_code == 400
    assert "type the project&#39;s name exactly to delete it" in wrong.text
    assert await load_project(db, project) is not None
    response = await post_form(signed_in, url, {"confirm_name": "Backups"})
    assert response.status_code == 303
    assert response.headers["location"] == "/projects"
    assert await load_project(db, project) is None
    async with db.sessionmaker() as session:
        for model in (m.Check, m.Channel, m.Member):
            assert await session.scalar(select(func.count()).select_from(model)) == 0, model
    assert (await signed_in.get(settings_url(project))).status_code == 404


async def test_a_read_only_member_sees_settings_without_write_controls(
    client: httpx.AsyncClient, factory: Factory, db: Database, project: m.Project
) -> None:
    reader = await user_with_password(factory, "reader@example.org")
    await add_member(db, project, reader, Role.READONLY)
    await sign_in(client, reader.email)
    page = await client.get(settings_url(project))
    assert page.status_code == 200
    assert "Your role in this project is <strong>Read-only</strong>" in page.text
    forms = re.findall(r'<form method="post" action="([^"]+)"', page.text)
    # Only signing out, and leaving is a link to its confirmation page.
    assert forms == ["/accounts/logout"]
    for word in ("Rename project", "Create new", "Revoke", "Invite", "Make owner", "Delete this"):
        assert word not in page.text
    assert "Leave project" in page.text


# --- the domain rules, without HTTP --------------------------------------------------------------


async def test_ownership_goes_only_to_a_member(
    factory: Factory, db: Database, owner: m.User, project: m.Project
) -> None:
    outsider = await factory.user("outsider@example.org")
    with pytest.raises(NotFound, match="no such member"):
        async with write_session(db) as session:
            await projects.transfer_ownership(session, project.id, outsider.id)
    with pytest.raises(Conflict, match="already owns"):
        async with write_session(db) as session:
            await projects.transfer_ownership(session, project.id, owner.id)
    reloaded = await load_project(db, project)
    assert reloaded is not None and reloaded.owner_id == owner.id


async def test_a_member_cannot_be_made_owner_by_role(
    factory: Factory, db: Database, project: m.Project
) -> None:
    member = await factory.user("member@example.org")
    await add_member(db, project, member, Role.REGULAR)
    with pytest.raises(ValidationError, match="not a member role"):
        async with write_session(db) as session:
            await projects.change_role(session, project.id, member.id, Role.OWNER)
    assert await member_roles(db, project) == {"member@example.org": "regular"}


async def test_deleting_returns_the_checks_that_went(
    factory: Factory, db: Database, project: m.Project
) -> None:
    first = await factory.check(project)
    second = await factory.check(project)
    async with write_session(db) as session:
        gone = await projects.delete_project(session, project, " Backups ")
    assert sorted(gone) == sorted([first.id, second.id])


async def test_an_invitation_links_to_the_site_under_its_path(
    settings: Settings,
    db: Database,
    clock: FakeClock,
    owner: m.User,
    project: m.Project,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="cronbeat.mail")
    app = app_for(replace(settings, site_root="http://testserver.local/hc"), db, clock)
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 4567))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        await c.get("/hc/accounts/login/")
        token = c.cookies["cronbeat_csrf"]
        login = {"email": owner.email, "password": PASSWORD, "_csrf_token": token}
        assert (await c.post("/hc/accounts/login/", data=login)).status_code == 303
        invite = {"email": "new@example.org", "role": "regular", "_csrf_token": token}
        response = await c.post(f"/hc/projects/{project.code}/settings/members/", data=invite)
        assert response.status_code == 303
    mail_log = "\n".join(r.getMessage() for r in caplog.records)
    assert "http://testserver.local/hc/accounts/login" in mail_log
    assert "/hc/hc/" not in mail_log
