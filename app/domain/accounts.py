"""Users and projects: the writes the CLI, the API and the pages share."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import models as m
from app.domain import channels, checks, keys, schedules
from app.domain.errors import Conflict, DomainError, NotFound, ValidationError
from app.domain.permissions import Role
from app.domain.reports import next_report_date

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
    if password is not None:
        validate_password(password)
    exists = await session.scalar(
        select(func.count()).select_from(m.User).where(func.lower(m.User.email) == email.lower())
    )
    if exists:
        raise Conflict(f"a user with email {email} already exists")
    user = m.User(
        email=email,
        password_hash=await keys.hash_password_off_loop(password) if password else None,
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


MAX_PROJECT_NAME = 200


def validate_project_name(name: str) -> str:
    """A project's name, stripped; the rule for creating and renaming alike."""
    name = name.strip()
    if not name:
        raise ValidationError("name", "project name must not be empty")
    if len(name) > MAX_PROJECT_NAME:
        raise ValidationError(
            "name", f"project name is too long ({MAX_PROJECT_NAME} characters at most)"
        )
    return name


async def create_project(
    session: AsyncSession,
    owner: m.User,
    name: str,
    *,
    secret_key: str,
) -> tuple[m.Project, ProjectKeys]:
    name = validate_project_name(name)
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


# --- sign-up ------------------------------------------------------------------------------------

FIRST_CHECK_NAME = "My First Check"


def validate_password(password: str, field: str = "password") -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            field, f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
        )
    if len(password) > 1024:  # argon2 would hash a megabyte happily; nobody types that
        raise ValidationError(field, "The password is too long (1024 characters at most).")
    return password


def first_project_name(email: str) -> str:
    local = email.rpartition("@")[0].strip()
    return f"{local[:60]}'s project" if local else "My Project"


async def sign_up(
    session: AsyncSession, email: str, password: str, now: datetime, *, secret_key: str
) -> tuple[m.User, m.Project]:
    """A new account as Healthchecks makes it: the user and their profile, a first project,
    an email channel to their address and "My First Check" sending to it.

    Raises ValidationError (email, password) and Conflict (the email is taken)."""
    user = await create_user(session, email, password=password)
    project, _keys = await create_project(
        session, user, first_project_name(email), secret_key=secret_key
    )
    data: dict[str, Any] = {"name": FIRST_CHECK_NAME}
    try:
        own = {"value": email, "up": True, "down": True}  # the owner's: nothing to verify
        await channels.create_channel(
            session, project.id, "", "email", own, now, verify_email=False
        )
        data["channels"] = "*"
    except ValidationError:
        pass  # an address the email integration refuses (user@localhost): no channel then
    await checks.create_check(session, project.id, data, now)
    return user, project


# --- emailed links: sign-in and password reset -----------------------------------------------

LINK_MAX_AGE = timedelta(hours=1)
_CLOCK_SKEW = timedelta(minutes=1)


