"""Checks: validation, create/update/pause/resume/delete, lookups, and the API's JSON.

The management API and the pages both go through these functions, so every rule (field
types and bounds, the ``unique`` upsert, the check limit, channel assignment, pause and
resume) lives here once. Reference: healthchecks-detail.md §2.5-2.7 and §3.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import models as m
from app.domain import schedules
from app.domain import status as status_rules
from app.domain.errors import BadRequest, Conflict, LimitReached, NotFound, ValidationError

# Bounds of timeout and grace, in seconds (reference §2.2).
MIN_SECONDS = 60
MAX_SECONDS = 31_536_000
# The pings API returns at most this many, whatever the ping log limit (reference §3.11).
MAX_PINGS_LISTED = 1000
# A duration this long or longer is not reported for a ping (reference §1.6).
MAX_DURATION = timedelta(hours=72)
UNIQUE_FIELDS = ("name", "slug", "tags", "timeout", "grace")

DEFAULTS: dict[str, Any] = {
    "name": "",
    "slug": "",
    "tags": "",
    "desc": "",
    "kind": "simple",
    "timeout": 86400,
    "grace": 3600,
    "schedule": "* * * * *",
    "tz": "UTC",
    "status": "new",
    "n_pings": 0,
    "methods": "",
    "manual_resume": False,
    "filter_subject": False,
    "filter_body": False,
    "filter_http_body": False,
    "filter_default_fail": False,
    "start_kw": "",
    "success_kw": "",
    "failure_kw": "",
}


# --- the check's JSON ----------------------------------------------------------------------------


# What app.domain.status needs to evaluate a check: load these to call its functions.
TIMING_COLUMNS = (
    m.Check.kind,
    m.Check.timeout,
    m.Check.grace,
    m.Check.schedule,
    m.Check.tz,
    m.Check.status,
    m.Check.last_ping,
    m.Check.last_start,
)


def unique_key(code: Any) -> str:
    """sha1 of the first 16 hex digits of the uuid: a stable id that reveals no ping URL."""
    return hashlib.sha1(code.hex[:16].encode(), usedforsecurity=False).hexdigest()


def isoformat(value: datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() if value else None


def check_to_dict(
    check: Any,
    settings: Settings,
    now: datetime,
    *,
    readonly: bool = False,
    version: int = 3,
    channel_codes: list[str] | None = None,
) -> dict[str, Any]:
    """The check's API JSON; ``check`` is a Check row (or anything with its attributes).

    A simple check read with the read-write key has 29 keys (30 with ``last_duration``).
    """
    started = check.last_start is not None
    displayed = status_rules.displayed_status(check, now, with_started=version == 1)
    result: dict[str, Any] = {
        "name": check.name,
        "slug": check.slug,
        "tags": check.tags,
        "desc": check.desc,
        "grace": int(check.grace),
        "n_pings": check.n_pings,
        "status": displayed,
        "started": started,
        "last_ping": isoformat(check.last_ping),
        "next_ping": isoformat(status_rules.grace_start(check)),
        "manual_resume": check.manual_resume,
        "methods": check.methods,
        "subject": check.success_kw if check.filter_subject else "",
        "subject_fail": check.failure_kw if check.filter_subject else "",
        "start_kw": check.start_kw,
        "success_kw": check.success_kw,
        "failure_kw": check.failure_kw,
        "filter_subject": check.filter_subject,
        "filter_body": check.filter_body,
        "filter_http_body": check.filter_http_body,
        "filter_default_fail": check.filter_default_fail,
        "badge_url": f"{settings.site_root}/b/2/{check.badge_key}.svg",
    }
    if check.last_duration:
        result["last_duration"] = int(check.last_duration)
    if readonly:
        result["unique_key"] = unique_key(check.code)
    else:
        update_url = f"{settings.site_root}/api/v{version}/checks/{check.code}"
        result.update(
            uuid=str(check.code),
            ping_url=f"{settings.ping_endpoint}{check.code}",
            update_url=update_url,
            pause_url=f"{update_url}/pause",
            resume_url=f"{update_url}/resume",
            channels=",".join(sorted(channel_codes or [])),
        )
    if check.kind == "simple":
        result["timeout"] = int(check.timeout)
    else:
        result["schedule"] = check.schedule
        result["tz"] = check.tz
    return result


def tags_list(tags: str) -> list[str]:
    """Healthchecks' tags_list(): split on spaces, strip, drop empties."""
    return [tag.strip() for tag in tags.split(" ") if tag.strip()]


