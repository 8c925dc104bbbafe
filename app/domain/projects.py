"""Projects and their teams: listing with status summaries, rename, keys, members, ownership,
deletion. The pages call these (creation lives in ``app.domain.accounts``, which the CLI and the
API share). Who may call which is decided by the caller from ``app.domain.permissions``; the
rules here are the ones that hold whoever asks (a member is invited once, ownership goes only to
a member, a deleted project must be named).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import mail
from app.config import Settings
from app.db import models as m
from app.domain import accounts, keys
from app.domain.checks import TIMING_COLUMNS
from app.domain.errors import Conflict, NotFound, ValidationError
from app.domain.permissions import MEMBER_ROLES, Role, parse_member_role
from app.domain.status import Timing, displayed_status

# The order summaries are shown in: what needs attention first.
SUMMARY_STATUSES = ("down", "grace", "up", "new", "paused")


# --- the project list ----------------------------------------------------------------------------


@dataclass
class ProjectSummary:
    code: uuid.UUID
    name: str
    role: Role
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def list_projects(session: AsyncSession, user_id: int, now: datetime) -> list[ProjectSummary]:
    """Every project the user owns or belongs to, with how many checks show each status."""
    rows = (
        await session.execute(
            select(m.Project.id, m.Project.code, m.Project.name, m.Project.owner_id, m.Member.role)
            .outerjoin(
                m.Member, (m.Member.project_id == m.Project.id) & (m.Member.user_id == user_id)
            )
            .where(or_(m.Project.owner_id == user_id, m.Member.id.is_not(None)))
            .order_by(func.lower(m.Project.name), m.Project.id)
        )
    ).all()
    summaries = {
        row.id: ProjectSummary(
            code=row.code,
            name=row.name,
            role=Role.OWNER if row.owner_id == user_id else Role(row.role),
        )
        for row in rows
    }
    if summaries:
        await _count_statuses(session, summaries, now)
    return list(summaries.values())


async def _count_statuses(
    session: AsyncSession, summaries: dict[int, ProjectSummary], now: datetime
) -> None:
    ids = list(summaries)
    # A stored new/paused/down check without a run in progress shows its stored status, so
    # the database counts those; only the others need the timing rules (grace is computed).
    settled = (m.Check.status != "up") & m.Check.last_start.is_(None)
    counted = await session.execute(
        select(m.Check.project_id, m.Check.status, func.count())
        .where(m.Check.project_id.in_(ids), settled)
        .group_by(m.Check.project_id, m.Check.status)
    )
    for project_id, status, count in counted:
        summaries[project_id].counts[status] += count
    timed = await session.execute(
        select(m.Check.project_id, *TIMING_COLUMNS).where(m.Check.project_id.in_(ids), ~settled)
    )
    for row in timed:
        values = row._asdict()
        project_id = values.pop("project_id")
        summaries[project_id].counts[displayed_status(Timing(**values), now)] += 1


# --- who may see it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectRole:
    """A project and a user's role in it (the owner's included)."""

    project: m.Project
    role: Role


def _role_query(user_id: int, *also: Any) -> Select[Any]:
    # Every page of a project needs the project and the viewer's role: one row, one query,
    # whatever the page is addressed by (the project's, a check's or a channel's code).
    member = (m.Member.project_id == m.Project.id) & (m.Member.user_id == user_id)
    return select(m.Project, m.Member.role, *also).outerjoin(m.Member, member)


def _project_role(row: Any, user_id: int, missing: str) -> ProjectRole:
    # ``row``: (project, member role, ...) or None when nothing has the code.
    if row is None:
        raise NotFound(missing)
    project, member_role = row[0], row[1]
    if project.owner_id == user_id:
        return ProjectRole(project, Role.OWNER)
    if member_role is None:
        raise NotFound(missing)  # a stranger: the project's existence is not disclosed
    return ProjectRole(project, Role(member_role))


async def project_role(session: AsyncSession, user_id: int, code: uuid.UUID) -> ProjectRole:
    """The project and the user's role in it; NotFound unless the user owns or belongs to it."""
    query = _role_query(user_id).where(m.Project.code == code)
    return _project_role((await session.execute(query)).first(), user_id, "no such project")