class LinkError(DomainError):
    """An emailed link that cannot be used; ``reason`` is invalid | expired | used."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class _LinkKind:
    salt: str
    noun: str  # for messages: "sign-in link"


LOGIN_LINK = _LinkKind("login", "sign-in link")
RESET_LINK = _LinkKind("reset", "password reset link")


def _serializer(secret_key: str, kind: _LinkKind) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=kind.salt)


def _login_stamp(user: m.User) -> str:
    # Signing in changes last_login, so a link carrying the old value works once.
    if user.last_login is None:
        return ""
    return user.last_login.astimezone(UTC).isoformat()


def _password_fingerprint(user: m.User) -> str:
    # Setting a password changes its hash, so a reset link carrying the old one works once.
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def _dumps(secret_key: str, kind: _LinkKind, user_id: int, stamp: str, now: datetime) -> str:
    # The issue time is signed inside the payload and checked against the injected clock
    # (itsdangerous' own timestamp reads time.time(), which tests cannot move).
    payload = {"uid": user_id, "s": stamp, "t": int(now.timestamp())}
    return str(_serializer(secret_key, kind).dumps(payload))


def _loads(secret_key: str, kind: _LinkKind, token: str, now: datetime) -> tuple[int, str]:
    invalid = LinkError("invalid", f"This {kind.noun} is not valid.")
    try:
        payload = _serializer(secret_key, kind).loads(token)
    except BadData:
        raise invalid from None
    if not isinstance(payload, dict):
        raise invalid
    uid, stamp, issued = payload.get("uid"), payload.get("s"), payload.get("t")
    if not isinstance(uid, int) or not isinstance(stamp, str) or not isinstance(issued, int):
        raise invalid
    issued_at = datetime.fromtimestamp(issued, UTC)
    if issued_at > now + _CLOCK_SKEW:
        raise invalid
    if now - issued_at > LINK_MAX_AGE:
        raise LinkError("expired", f"This {kind.noun} has expired.")
    return uid, stamp


async def _link_user(
    session: AsyncSession,
    kind: _LinkKind,
    uid: int,
    stamp: str,
    current: Callable[[m.User], str],
    *,
    lock: bool = False,
) -> m.User:
    # ``lock``: two clicks on one link take turns, and the second sees the first one's change.
    user = await session.get(m.User, uid, with_for_update=lock)
    if user is None or not user.is_active:
        raise LinkError("invalid", f"This {kind.noun} is not valid.")
    if not hmac.compare_digest(current(user), stamp):
        raise LinkError("used", f"This {kind.noun} has already been used.")
    return user


def login_token(user: m.User, now: datetime, *, secret_key: str) -> str:
    """The token of an emailed sign-in link: valid for an hour, until the next sign-in."""
    return _dumps(secret_key, LOGIN_LINK, user.id, _login_stamp(user), now)


async def user_from_login_token(
    session: AsyncSession, token: str, now: datetime, *, secret_key: str
) -> m.User:
    """The user a sign-in link is for; raises LinkError (invalid, expired or used)."""
    uid, stamp = _loads(secret_key, LOGIN_LINK, token, now)
    return await _link_user(session, LOGIN_LINK, uid, stamp, _login_stamp)


async def use_login_token(
    session: AsyncSession, token: str, now: datetime, *, secret_key: str
) -> m.User:
    """Spend a sign-in link (in a write session): its user, whose ``last_login`` is now
    ``now``, so the link cannot work again. Raises LinkError."""
    uid, stamp = _loads(secret_key, LOGIN_LINK, token, now)
    user = await _link_user(session, LOGIN_LINK, uid, stamp, _login_stamp, lock=True)
    user.last_login = now
    await session.flush()
    return user


def reset_token(user: m.User, now: datetime, *, secret_key: str) -> str:
    """The token of a password reset link: valid for an hour, until the password changes."""
    return _dumps(secret_key, RESET_LINK, user.id, _password_fingerprint(user), now)


async def user_from_reset_token(
    session: AsyncSession, token: str, now: datetime, *, secret_key: str
) -> m.User:
    """The user a reset link is for; raises LinkError (invalid, expired or used)."""
    uid, stamp = _loads(secret_key, RESET_LINK, token, now)
    return await _link_user(session, RESET_LINK, uid, stamp, _password_fingerprint)


async def use_reset_token(
    session: AsyncSession, token: str, now: datetime, *, secret_key: str
) -> m.User:
    """The reset link's user, locked for the password change that spends the link."""
    uid, stamp = _loads(secret_key, RESET_LINK, token, now)
    return await _link_user(session, RESET_LINK, uid, stamp, _password_fingerprint, lock=True)


async def find_active_user(session: AsyncSession, email: str) -> m.User | None:
    return await session.scalar(
        select(m.User).where(
            func.lower(m.User.email) == normalize_email(email).lower(), m.User.is_active.is_(True)
        )
    )


# --- profile ------------------------------------------------------------------------------------

REPORT_CHOICES = ("off", "daily", "weekly", "monthly")
# Reminder emails (every down check of every project) and project nag periods, in seconds.
REMINDER_PERIODS = {0: "Off", 3600: "Hourly", 86400: "Daily"}
NAG_PERIODS = {0: "Off", 3600: "Every hour", 86400: "Every day"}


def validate_timezone(tz: str) -> str:
    """The same zone rules as check schedules (renamed zones map to their current name)."""
    tz = tz.strip()
    try:
        return schedules.normalize_timezone(tz)
    except schedules.ScheduleError:
        raise ValidationError("tz", f"{tz!r} is not a known time zone.") from None


def _choice_seconds(raw: str | int, choices: Mapping[int, str], field: str) -> int:
    try:
        seconds = int(raw)
    except (TypeError, ValueError):
        seconds = -1
    if seconds not in choices:
        raise ValidationError(field, "Choose one of the listed options.")
    return seconds


async def profile_of(session: AsyncSession, user_id: int) -> m.Profile:
    profile = await session.scalar(select(m.Profile).where(m.Profile.user_id == user_id))
    if profile is None:
        raise NotFound("no such user")
    return profile