# --- validation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    """One field of Healthchecks' check schema (a subset of JSON Schema)."""

    type: str  # string | number | boolean | enum | array
    max_length: int | None = None
    pattern: re.Pattern[str] | None = None
    format: str | None = None  # schedule | timezone
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] = ()
    items: _Rule | None = None


_STRING = _Rule("string")
_BOOLEAN = _Rule("boolean")
_KEYWORDS = _Rule("string", max_length=200)
_SECONDS = _Rule("number", minimum=MIN_SECONDS, maximum=MAX_SECONDS)

# In schema order: when several fields are wrong, the first one here is reported.
_SCHEMA: dict[str, _Rule] = {
    "name": _Rule("string", max_length=100),
    "slug": _Rule("string", max_length=100, pattern=re.compile(r"^[a-z0-9-_]*$")),
    "desc": _STRING,
    "tags": _Rule("string", max_length=500),
    "timeout": _SECONDS,
    "grace": _SECONDS,
    "schedule": _Rule("string", max_length=100, format="schedule"),
    "tz": _Rule("string", format="timezone"),
    "manual_resume": _BOOLEAN,
    "methods": _Rule("enum", enum=("", "POST")),
    "channels": _STRING,
    "subject": _KEYWORDS,
    "subject_fail": _KEYWORDS,
    "start_kw": _KEYWORDS,
    "success_kw": _KEYWORDS,
    "failure_kw": _KEYWORDS,
    "filter_subject": _BOOLEAN,
    "filter_body": _BOOLEAN,
    "filter_http_body": _BOOLEAN,
    "filter_default_fail": _BOOLEAN,
    "unique": _Rule("array", items=_Rule("enum", enum=UNIQUE_FIELDS)),
}

# NUL cannot be stored in a PostgreSQL text column and lone surrogates cannot be encoded:
# refused on every database alike, rather than failing in the driver.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _validate(value: Any, rule: _Rule, name: str) -> Any:
    """The value, normalised (time zones), or ValidationError with Healthchecks' message."""
    if rule.type == "string":
        if not isinstance(value, str):
            raise ValidationError(name, f"{name} is not a string")
        if rule.max_length is not None and len(value) > rule.max_length:
            raise ValidationError(name, f"{name} is too long")
        if rule.pattern is not None and not rule.pattern.match(value):
            raise ValidationError(name, f"{name} does not match pattern")
        if rule.format == "schedule" and not _valid_schedule(value):
            raise ValidationError(name, f"{name} is not a valid cron or OnCalendar expression")
        if rule.format == "timezone":
            try:
                value = schedules.normalize_timezone(value)
            except schedules.ScheduleError:
                raise ValidationError(name, f"{name} is not a valid timezone") from None
        if _UNSTORABLE.search(value):
            raise ValidationError(name, f"{name} contains invalid characters")
    elif rule.type == "number":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError(name, f"{name} is not a number")
        if rule.minimum is not None and value < rule.minimum:
            raise ValidationError(name, f"{name} is too small")
        if rule.maximum is not None and value > rule.maximum:
            raise ValidationError(name, f"{name} is too large")
    elif rule.type == "boolean":
        if not isinstance(value, bool):
            raise ValidationError(name, f"{name} is not a boolean")
    elif rule.type == "array":
        if not isinstance(value, list):
            raise ValidationError(name, f"{name} is not an array")
        assert rule.items is not None
        return [_validate(item, rule.items, f"an item in '{name}'") for item in value]
    if rule.type == "enum" and not (isinstance(value, str) and value in rule.enum):
        raise ValidationError(name, f"{name} has unexpected value")
    return value


def _valid_schedule(schedule: str) -> bool:
    try:
        schedules.validate_schedule(schedule)
    # The calendar libraries may fail in unplanned ways on odd input: still just invalid.
    except Exception:
        return False
    return True