async def project_role_by_check(
    session: AsyncSession, user_id: int, check_code: uuid.UUID
) -> ProjectRole:
    """``project_role`` of the check's project, found from the check's code in the same query;
    NotFound for an unknown check too."""
    query = (
        _role_query(user_id)
        .join(m.Check, m.Check.project_id == m.Project.id)
        .where(m.Check.code == check_code)
    )
    return _project_role((await session.execute(query)).first(), user_id, "no such check")


async def project_role_by_channel(
    session: AsyncSession, user_id: int, channel_code: uuid.UUID
) -> tuple[ProjectRole, m.Channel]:
    """``project_role`` of the channel's project, and the channel, in one query; NotFound for
    an unknown channel too."""
    query = (
        _role_query(user_id, m.Channel)
        .join(m.Channel, m.Channel.project_id == m.Project.id)
        .where(m.Channel.code == channel_code)
    )
    row: Any = (await session.execute(query)).first()
    return _project_role(row, user_id, "no such channel"), row[2]


# --- name and keys -------------------------------------------------------------------------------


async def rename_project(session: AsyncSession, project_id: int, name: str) -> str:
    name = accounts.validate_project_name(name)
    await session.execute(update(m.Project).where(m.Project.id == project_id).values(name=name))
    return name


async def create_api_key(
    session: AsyncSession, project_id: int, *, read_only: bool, secret_key: str
) -> str:
    """A new key replacing the current one (which stops working); returned in clear, once."""
    plain = keys.new_api_key(read_only=read_only)
    column = "api_key_readonly" if read_only else "api_key"
    await session.execute(
        update(m.Project)
        .where(m.Project.id == project_id)
        .values({column: keys.hash_api_key(plain, secret_key)})
    )
    return plain


async def revoke_api_key(session: AsyncSession, project_id: int, *, read_only: bool) -> None:
    column = "api_key_readonly" if read_only else "api_key"
    await session.execute(update(m.Project).where(m.Project.id == project_id).values({column: ""}))


async def create_ping_key(session: AsyncSession, project_id: int) -> str:
    """A new ping key: every slug ping URL (and email ping address by slug) of the project
    changes, so the old URLs answer 404 from now on."""
    plain = keys.new_ping_key()
    await session.execute(
        update(m.Project).where(m.Project.id == project_id).values(ping_key=plain)
    )
    return plain


# --- the team ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamMember:
    user_id: int
    email: str
    role: Role


async def list_team(session: AsyncSession, project: m.Project) -> list[TeamMember]:
    """The owner first, then the members by email."""
    owner_email = await session.scalar(select(m.User.email).where(m.User.id == project.owner_id))
    rows = await session.execute(
        select(m.User.id, m.User.email, m.Member.role)
        .join(m.Member, m.Member.user_id == m.User.id)
        .where(m.Member.project_id == project.id)
        .order_by(func.lower(m.User.email))
    )
    team = [TeamMember(project.owner_id, owner_email or "", Role.OWNER)]
    team += [TeamMember(row.id, row.email, Role(row.role)) for row in rows]
    return team


def parse_role(value: str) -> Role:
    """A member role from a form value; the owner is not one."""
    try:
        return parse_member_role(value)
    except ValueError:
        choices = ", ".join(r.value for r in MEMBER_ROLES)
        raise ValidationError("role", f"role must be one of {choices}") from None


@dataclass(frozen=True)
class Invitation:
    user: m.User
    new_user: bool  # no account existed: they sign in with an emailed link


