"""A user's role in a project, found from the project's, a check's or a channel's code."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from app.db import models as m
from app.db.engine import Database, write_session
from app.domain import projects
from app.domain.errors import NotFound
from app.domain.permissions import Role
from tests.factories import Factory


@dataclass
class Team:
    project: m.Project
    check: m.Check
    channel: m.Channel
    users: dict[str, m.User]


@pytest.fixture
async def team(factory: Factory, db: Database) -> Team:
    users = {name: await factory.user(f"{name}@example.org") for name in Role}
    users["stranger"] = await factory.user("stranger@example.org")
    project, _ = await factory.project(users[Role.OWNER])
    async with write_session(db) as session:
        for role in (Role.MANAGER, Role.REGULAR, Role.READONLY):
            await projects.invite_member(session, project, users[role].email, role)
    # Another project's check and channel must not lend their project to anyone.
    other, _ = await factory.project(users["stranger"])
    await factory.check(other)
    await factory.channel(other)
    check = await factory.check(project)
    channel = await factory.channel(project)
    return Team(project, check, channel, users)


async def by_project(db: Database, team: Team, user: m.User) -> projects.ProjectRole:
    async with db.sessionmaker() as session:
        return await projects.project_role(session, user.id, team.project.code)


async def by_check(db: Database, team: Team, user: m.User) -> projects.ProjectRole:
    async with db.sessionmaker() as session:
        return await projects.project_role_by_check(session, user.id, team.check.code)


async def by_channel(db: Database, team: Team, user: m.User) -> projects.ProjectRole:
    async with db.sessionmaker() as session:
        found, channel = await projects.project_role_by_channel(session, user.id, team.channel.code)
    assert channel.id == team.channel.id and channel.kind == team.channel.kind
    return found


LOOKUPS = [by_project, by_check, by_channel]


@pytest.mark.parametrize("lookup", LOOKUPS)
@pytest.mark.parametrize("role", list(Role))
async def test_it_finds_the_project_and_the_role(db, team, lookup, role) -> None:
    found = await lookup(db, team, team.users[role])
    assert found.project.id == team.project.id
    assert found.role is role


@pytest.mark.parametrize("lookup", LOOKUPS)
async def test_a_stranger_is_told_nothing_exists(db, team, lookup) -> None:
    with pytest.raises(NotFound):
        await lookup(db, team, team.users["stranger"])


async def test_an_unknown_code_is_not_found(db: Database, team: Team) -> None:
    owner = team.users[Role.OWNER].id
    async with db.sessionmaker() as session:
        with pytest.raises(NotFound):
            await projects.project_role(session, owner, uuid.uuid4())
        with pytest.raises(NotFound):
            await projects.project_role_by_check(session, owner, uuid.uuid4())
        with pytest.raises(NotFound):
            await projects.project_role_by_channel(session, owner, uuid.uuid4())
