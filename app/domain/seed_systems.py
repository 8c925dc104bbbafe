"""The monitoring tools Cronbeat replaces in place: Heartbeat Central and django-health-check-job.

Their users migrate by pointing a URL at Cronbeat, so their wire formats are kept here and
translated onto checks and pings:

- Heartbeat Central's *applications* are simple checks (``expected_interval`` = timeout,
  ``grace_period`` = grace, ``is_active`` = not paused, ``uuid`` = the check's code);
- django-health-check-job's sync payload (``POST /v1/metrics``) is a batch of results, each a
  success or fail ping of the check whose slug is the slugified result name, created on first
  sight. The whole batch is one transaction: it is applied completely or not at all.
"""

from __future__ import annotations

import dataclasses
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db import models as m
from app.db.engine import Database, write_transaction
from app.domain import pings
from app.domain.checks import MIN_SECONDS, isoformat, slugify
from app.domain.errors import Conflict, LimitReached, NotFound, ValidationError
from app.domain.pings import PingRequest

NAME_MAX_LENGTH = 100  # the check's name and slug columns


# --- django-health-check-job ------------------------------------------------------------------


class UnknownSyncApp(NotFound):
    def __init__(self) -> None:
        super().__init__("unknown sync_app_id")


class AmbiguousSlug(Conflict):
    """Two checks of the project have the slug a result names: which one is meant is unknown."""


@dataclass(frozen=True, slots=True)
class HealthResult:
    """One ``checks[]`` item: a django-health-check plugin's outcome."""

    name: str
    slug: str
    ok: bool  # status 1
    message: str


@dataclass(frozen=True, slots=True)
class MetricsPayload:
    # ``uuid`` and ``timestamp`` identify the run on the sender's side; they are validated but
    # not stored: pings are dated when received, so a sender's clock cannot reorder them.
    uuid: str
    timestamp: datetime
    sync_app_id: str
    results: tuple[HealthResult, ...]


@dataclass(frozen=True, slots=True)
class MetricsOutcome:
    applied: int
    created: tuple[str, ...]  # slugs of the checks created, in payload order
    check_ids: tuple[int, ...] = ()  # every check pinged


def _required(body: Mapping[str, Any], field: str, label: str | None = None) -> Any:
    if field not in body or body[field] is None:
        raise ValidationError(field, f"{label or field} is required")
    return body[field]