async def invite_member(
    session: AsyncSession, project: m.Project, email: str, role: Role
) -> Invitation:
    """Add a member by email, creating a passwordless account if nobody has that address."""
    email = accounts.validate_email(email)
    if role not in MEMBER_ROLES:
        raise ValidationError("role", f"{role.value} is not a member role")
    new_user = False
    try:
        user = await accounts.get_user_by_email(session, email)
    except NotFound:
        user = await accounts.create_user(session, email)
        new_user = True
    if user.id == project.owner_id or await _membership(session, project.id, user.id):
        raise ValidationError("email", f"{user.email} is already a member of this project")
    session.add(m.Member(project_id=project.id, user_id=user.id, role=role.value))
    try:
        await session.flush()
    except IntegrityError:  # the same person invited twice at the same moment
        raise ValidationError(
            "email", f"{user.email} is already a member of this project"
        ) from None
    return Invitation(user=user, new_user=new_user)


async def _membership(session: AsyncSession, project_id: int, user_id: int) -> m.Member | None:
    found: m.Member | None = await session.scalar(
        select(m.Member).where(m.Member.project_id == project_id, m.Member.user_id == user_id)
    )
    return found


async def _require_membership(session: AsyncSession, project_id: int, user_id: int) -> m.Member:
    member = await _membership(session, project_id, user_id)
    if member is None:
        raise NotFound("no such member in this project")
    return member


async def change_role(session: AsyncSession, project_id: int, user_id: int, role: Role) -> None:
    if role not in MEMBER_ROLES:
        raise ValidationError("role", f"{role.value} is not a member role")
    member = await _require_membership(session, project_id, user_id)
    member.role = role.value
    await session.flush()


async def remove_member(session: AsyncSession, project_id: int, user_id: int) -> None:
    """Remove a member (or let one leave). The owner is not a member and cannot be removed."""
    member = await _require_membership(session, project_id, user_id)
    await session.delete(member)
    await session.flush()


async def transfer_ownership(session: AsyncSession, project_id: int, new_owner_id: int) -> None:
    """Hand the project to one of its members; the old owner stays on as a manager."""
    # Locked, so two concurrent transfers cannot both demote the same old owner.
    project = await session.scalar(
        select(m.Project).where(m.Project.id == project_id).with_for_update()
    )
    if project is None:
        raise NotFound("no such project")
    if new_owner_id == project.owner_id:
        raise Conflict("this user already owns the project")
    member = await _require_membership(session, project.id, new_owner_id)
    old_owner_id = project.owner_id
    await session.delete(member)
    project.owner_id = new_owner_id
    await session.flush()
    session.add(m.Member(project_id=project.id, user_id=old_owner_id, role=Role.MANAGER.value))
    await session.flush()


async def delete_project(session: AsyncSession, project: m.Project, confirmation: str) -> list[int]:
    """Delete the project, its checks, pings, flips and channels (database cascades); returns
    the ids of the checks that went with it. The caller must type the project's name: a cheap
    guard against deleting the wrong one."""
    if confirmation.strip() != project.name.strip():
        raise ValidationError("confirm_name", "type the project's name exactly to delete it")
    check_ids = list(
        await session.scalars(select(m.Check.id).where(m.Check.project_id == project.id))
    )
    await session.execute(delete(m.Project).where(m.Project.id == project.id))
    return check_ids


def invitation_email(
    settings: Settings,
    *,
    inviter: str,
    project_name: str,
    to: str,
    login_url: str,
    new_user: bool,
) -> EmailMessage:
    how = (
        "You have no password yet: on the sign-in page, choose “Email me a sign-in link”."
        if new_user
        else "Sign in with your usual email address."
    )
    text = (
        f"Hello,\n\n{inviter} invited you to the project “{project_name}” on "
        f"{settings.site_name}.\n\nSign in here: {login_url}\n{how}\n"
    )
    subject = f"You are invited to “{project_name}” on {settings.site_name}"
    return mail.build_message(settings, to, subject, text)