async def update_preferences(
    session: AsyncSession,
    user_id: int,
    *,
    tz: str,
    reports: str,
    reminder_period: str | int,
    now: datetime,
) -> m.Profile:
    """Time zone, report frequency and reminder emails. Raises ValidationError by field."""
    tz = validate_timezone(tz)
    if reports not in REPORT_CHOICES:
        raise ValidationError("reports", "Choose one of the listed options.")
    period = _choice_seconds(reminder_period, REMINDER_PERIODS, "reminder_period")
    profile = await profile_of(session, user_id)
    if (profile.reports, profile.tz) != (reports, tz) or profile.next_report_date is None:
        # Reports go out at 09:00 in the user's zone: a new zone or frequency moves the date.
        profile.next_report_date = next_report_date(reports, tz, now)
    if period != profile.reminder_period:
        # The reminder worker schedules the first one; a stale date would fire early.
        profile.next_reminder_date = None
    profile.tz, profile.reports, profile.reminder_period = tz, reports, period
    await session.flush()
    return profile


async def set_nag_period(
    session: AsyncSession, project_id: int, raw: str | int, now: datetime
) -> list[int]:
    """Set how often a project repeats the down alert of a check that stays down; returns the
    ids of the down checks whose next repeat moved (to one new period from now, or none)."""
    seconds = _choice_seconds(raw, NAG_PERIODS, "nag_period")
    project = await session.get(m.Project, project_id, with_for_update=True)
    if project is None:
        raise NotFound("no such project")
    if project.nag_period == seconds:
        return []
    project.nag_period = seconds
    # Down checks keep their schedule in next_nag_at: move it to the new cadence (turning
    # nags on must start them, turning them off must stop the ones already scheduled).
    following = now + timedelta(seconds=seconds) if seconds else None
    moved = await session.execute(
        update(m.Check)
        .where(m.Check.project_id == project_id, m.Check.status == "down")
        .values(next_nag_at=following)
        .returning(m.Check.id)
    )
    await session.flush()
    return list(moved.scalars())


async def _user(session: AsyncSession, user_id: int) -> m.User:
    user = await session.get(m.User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("no such user")
    return user


async def _require_password(user: m.User, password: str, field: str) -> None:
    if not user.password_hash:
        raise ValidationError(field, "Your account has no password yet: set one first.")
    if not await keys.verify_password_off_loop(password, user.password_hash):
        raise ValidationError(field, "Incorrect password.")


async def change_email(
    session: AsyncSession, user_id: int, new_email: str, password: str
) -> m.User:
    """Needs the current password. Raises ValidationError (new_email, email_password)."""
    user = await _user(session, user_id)
    try:
        email = validate_email(new_email)
    except ValidationError:
        raise ValidationError("new_email", "Enter a valid email address.") from None
    await _require_password(user, password, "email_password")
    if email == user.email:
        raise ValidationError("new_email", "That is already your email address.")
    taken = await session.scalar(
        select(func.count())
        .select_from(m.User)
        .where(func.lower(m.User.email) == email.lower(), m.User.id != user.id)
    )
    if taken:
        raise ValidationError("new_email", "An account with this email already exists.")
    user.email = email
    await session.flush()
    return user


async def change_password(session: AsyncSession, user_id: int, current: str, new: str) -> m.User:
    """Needs the current password when one is set. Raises ValidationError
    (current_password, new_password)."""
    user = await _user(session, user_id)
    if user.password_hash:
        await _require_password(user, current, "current_password")
    validate_password(new, "new_password")
    user.password_hash = await keys.hash_password_off_loop(new)
    await session.flush()
    return user


async def reset_password(session: AsyncSession, user_id: int, new: str) -> m.User:
    """Set a new password without the old one (the emailed reset link is the proof)."""
    user = await _user(session, user_id)
    validate_password(new, "new_password")
    user.password_hash = await keys.hash_password_off_loop(new)
    await session.flush()
    return user


async def projects_with_roles(session: AsyncSession, user_id: int) -> list[tuple[m.Project, Role]]:
    """Every project the user owns or belongs to, with their role, by name."""
    rows = (
        await session.execute(
            select(m.Project, m.Member.role)
            .outerjoin(
                m.Member, (m.Member.project_id == m.Project.id) & (m.Member.user_id == user_id)
            )
            .where((m.Project.owner_id == user_id) | (m.Member.user_id == user_id))
            .order_by(func.lower(m.Project.name), m.Project.id)
        )
    ).all()
    return [
        (project, Role.OWNER if project.owner_id == user_id else Role(role))
        for project, role in rows
    ]