# NUL cannot be stored in a PostgreSQL text column and lone surrogates cannot be encoded.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _string(body: Mapping[str, Any], field: str, label: str | None = None) -> str:
    value = _required(body, field, label)
    if not isinstance(value, str):
        raise ValidationError(field, f"{label or field} must be a string")
    if _UNSTORABLE.search(value):
        raise ValidationError(field, f"{label or field} contains invalid characters")
    return value


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 date-time (naive means UTC) or a unix time in seconds."""
    error = ValidationError("timestamp", "timestamp must be an ISO 8601 date-time or a unix time")
    if isinstance(value, bool):
        raise error
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise error
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise error from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise error from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise error


def _health_result(item: Any, index: int) -> HealthResult:
    label = f"checks[{index}]"
    if not isinstance(item, dict):
        raise ValidationError("checks", f"{label} must be an object")
    name = _string(item, "name", f"{label}.name")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError("checks", f"{label}.name is longer than {NAME_MAX_LENGTH} characters")
    slug = slugify(name)
    if not slug:
        raise ValidationError("checks", f"{label}.name must contain a letter or a digit")
    status = item.get("status")
    # JSON true/false are not 1/0: bool is an int subclass in Python, so test for it first.
    if isinstance(status, bool) or status not in (0, 1):
        raise ValidationError("checks", f"{label}.status must be 0 or 1")
    message = _string(item, "message", f"{label}.message")
    return HealthResult(name=name, slug=slug, ok=status == 1, message=message)


def parse_metrics(body: Any) -> MetricsPayload:
    """Validate a sync payload; raises ValidationError naming the first problem found."""
    if not isinstance(body, dict):
        raise ValidationError("body", "payload must be a JSON object")
    run_uuid = _string(body, "uuid")
    timestamp = parse_timestamp(_required(body, "timestamp"))
    sync_app_id = _string(body, "sync_app_id")
    if not sync_app_id:
        raise ValidationError("sync_app_id", "sync_app_id is required")
    items = _required(body, "checks")
    if not isinstance(items, list):
        raise ValidationError("checks", "checks must be a list")
    results = tuple(_health_result(item, index) for index, item in enumerate(items))
    return MetricsPayload(run_uuid, timestamp, sync_app_id, results)


async def apply_metrics(
    db: Database,
    payload: MetricsPayload,
    request: PingRequest,
    now: datetime,
    *,
    body_limit: int | None,
) -> MetricsOutcome:
    """Record every result of ``payload`` as a ping, in ONE transaction.

    ``request`` describes the HTTP request (method, scheme, address, user agent); each result
    becomes a success (status 1) or fail (status 0) ping with its message as the body. A check
    missing from the project is created (name = the result's name, every project channel
    assigned, as auto-provisioning does). Any error rolls the whole payload back.
    """
    created: list[str] = []
    check_ids: list[int] = []
    async with write_transaction(db) as conn:
        project_id, owner_id, check_limit = await _project(conn, payload.sync_app_id, db.sqlite)
        for index, result in enumerate(payload.results):
            row = await _check_row(conn, project_id, result.slug, index, db.sqlite)
            if row is None:
                await _ensure_below_limit(conn, owner_id, check_limit)
                await _create_check(conn, project_id, result, now)
                created.append(result.slug)
                row = await _check_row(conn, project_id, result.slug, index, db.sqlite)
                assert row is not None
            body = result.message.encode()
            ping = dataclasses.replace(
                request,
                action=pings.SUCCESS if result.ok else pings.FAIL,
                body=body if body_limit is None else body[:body_limit],
            )
            await pings.apply_ping_in_transaction(conn, row, ping, now)
            check_ids.append(row.id)
    return MetricsOutcome(
        applied=len(payload.results), created=tuple(created), check_ids=tuple(check_ids)
    )


async def _project(
    conn: AsyncConnection, ping_key: str, sqlite: bool
) -> tuple[int, int, int | None]:
    query = (
        select(m.Project.id, m.Project.owner_id, m.Profile.check_limit)
        .join(m.Profile, m.Profile.user_id == m.Project.owner_id, isouter=True)
        .where(m.Project.ping_key == ping_key)
    )
    if not sqlite:
        # Payloads of one project are applied one at a time (SQLite's writer lock does the same),
        # so two first sightings of a name cannot create two checks with one slug, and two
        # payloads never wait for each other's check rows in opposite orders (no deadlock).
        query = query.with_for_update(of=m.Project)
    row = (await conn.execute(query)).first()
    if row is None:
        raise UnknownSyncApp
    return int(row.id), int(row.owner_id), row.check_limit


async def _check_row(
    conn: AsyncConnection, project_id: int, slug: str, index: int, sqlite: bool
) -> Any:
    """The check's state as the ping rules read it (re-read for every result, so two results
    for one check in a payload see each other); None when there is no such check."""
    # The same columns the single-ping path reads (pings._STATE_COLUMNS), so that
    # apply_ping_in_transaction gets exactly the row shape it was written for.
    query = (
        select(*pings._STATE_COLUMNS)
        .where(m.Check.project_id == project_id, m.Check.slug == slug)
        .limit(2)
    )
    if not sqlite:
        query = query.with_for_update(of=m.Check)
    rows = (await conn.execute(query)).all()
    if len(rows) > 1:
        raise AmbiguousSlug(f"checks[{index}].name: more than one check has the slug {slug!r}")
    return rows[0] if rows else None


async def _ensure_below_limit(
    conn: AsyncConnection, owner_id: int, check_limit: int | None
) -> None:
    """Auto-provisioning's rule (``?create=1``): refused once the owner has 2 × check_limit."""
    if check_limit is None:
        return
    owned = (
        await conn.execute(
            select(func.count())
            .select_from(m.Check)
            .join(m.Project, m.Project.id == m.Check.project_id)
            .where(m.Project.owner_id == owner_id)
        )
    ).scalar_one()
    if owned >= 2 * check_limit:
        raise LimitReached("check limit reached")


async def _create_check(
    conn: AsyncConnection, project_id: int, result: HealthResult, now: datetime
) -> None:
    await pings.provision_check(conn, project_id, name=result.name, slug=result.slug, now=now)


# --- Heartbeat Central ------------------------------------------------------------------------

# Heartbeat Central field → the Healthchecks API field the check service takes.
_CHECK_FIELDS = {"name": "name", "expected_interval": "timeout", "grace_period": "grace"}
_APPLICATION_FIELDS = {check: app for app, check in _CHECK_FIELDS.items()}


@dataclass(frozen=True, slots=True)
class ApplicationChanges:
    """A create/update request, translated: ``check_data`` in Healthchecks API field names
    (what the check service takes), and the wanted ``is_active`` (None: leave as is)."""

    check_data: dict[str, Any]
    is_active: bool | None


def _seconds(body: Mapping[str, Any], field: str, *, minimum: int) -> int:
    """A duration field, at least MIN_SECONDS.

    Heartbeat Central allows a shorter expected_interval and grace_period than Healthchecks
    (its grace_period defaults to 0), and its clients send them: such values are raised to
    the shortest Cronbeat watches rather than refused, so that migrating stays a matter of
    changing a URL. Too large values are refused by the check service as usual.
    """
    value = body[field]
    # bool is an int subclass; Heartbeat Central stores integers, so floats are refused too.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"{field} must be an integer (seconds)")
    if value < minimum:
        qualifier = "positive" if minimum == 1 else "zero or more"
        raise ValidationError(field, f"{field} must be {qualifier}")
    return max(value, MIN_SECONDS)


