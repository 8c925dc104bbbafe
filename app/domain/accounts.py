"""Users and projects: the writes the CLI, the API and the pages share."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import models as m
from app.domain import keys
from app.domain.errors import Conflict, NotFound, ValidationError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@localhost$")
MIN_PASSWORD_LENGTH = 8


def normalize_email(email: str) -> str:
    email = email.strip()
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}" if local else email


def validate_email(email: str) -> str:
    email = normalize_email(email)
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationError("email", f"{email!r} is not a valid email address")
    return email


async def create_user(
    session: AsyncSession, email: str, *, password: str | None = None, superuser: bool = False
) -> m.User:
    email = validate_email(email)
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "password", f"password must be at least {MIN_PASSWORD_LENGTH} characters"
        )
    exists = await session.scalar(
        select(func.count()).select_from(m.User).where(func.lower(m.User.email) == email.lower())
    )
    if exists:
        raise Conflict(f"a user with email {email} already exists")
    user = m.User(
        email=email,
        password_hash=keys.hash_password(password) if password else None,
        is_superuser=superuser,
    )
    user.profile = m.Profile()
    session.add(user)
    await session.flush()
    return user


async def get_user_by_email(session: AsyncSession, email: str) -> m.User:
    user = await session.scalar(
        select(m.User).where(func.lower(m.User.email) == normalize_email(email).lower())
    )
    if user is None:
        raise NotFound(f"no user with email {email}")
    return user


@dataclass(frozen=True)
class ProjectKeys:
    """Keys in plain text: shown once, at creation; only their hashes are stored."""

    api_key: str
    api_key_readonly: str
    ping_key: str
    badge_key: str


async def create_project(
    session: AsyncSession,
    owner: m.User,
    name: str,
    *,
    secret_key: str,
) -> tuple[m.Project, ProjectKeys]:
    name = name.strip()
    if not name:
        raise ValidationError("name", "project name must not be empty")
    if len(name) > 200:
        raise ValidationError("name", "project name is too long (200 characters at most)")
    plain = ProjectKeys(
        api_key=keys.new_api_key(),
        api_key_readonly=keys.new_api_key(read_only=True),
        ping_key=keys.new_ping_key(),
        badge_key=keys.new_badge_key(),
    )
    project = m.Project(
        name=name,
        owner_id=owner.id,
        api_key=keys.hash_api_key(plain.api_key, secret_key),
        api_key_readonly=keys.hash_api_key(plain.api_key_readonly, secret_key),
        ping_key=plain.ping_key,
        badge_key=plain.badge_key,
    )
    session.add(project)
    await session.flush()
    return project, plain