def slugify(value: str) -> str:
    """Django's slugify: ASCII-fold, drop what is not a word character, space or hyphen,
    lowercase, and turn runs of spaces and hyphens into one hyphen."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value.lower())
    return re.sub(r"[-\s]+", "-", value).strip("-_")


def validate_check_fields(data: Mapping[str, Any], *, version: int) -> dict[str, Any]:
    """The fields present in ``data``, validated and normalised; raises ValidationError whose
    message is what follows "json validation error: " in Healthchecks.

    Unknown keys are ignored. API v1 and v2 derive the slug from the name; an explicit
    ``slug`` still wins. ``tz`` comes back under its current IANA name.
    """
    cleaned: dict[str, Any] = {}
    for name, rule in _SCHEMA.items():
        if name in data:
            cleaned[name] = _validate(data[name], rule, name)
    if version < 3 and "name" in cleaned and "slug" not in cleaned:
        cleaned["slug"] = slugify(cleaned["name"])[:100]
    return cleaned


# --- lookups -------------------------------------------------------------------------------------


async def get_check(session: AsyncSession, code: uuid.UUID, *, for_update: bool = False) -> m.Check:
    """The check with this uuid, in whichever project; raises NotFound.

    Callers check the project themselves (the API answers 403 for another project's check).
    ``for_update`` locks the row (PostgreSQL) so a concurrent ping cannot interleave.
    """
    query = select(m.Check).where(m.Check.code == code)
    if for_update:
        query = query.with_for_update(of=m.Check)
    check = await session.scalar(query)
    if check is None:
        raise NotFound(f"no check {code}")
    return check


async def get_check_by_unique_key(
    session: AsyncSession, project_id: int, key: str, *, for_update: bool = False
) -> m.Check:
    """The project's check whose unique_key is ``key``; raises NotFound."""
    rows = await session.execute(
        select(m.Check.id, m.Check.code).where(m.Check.project_id == project_id)
    )
    for check_id, code in rows.all():
        if unique_key(code) == key:
            query = select(m.Check).where(m.Check.id == check_id)
            if for_update:
                query = query.with_for_update(of=m.Check)
            check = await session.scalar(query)
            if check is not None:
                return check
    raise NotFound(f"no check with unique key {key}")


async def list_checks(
    session: AsyncSession,
    project_id: int,
    *,
    tags: Iterable[str] = (),
    slug: str | None = None,
) -> list[m.Check]:
    """The project's checks by creation order; with ``tags``, only checks having all of them
    (whole tags); with ``slug``, only checks with exactly that slug."""
    query = select(m.Check).where(m.Check.project_id == project_id).order_by(m.Check.id)
    if slug:
        query = query.where(m.Check.slug == slug)
    wanted = set(tags)
    found = (await session.scalars(query)).all()
    return [check for check in found if wanted.issubset(tags_list(check.tags))]


async def channel_codes(session: AsyncSession, check_ids: Sequence[int]) -> dict[int, list[str]]:
    """The uuids (as strings) of the channels assigned to each check."""
    result: dict[int, list[str]] = {check_id: [] for check_id in check_ids}
    if not check_ids:
        return result
    rows = await session.execute(
        select(m.check_channels.c.check_id, m.Channel.code)
        .join(m.Channel, m.Channel.id == m.check_channels.c.channel_id)
        .where(m.check_channels.c.check_id.in_(check_ids))
    )
    for check_id, code in rows.all():
        result[check_id].append(str(code))
    return result


async def project_ping_log_limit(session: AsyncSession, project_id: int) -> int:
    limit = await session.scalar(select(m.Project.ping_log_limit).where(m.Project.id == project_id))
    return int(limit or 0)


# --- create and update ---------------------------------------------------------------------------


async def _find_unique(
    session: AsyncSession, project_id: int, data: Mapping[str, Any], cleaned: dict[str, Any]
) -> m.Check | None:
    fields: list[str] = cleaned.get("unique") or []
    # Only when the request gives every listed field (reference §3.7).
    if not fields or any(field not in data for field in fields):
        return None
    query = select(m.Check).where(m.Check.project_id == project_id)
    for field in fields:
        query = query.where(getattr(m.Check, field) == cleaned[field])
    found: m.Check | None = await session.scalar(
        query.order_by(m.Check.id).limit(1).with_for_update(of=m.Check)
    )
    return found


async def _check_limit(session: AsyncSession, project_id: int) -> None:
    """Raise LimitReached when the project's owner already has check_limit checks or more."""
    row = (
        await session.execute(
            select(m.Project.owner_id, m.Profile.check_limit)
            .join(m.Profile, m.Profile.user_id == m.Project.owner_id, isouter=True)
            .where(m.Project.id == project_id)
        )
    ).one()
    owner_id: int = row[0]
    limit: int | None = row[1]
    if limit is None:
        return
    used = await session.scalar(
        select(func.count())
        .select_from(m.Check)
        .join(m.Project, m.Project.id == m.Check.project_id)
        .where(m.Project.owner_id == owner_id)
    )
    if limit - (used or 0) <= 0:
        raise LimitReached("check limit reached")


async def create_check(
    session: AsyncSession,
    project_id: int,
    data: Mapping[str, Any],
    now: datetime,
    *,
    version: int = 3,
) -> tuple[m.Check, bool]:
    """Create a check from API fields; returns (check, True).

    With ``unique`` and a matching check in the project, that check is updated with the
    given fields instead and returned as (check, False). Raises ValidationError,
    BadRequest (channels) and LimitReached (the owner's check limit).
    """
    cleaned = validate_check_fields(data, version=version)
    # Creators in one project take turns (a row lock on PostgreSQL; SQLite has one writer):
    # two concurrent upserts cannot both create, nor two creates both pass the check limit.
    await session.execute(
        select(m.Project.id).where(m.Project.id == project_id).with_for_update(of=m.Project)
    )
    existing = await _find_unique(session, project_id, data, cleaned)
    if existing is not None:
        return await _apply(session, existing, cleaned), False
    await _check_limit(session, project_id)
    channel_ids = await _resolve_channels(session, project_id, cleaned)
    check = m.Check(
        code=uuid.uuid4(),
        badge_key=uuid.uuid4(),
        project_id=project_id,
        created=now,
        last_ping=None,
        last_start=None,
        last_start_rid=None,
        last_duration=None,
        alert_after=None,
        next_nag_at=None,
        **DEFAULTS,
    )
    _set_fields(check, cleaned)
    session.add(check)
    await session.flush()
    if channel_ids is not None:
        await _assign_channels(session, check, channel_ids)
    return check, True


async def update_check(
    session: AsyncSession,
    check: m.Check,
    data: Mapping[str, Any],
    now: datetime,
    *,
    version: int = 3,
) -> m.Check:
    """Change the fields present in ``data``; the others stay. Raises ValidationError and
    BadRequest (channels). ``now`` is unused today and kept for symmetry with create."""
    del now
    cleaned = validate_check_fields(data, version=version)
    return await _apply(session, check, cleaned)


async def _apply(session: AsyncSession, check: m.Check, cleaned: dict[str, Any]) -> m.Check:
    # Channels first: a bad identifier must leave the check untouched.
    channel_ids = await _resolve_channels(session, check.project_id, cleaned)
    _set_fields(check, cleaned)
    await session.flush()
    if channel_ids is not None:
        await _assign_channels(session, check, channel_ids)
    return check


_PLAIN_FIELDS = (
    "name",
    "slug",
    "tags",
    "desc",
    "grace",
    "tz",
    "manual_resume",
    "methods",
)
_FILTER_FIELDS = (
    "start_kw",
    "success_kw",
    "failure_kw",
    "filter_subject",
    "filter_body",
    "filter_http_body",
    "filter_default_fail",
)


def _set_fields(check: m.Check, cleaned: dict[str, Any]) -> None:
    for field in _PLAIN_FIELDS:
        if field in cleaned:
            setattr(check, field, cleaned[field])
    if "timeout" in cleaned:
        check.timeout = cleaned["timeout"]
    if "schedule" in cleaned:
        check.schedule = cleaned["schedule"]
        check.kind = schedules.schedule_kind(check.schedule)
    elif "timeout" in cleaned:
        check.kind = "simple"
    # The deprecated subject fields, then the explicit keywords and flags, which win.
    if "subject" in cleaned:
        check.success_kw = cleaned["subject"]
        check.filter_subject = bool(check.success_kw or check.failure_kw)
    if "subject_fail" in cleaned:
        check.failure_kw = cleaned["subject_fail"]
        check.filter_subject = bool(check.success_kw or check.failure_kw)
    for field in _FILTER_FIELDS:
        if field in cleaned:
            setattr(check, field, cleaned[field])
    check.alert_after = status_rules.alert_after(check)


async def _resolve_channels(
    session: AsyncSession, project_id: int, cleaned: dict[str, Any]
) -> list[int] | None:
    """The channel ids ``channels`` names; None when the key is absent (leave them be).

    ``"*"`` is every channel of the project, ``""`` none, otherwise a comma-separated list
    of identifiers, each a channel's uuid or its name (a name that looks like a uuid is
    still matched by name; an identifier matching two channels is an error). Raises
    BadRequest with Healthchecks' messages.
    """
    if "channels" not in cleaned:
        return None
    spec: str = cleaned["channels"]
    if spec == "":
        return []
    available = (
        await session.execute(
            select(m.Channel.id, m.Channel.code, m.Channel.name)
            .where(m.Channel.project_id == project_id)
            .order_by(m.Channel.id)
        )
    ).all()
    if spec == "*":
        return [row.id for row in available]
    chosen: list[int] = []
    for identifier in spec.split(","):
        if identifier == "":
            raise BadRequest("empty channel identifier")
        matches = [row.id for row in available if identifier in (str(row.code), row.name)]
        if not matches:
            raise BadRequest(f"invalid channel identifier: {identifier}")
        if len(matches) > 1:
            raise BadRequest(f"non-unique channel identifier: {identifier}")
        if matches[0] not in chosen:
            chosen.append(matches[0])
    return chosen


async def _assign_channels(session: AsyncSession, check: m.Check, channel_ids: list[int]) -> None:
    await session.execute(delete(m.check_channels).where(m.check_channels.c.check_id == check.id))
    if channel_ids:
        await session.execute(
            insert(m.check_channels),
            [{"check_id": check.id, "channel_id": channel_id} for channel_id in channel_ids],
        )


# --- pause, resume, delete -----------------------------------------------------------------------


def _record_flip(session: AsyncSession, check: m.Check, new_status: str, now: datetime) -> None:
    """A flip kept for downtime history only: marked processed, so it notifies nobody."""
    session.add(
        m.Flip(
            check_id=check.id,
            created=now,
            processed=now,
            old_status=check.status,
            new_status=new_status,
            reason="",
        )
    )


async def pause_check(session: AsyncSession, check: m.Check, now: datetime) -> m.Check:
    """Pause: no alerts until a ping or a resume. Pausing a paused check changes nothing."""
    if check.status == "paused":
        return check
    _record_flip(session, check, "paused", now)
    check.status = "paused"
    check.last_start = None
    check.alert_after = None
    check.next_nag_at = None
    await session.flush()
    return check


async def resume_check(session: AsyncSession, check: m.Check, now: datetime) -> m.Check:
    """Resume a paused check as new (as if never pinged); raises Conflict if not paused."""
    if check.status != "paused":
        raise Conflict("check is not paused")
    _record_flip(session, check, "new", now)
    check.status = "new"
    check.last_ping = None
    check.last_start = None
    check.alert_after = None
    check.next_nag_at = None
    await session.flush()
    return check


async def delete_check(session: AsyncSession, check: m.Check) -> None:
    """Delete the check; the database cascades to its pings, flips, notifications and
    channel assignments (a Core delete, so nothing is loaded)."""
    await session.execute(delete(m.Check).where(m.Check.id == check.id))


# --- pings and flips -----------------------------------------------------------------------------


async def list_pings(session: AsyncSession, check: m.Check) -> list[m.Ping]:
    """The most recent min(ping log limit, 1000) pings, newest first."""
    limit = min(await project_ping_log_limit(session, check.project_id), MAX_PINGS_LISTED)
    if limit <= 0:
        return []
    rows = await session.scalars(
        select(m.Ping).where(m.Ping.check_id == check.id).order_by(m.Ping.n.desc()).limit(limit)
    )
    return list(rows.all())


def ping_duration(ping: m.Ping) -> float | None:
    """Seconds since the start this ping closed, to 2 decimals; None if unknown or ≥ 72 h."""
    if ping.duration is None or ping.duration >= MAX_DURATION.total_seconds():
        return None
    return round(ping.duration, 2)


MAX_PING_NUMBER = 2**31 - 1  # the column is a 32-bit integer


async def get_ping_body(session: AsyncSession, check: m.Check, n: int) -> bytes:
    """The raw body of ping ``n``; NotFound if pruned (outside the ping log window), missing
    or empty."""
    limit = await project_ping_log_limit(session, check.project_id)
    if n <= check.n_pings - limit or not 0 < n <= MAX_PING_NUMBER:
        raise NotFound(f"no ping {n}")
    body = await session.scalar(
        select(m.Ping.body).where(m.Ping.check_id == check.id, m.Ping.n == n)
    )
    if not body:
        raise NotFound(f"no body for ping {n}")
    return bytes(body)


async def list_flips(
    session: AsyncSession,
    check: m.Check,
    now: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    seconds: int | None = None,
) -> list[m.Flip]:
    """The check's status changes, newest first: created ≥ start, < end, and within the last
    ``seconds`` (0 or None: no limit). Nag reminders are not status changes and are left out."""
    query = select(m.Flip).where(m.Flip.check_id == check.id, m.Flip.reason != "nag")
    if start is not None:
        query = query.where(m.Flip.created >= start)
    if end is not None:
        query = query.where(m.Flip.created < end)
    if seconds:
        query = query.where(m.Flip.created >= now - timedelta(seconds=seconds))
    rows = await session.scalars(query.order_by(m.Flip.created.desc(), m.Flip.id.desc()))
    return list(rows.all())


def flip_to_dict(flip: m.Flip) -> dict[str, Any]:
    return {"timestamp": isoformat(flip.created), "up": 1 if flip.new_status == "up" else 0}