def parse_application(body: Any, *, create: bool) -> ApplicationChanges:
    """Validate a Heartbeat Central application body (unknown keys are ignored, as there).

    On create ``name`` and ``expected_interval`` are required and ``grace_period`` defaults to
    Heartbeat Central's 0 (raised to MIN_SECONDS); on update every field is optional.
    """
    if not isinstance(body, dict):
        raise ValidationError("body", "body must be a JSON object")
    if not create and not body:
        raise ValidationError("body", "no data provided")
    data: dict[str, Any] = {}
    if create:
        for field in ("name", "expected_interval"):
            _required(body, field)
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str):
            raise ValidationError("name", "name must be a string")
        name = name.strip()  # as Heartbeat Central stores it
        if not name:
            raise ValidationError("name", "name must not be empty")
        if len(name) > NAME_MAX_LENGTH:
            raise ValidationError("name", f"name is longer than {NAME_MAX_LENGTH} characters")
        data["name"] = name
    if "expected_interval" in body:
        data["timeout"] = _seconds(body, "expected_interval", minimum=1)
    if "grace_period" in body:
        data["grace"] = _seconds(body, "grace_period", minimum=0)
    elif create:
        data["grace"] = MIN_SECONDS
    is_active = body.get("is_active")
    if "is_active" in body and not isinstance(is_active, bool):
        raise ValidationError("is_active", "is_active must be true or false")
    if create:
        # A slug as API v1/v2 derive it, so the check also answers slug pings (and results of
        # django-health-check-job with the same name); renaming leaves it, as in API v3.
        data["slug"] = slugify(data["name"])[:NAME_MAX_LENGTH]
        # An application alerts through every channel of the project: Heartbeat Central's API
        # has no way to choose channels, and a check with none would alert nobody.
        data["channels"] = "*"
    return ApplicationChanges(check_data=data, is_active=is_active)


def application_error(error: ValidationError) -> ValidationError:
    """A check service error, told in Heartbeat Central's field names."""
    field = _APPLICATION_FIELDS.get(error.field)
    if field is None or field == error.field:
        return error
    message = re.sub(rf"^{re.escape(error.field)}\b", field, error.message)
    return ValidationError(field, message)


def is_overdue(check: m.Check, now: datetime) -> bool:
    """Heartbeat Central's rule: the last heartbeat (or the creation, before any) is older than
    expected_interval + grace_period. Informational; Cronbeat's status rules decide alerts."""
    since = check.last_ping or check.created
    return since <= now - timedelta(seconds=check.timeout + check.grace)


def application_to_dict(check: m.Check, updated_at: datetime | None) -> dict[str, Any]:
    # ``id`` is the check's uuid, the same as ``uuid``: Heartbeat Central's integer ids are
    # row numbers, which Cronbeat never exposes (they would enumerate other projects' checks
    # and differ from the ids a migrated client saw anyway); the uuid is how every other
    # Cronbeat API names a check, and ``/api/applications/<id>`` takes it.
    code = str(check.code)
    return {
        "id": code,
        "uuid": code,
        "name": check.name,
        "expected_interval": int(check.timeout),
        "grace_period": int(check.grace),
        "last_heartbeat": isoformat(check.last_ping),
        "is_active": check.status != "paused",
        "created_at": isoformat(check.created),
        "updated_at": isoformat(max(check.created, updated_at or check.created)),
    }


def heartbeat_to_dict(ping: m.Ping, code: uuid.UUID) -> dict[str, Any]:
    return {
        "id": ping.n,
        "application_id": str(code),
        "received_at": isoformat(ping.created),
        "kind": ping.kind,
    }


async def changed_at(session: AsyncSession, check_ids: list[int]) -> dict[int, datetime]:
    """When each check was last paused or resumed (its newest flip to or from ``paused``).

    Heartbeat Central's ``updated_at`` moves when an application is edited. Cronbeat keeps no
    edit time (and adds no column for it); pausing and resuming are the edits it does record.
    """
    if not check_ids:
        return {}
    paused = (m.Flip.old_status == "paused") | (m.Flip.new_status == "paused")
    rows = await session.execute(
        select(m.Flip.check_id, func.max(m.Flip.created))
        .where(m.Flip.check_id.in_(check_ids), paused)
        .group_by(m.Flip.check_id)
    )
    return {check_id: created for check_id, created in rows.tuples()}


async def heartbeats(
    session: AsyncSession, check_id: int, *, offset: int, limit: int
) -> tuple[list[m.Ping], int]:
    """A page of the check's pings, newest first, and how many it has in all."""
    total = await session.scalar(
        select(func.count()).select_from(m.Ping).where(m.Ping.check_id == check_id)
    )
    found = await session.scalars(
        select(m.Ping)
        .where(m.Ping.check_id == check_id)
        .order_by(m.Ping.n.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(found.all()), int(total or 0)
