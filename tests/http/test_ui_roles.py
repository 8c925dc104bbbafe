"""The role matrix on the project pages: every role against every action, exact statuses.

Anonymous visitors are sent to sign in, strangers see 404 (a project's existence is not
disclosed), members whose role lacks the right get 403; the rest succeed (200 for a page,
303 for a form). Other areas (checks, integrations) test their own actions the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import update

from app.db import models as m
from app.db.engine import Database, write_session
from app.domain import keys, projects
from app.domain.permissions import Right, Role, has_right
from tests.factories import Factory
from tests.ui import PASSWORD, post_form, sign_in

PASSWORD_HASH = keys.hash_password(PASSWORD)
VIEWERS = ("owner", "manager", "regular", "readonly", "stranger", "anonymous")


@dataclass(frozen=True)
class Action:
    name: str
    method: str  # GET | POST
    path: str  # under /projects/<code>/settings/; {target} is the target member's user id
    right: Right
    data: tuple[tuple[str, str], ...] = ()


ACTIONS = (
    Action("view settings", "GET", "", Right.VIEW),
    Action("rename", "POST", "name/", Right.WRITE, (("name", "Renamed"),)),
    Action("confirm new api key", "GET", "keys/?kind=read-write", Right.WRITE),
    Action("create api key", "POST", "keys/", Right.WRITE, (("kind", "read-write"),)),
    Action("create read-only key", "POST", "keys/", Right.WRITE, (("kind", "read-only"),)),
    Action("confirm revoke key", "GET", "keys/revoke/?kind=read-only", Right.WRITE),
    Action("revoke key", "POST", "keys/revoke/", Right.WRITE, (("kind", "read-only"),)),
    Action("confirm new ping key", "GET", "ping-key/", Right.WRITE),
    Action("create ping key", "POST", "ping-key/", Right.WRITE),
    Action("invite", "POST", "members/", Right.MANAGE_TEAM, (("email", "new@example.org"),)),
    Action(
        "change role",
        "POST",
        "members/{target}/role/",
        Right.MANAGE_TEAM,
        (("role", "readonly"),),
    ),
    Action("confirm remove", "GET", "members/{target}/remove/", Right.MANAGE_TEAM),
    Action("remove", "POST", "members/{target}/remove/", Right.MANAGE_TEAM),
    Action("confirm transfer", "GET", "transfer/{target}/", Right.OWN),
    Action("transfer", "POST", "transfer/{target}/", Right.OWN),
    Action("confirm delete", "GET", "delete/", Right.OWN),
    Action("delete", "POST", "delete/", Right.OWN, (("confirm_name", "Team project"),)),
)


@dataclass
class Team:
    project: m.Project
    users: dict[str, m.User]
    target: m.User  # a regular member the team actions are aimed at


@pytest.fixture
async def team(factory: Factory, db: Database) -> Team:
    users = {name: await factory.user(f"{name}@example.org") for name in VIEWERS[:5]}
    project, _ = await factory.project(users["owner"], "Team project")
    target = await factory.user("target@example.org")
    async with write_session(db) as session:
        # One hash for everybody: argon2 is slow on purpose, and this is a matrix of tests.
        await session.execute(update(m.User).values(password_hash=PASSWORD_HASH))
        for name in ("manager", "regular", "readonly"):
            await projects.invite_member(session, project, users[name].email, Role(name))
        await projects.invite_member(session, project, target.email, Role.REGULAR)
    return Team(project, users, target)


def expected_status(viewer: str, action: Action) -> int:
    if viewer == "anonymous":
        return 303  # to the sign-in page, checked separately
    if viewer == "stranger":
        return 404
    if not has_right(Role(viewer), action.right):
        return 403
    return 200 if action.method == "GET" else 303


async def perform(client: httpx.AsyncClient, team: Team, action: Action) -> httpx.Response:
    path = f"/projects/{team.project.code}/settings/" + action.path.format(target=team.target.id)
    if action.method == "GET":
        return await client.get(path)
    return await post_form(client, path, dict(action.data))


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("action", ACTIONS, ids=[a.name for a in ACTIONS])
async def test_role_matrix(
    client: httpx.AsyncClient, team: Team, viewer: str, action: Action
) -> None:
    if viewer != "anonymous":
        await sign_in(client, team.users[viewer].email)
    response = await perform(client, team, action)
    assert response.status_code == expected_status(viewer, action), response.text[:500]
    if viewer == "anonymous":
        assert response.headers["location"].startswith("/accounts/login?next=")
    elif response.status_code == 403:
        assert "Not allowed" in response.text


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("path", ["/projects/", "/projects/add/"])
async def test_every_signed_in_user_sees_the_list_and_the_new_project_form(
    client: httpx.AsyncClient, team: Team, viewer: str, path: str
) -> None:
    if viewer == "anonymous":
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/accounts/login?next={quote(path.rstrip('/'))}"
        return
    await sign_in(client, team.users[viewer].email)
    response = await client.get(path)
    assert response.status_code == 200
    listed = "Team project" in response.text
    assert listed is (path == "/projects/" and viewer != "stranger")


@pytest.mark.parametrize("viewer", VIEWERS[:5])
async def test_anyone_signed_in_may_create_a_project(
    client: httpx.AsyncClient, team: Team, viewer: str
) -> None:
    await sign_in(client, team.users[viewer].email)
    response = await post_form(client, "/projects/add/", {"name": f"{viewer}'s"})
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("viewer", "status"),
    [("regular", 303), ("readonly", 303), ("manager", 303), ("stranger", 404)],
)
async def test_members_may_leave_whatever_their_role(
    client: httpx.AsyncClient, team: Team, viewer: str, status: int
) -> None:
    user = team.users[viewer]
    await sign_in(client, user.email)
    path = f"/projects/{team.project.code}/settings/members/{user.id}/remove/"
    assert (await client.get(path)).status_code == (200 if status == 303 else status)
    response = await post_form(client, path)
    assert response.status_code == status
    if status == 303:
        assert response.headers["location"] == "/projects"
