"""Ping ingestion: the one path that must be perfect and fast.

A ping resolves its kind (the URL's action, then the check's method and keyword filters,
then manual resume), updates the check, writes the ping row and, on a status change, a flip,
all in one transaction. On PostgreSQL that is one statement (one round trip, see
``_PG_PING``); on SQLite a few statements under one write lock, with the rules below in
Python. Both paths implement the same rules and run the same tests.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import Boolean, DateTime, Integer, LargeBinary, Uuid

from app.db import models as m
from app.db.engine import Database
from app.domain import alerts
from app.domain import status as status_rules
from app.domain.checks import TIMING_COLUMNS

SUCCESS, START, FAIL, LOG, IGNORED = "success", "start", "fail", "log", "ign"
URL_ACTIONS = (START, FAIL, LOG)

# What ``str.strip()`` removes (every character with ``str.isspace()``), spelled out so that
# the PostgreSQL statement trims keywords exactly as the Python rules do.
KEYWORD_WHITESPACE = (
    " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class PingError(Exception):
    """A ping that cannot be recorded; ``message`` is what the client is told."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CheckNotFound(PingError):
    status_code = 404

    def __init__(self) -> None:
        super().__init__("not found")


class AmbiguousSlug(PingError):
    status_code = 409

    def __init__(self) -> None:
        super().__init__("ambiguous slug")


@dataclass(frozen=True, slots=True)
class PingRequest:
    """What arrived. ``action`` is the URL's action (success/start/fail/log) or ``ign``."""

    action: str = SUCCESS
    exitstatus: int | None = None
    rid: uuid.UUID | None = None
    method: str = ""
    scheme: str = "http"
    remote_addr: str | None = None
    ua: str = ""
    body: bytes = b""
    # HTTP pings obey the check's ``methods`` and ``filter_http_body``; email pings do not
    # (their subject/body filters are applied by the caller, see classify_by_keywords).
    http: bool = True


@dataclass(frozen=True, slots=True)
class PingResult:
    check_id: int
    n: int
    kind: str
    old_status: str
    new_status: str
    created: bool = False

    @property
    def flipped(self) -> bool:
        return self.old_status != self.new_status


def action_for_exitstatus(exitstatus: int) -> str:
    if not 0 <= exitstatus <= 255:
        raise PingError("invalid url format")
    return SUCCESS if exitstatus == 0 else FAIL


def match_keywords(keywords: str, text_: str) -> bool:
    """Healthchecks' rule: comma-separated, stripped, case-sensitive substrings."""
    stripped = (kw.strip(KEYWORD_WHITESPACE) for kw in keywords.split(","))
    return any(kw and kw in text_ for kw in stripped)


def body_text(body: bytes) -> str:
    """The body as the keyword filters read it: UTF-8, invalid bytes replaced by U+FFFD."""
    return body.decode("utf-8", "replace")


def classify_by_keywords(
    text_: str, *, failure_kw: str, success_kw: str, start_kw: str, default_fail: bool
) -> str:
    if match_keywords(failure_kw, text_):
        return FAIL
    if match_keywords(success_kw, text_):
        return SUCCESS
    if match_keywords(start_kw, text_):
        return START
    return FAIL if default_fail else IGNORED


def resolve_kind(check: Any, ping: PingRequest) -> str:
    """The kind a ping is recorded as, given the check's settings (Healthchecks §1.4)."""
    kind = ping.action
    if kind == IGNORED:
        return kind
    if ping.http and check.methods == "POST" and ping.method != "POST":
        return IGNORED
    if ping.http and check.filter_http_body:
        kind = classify_by_keywords(
            body_text(ping.body),
            failure_kw=check.failure_kw,
            success_kw=check.success_kw,
            start_kw=check.start_kw,
            default_fail=check.filter_default_fail,
        )
    if check.status == "paused" and check.manual_resume:
        return IGNORED
    return kind


@dataclass(frozen=True, slots=True)
class CheckState:
    """The fields a ping reads and writes, before or after it."""

    kind: str
    timeout: int
    grace: int
    schedule: str
    tz: str
    status: str
    last_ping: datetime | None
    last_start: datetime | None
    last_start_rid: uuid.UUID | None
    last_duration: float | None
    n_pings: int


def apply_ping(
    state: CheckState,
    kind: str,
    rid: uuid.UUID | None,
    now: datetime,
) -> tuple[CheckState, float | None]:
    """The check after a ping of ``kind``, and the duration the ping closed (if any)."""
    changes: dict[str, Any] = {"n_pings": state.n_pings + 1}
    duration = None
    if kind == START:
        changes.update(last_start=now, last_start_rid=rid)
    elif kind in (SUCCESS, FAIL):
        changes.update(last_ping=now, last_duration=None, status="down" if kind == FAIL else "up")
        if state.last_start is not None:
            if state.last_start_rid == rid:
                duration = (now - state.last_start).total_seconds()
                changes.update(last_start=None, last_duration=duration)
            elif kind == FAIL or rid is None:
                changes["last_start"] = None
    return dataclasses.replace(state, **changes), duration


def flip_reason(kind: str) -> str:
    return "fail" if kind == FAIL else ""


def notifies(old_status: str, new_status: str) -> bool:
    """new→up and paused→up are quiet: nobody needs to hear that a check started working."""
    return not (new_status == "up" and old_status in ("new", "paused"))


# --- the PostgreSQL statement ---------------------------------------------------------------

# Keywords are matched in the UTF-8 bytes of the decoded body (``body_text``), sent as bytea:
# a PostgreSQL text value cannot hold the NUL that a binary body may contain, and a valid UTF-8
# needle is a substring of valid UTF-8 bytes exactly when it is a substring of the text.
_WHITESPACE_SQL = "E'" + "".join(f"\\u{ord(c):04x}" for c in KEYWORD_WHITESPACE) + "'"
_KEYWORD_HIT = f"""EXISTS (SELECT 1 FROM unnest(string_to_array(o.{{col}}, ',')) AS k(w)
    WHERE btrim(k.w, {_WHITESPACE_SQL}) <> ''
      AND position(convert_to(btrim(k.w, {_WHITESPACE_SQL}), 'UTF8')
                   IN CAST(:body_utf8 AS bytea)) > 0)"""

_PG_PING = f"""
WITH o AS (
    SELECT id, status, kind AS check_kind, timeout, grace, last_ping, last_start,
           last_start_rid, last_duration, methods, manual_resume, filter_http_body,
           filter_default_fail, start_kw, success_kw, failure_kw, next_nag_at,
           (SELECT nag_period FROM projects WHERE projects.id = checks.project_id) AS nag_period
    FROM checks WHERE {{where}} FOR UPDATE
), a AS (
    SELECT o.*, CASE
        WHEN CAST(:action AS text) = 'ign' THEN 'ign'
        WHEN o.status = 'paused' AND o.manual_resume THEN 'ign'
        WHEN CAST(:http AS boolean) AND o.methods = 'POST' AND :method <> 'POST' THEN 'ign'
        WHEN CAST(:http AS boolean) AND o.filter_http_body THEN CASE
            WHEN {_KEYWORD_HIT.format(col="failure_kw")} THEN 'fail'
            WHEN {_KEYWORD_HIT.format(col="success_kw")} THEN 'success'
            WHEN {_KEYWORD_HIT.format(col="start_kw")} THEN 'start'
            WHEN o.filter_default_fail THEN 'fail'
            ELSE 'ign' END
        ELSE CAST(:action AS text) END AS pk,
        (o.last_start IS NOT NULL
         AND o.last_start_rid IS NOT DISTINCT FROM CAST(:rid AS uuid)) AS closes
    FROM o
), n AS (
    SELECT a.id, a.pk, a.status AS old_status, a.check_kind, a.timeout, a.grace,
        a.next_nag_at AS old_next_nag_at, a.nag_period,
        CASE WHEN a.pk = 'start' THEN CAST(:now AS timestamptz)
             WHEN a.pk IN ('success', 'fail')
                  AND (a.closes OR a.pk = 'fail' OR CAST(:rid AS uuid) IS NULL) THEN NULL
             ELSE a.last_start END AS last_start,
        CASE WHEN a.pk = 'start' THEN CAST(:rid AS uuid) ELSE a.last_start_rid END
            AS last_start_rid,
        CASE WHEN a.pk IN ('success', 'fail') THEN CAST(:now AS timestamptz)
             ELSE a.last_ping END AS last_ping,
        CASE WHEN a.pk IN ('success', 'fail') AND a.closes
             THEN extract(epoch FROM CAST(:now AS timestamptz) - a.last_start)::float8
             END AS duration,
        CASE WHEN a.pk = 'success' THEN 'up' WHEN a.pk = 'fail' THEN 'down'
             ELSE a.status END AS status,
        CASE WHEN a.pk IN ('success', 'fail') THEN NULL ELSE a.last_duration END
            AS kept_duration
    FROM a
), f AS (
    -- alert_after: exact for simple checks; for cron/OnCalendar last_ping + grace is a
    -- lower bound (the next fire time needs cronsim) that the sweep moves to the exact time.
    SELECT n.*, CASE
        WHEN n.status = 'down' THEN NULL
        WHEN n.status = 'up' THEN LEAST(
            CASE WHEN n.check_kind = 'simple' THEN n.last_ping + make_interval(secs => n.timeout)
                 ELSE n.last_ping END,
            n.last_start) + make_interval(secs => n.grace)
        ELSE n.last_start + make_interval(secs => n.grace) END AS alert_after,
        -- Nags: due one nag period after going down; cleared when the check is not down.
        CASE WHEN n.status <> 'down' THEN NULL
             WHEN n.old_status = 'down' THEN n.old_next_nag_at
             WHEN n.nag_period > 0
             THEN CAST(:now AS timestamptz) + make_interval(secs => n.nag_period)
             END AS next_nag_at,
        -- new → up and paused → up notify nobody.
        (n.status = 'up' AND n.old_status IN ('new', 'paused')) AS quiet
    FROM n
), u AS (
    UPDATE checks c SET n_pings = c.n_pings + 1, last_start = f.last_start,
        last_start_rid = f.last_start_rid, last_ping = f.last_ping,
        last_duration = COALESCE(f.duration, f.kept_duration), status = f.status,
        alert_after = f.alert_after, next_nag_at = f.next_nag_at
    FROM f WHERE c.id = f.id
    RETURNING c.id, c.n_pings, f.pk, f.old_status, f.status, f.duration, f.quiet
), p AS (
    INSERT INTO pings (check_id, n, kind, created, scheme, remote_addr, method, ua, body,
                       exitstatus, rid, duration)
    SELECT u.id, u.n_pings, u.pk, CAST(:now AS timestamptz), :scheme, :remote_addr, :method,
           :ua, :body, CAST(:exitstatus AS smallint), CAST(:rid AS uuid), u.duration
    FROM u
), sel AS (
    -- The outbox: the channels that get this flip (attached, enabled, this direction).
    SELECT u.id AS check_id, ch.id AS channel_id
    FROM u JOIN check_channels cc ON cc.check_id = u.id
    JOIN channels ch ON ch.id = cc.channel_id
    WHERE u.status <> u.old_status AND NOT u.quiet AND NOT ch.disabled
      AND CASE WHEN u.status = 'up' THEN ch.notify_up ELSE ch.notify_down END
), fl AS (
    INSERT INTO flips (check_id, created, processed, old_status, new_status, reason)
    SELECT u.id, CAST(:now AS timestamptz),
           CASE WHEN NOT EXISTS (SELECT 1 FROM sel) THEN CAST(:now AS timestamptz) END,
           u.old_status, u.status, CASE WHEN u.pk = 'fail' THEN 'fail' ELSE '' END
    FROM u WHERE u.status <> u.old_status
    RETURNING id, check_id, new_status
), nt AS (
    INSERT INTO notifications (code, flip_id, channel_id, check_id, check_status, created,
                               attempts, next_attempt_at, error)
    SELECT gen_random_uuid(), fl.id, sel.channel_id, fl.check_id, fl.new_status,
           CAST(:now AS timestamptz), 0, CAST(:now AS timestamptz), ''
    FROM fl JOIN sel ON sel.check_id = fl.check_id
)
SELECT u.id, u.n_pings, u.pk, u.old_status, u.status FROM u
"""

_PG_BINDS = (
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("rid", type_=Uuid()),
    bindparam("body", type_=LargeBinary()),
    bindparam("body_utf8", type_=LargeBinary()),
    bindparam("http", type_=Boolean()),
    bindparam("exitstatus", type_=Integer()),
)
_PG_BY_CODE = text(_PG_PING.replace("{where}", "code = :code")).bindparams(
    bindparam("code", type_=Uuid()), *_PG_BINDS
)
_PG_BY_SLUG = text(
    _PG_PING.replace(
        "{where}",
        "project_id = (SELECT id FROM projects WHERE ping_key = :ping_key) AND slug = :slug"
        # Two checks with one slug: record nothing; the caller answers 409.
        " AND (SELECT count(*) FROM checks c2 WHERE c2.project_id = checks.project_id"
        " AND c2.slug = :slug) = 1",
    )
).bindparams(*_PG_BINDS)


class _DriverStatement:
    """A statement run on asyncpg itself, bypassing SQLAlchemy's execution layer.

    The ping is the hot path: SQLAlchemy's cursor adaptation and result processing cost
    about 1 ms of CPU per ping here, five times the statement's own client-side cost.
    asyncpg prepares the statement once per connection and caches it. Without a
    transaction block asyncpg runs the one statement in autocommit, as we want.
    """

    def __init__(self, statement: Any) -> None:
        compiled = statement.compile(dialect=postgresql_asyncpg.dialect())  # type: ignore[no-untyped-call]
        self.sql = str(compiled)
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())

    async def fetchrow(self, db: Database, params: dict[str, Any]) -> Any:
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            return await driver.fetchrow(self.sql, *(params[name] for name in self.names))


_PG_BY_CODE_RAW = _DriverStatement(_PG_BY_CODE)
_PG_BY_SLUG_RAW = _DriverStatement(_PG_BY_SLUG)


def _pg_params(ping: PingRequest, now: datetime) -> dict[str, Any]:
    return {
        "now": now,
        "action": ping.action,
        "http": ping.http,
        "method": ping.method,
        "scheme": ping.scheme,
        "remote_addr": ping.remote_addr,
        "ua": ping.ua,
        "body": ping.body or None,
        "body_utf8": body_text(ping.body).encode() if ping.body else None,
        "exitstatus": ping.exitstatus,
        "rid": ping.rid,
    }


# --- entry points ---------------------------------------------------------------------------


async def record_ping(
    db: Database,
    code: uuid.UUID,
    ping: PingRequest,
    now: datetime,
) -> PingResult:
    """Record a ping for the check with public id ``code``; raise CheckNotFound."""
    if db.sqlite:
        return await _record_sqlite(db, m.Check.code == code, ping, now)
    row = await _PG_BY_CODE_RAW.fetchrow(db, {"code": code, **_pg_params(ping, now)})
    if row is None:
        raise CheckNotFound
    return PingResult(row[0], row[1], row[2], row[3], row[4])


async def record_slug_ping(
    db: Database,
    ping_key: str,
    slug: str,
    ping: PingRequest,
    now: datetime,
    *,
    create: bool = False,
    _retried: bool = False,
) -> PingResult:
    """Record a ping by ping key + slug; with ``create`` a missing check is created first.

    ``_retried``: this is the second try, after the slow path found or made the check.
    """
    if db.sqlite:
        result = await _record_sqlite_slug(db, ping_key, slug, ping, now)
    else:
        params = {"ping_key": ping_key, "slug": slug, **_pg_params(ping, now)}
        row = await _PG_BY_SLUG_RAW.fetchrow(db, params)
        result = PingResult(row[0], row[1], row[2], row[3], row[4]) if row else None
    if result is not None:
        return result
    # The slow path: nothing was recorded. Tell "missing" from "ambiguous", maybe create.
    matches = await _count_slug(db, ping_key, slug)
    if matches > 1:
        raise AmbiguousSlug
    created = False
    if matches == 0:
        if not create or _retried:
            raise CheckNotFound
        outcome = await create_check_for_slug(db, ping_key, slug, now)
        if outcome == _REFUSED:
            raise CheckNotFound
        created = outcome == _CREATED
    elif _retried:
        raise CheckNotFound
    # The check exists now: made here, or by a concurrent first ping after our statement ran.
    result = await record_slug_ping(db, ping_key, slug, ping, now, _retried=True)
    return dataclasses.replace(result, created=created)


async def check_slug(db: Database, ping_key: str, slug: str, *, create: bool = False) -> None:
    """Raise what a slug URL answers before any other error in it (Healthchecks looks the
    check up first): AmbiguousSlug for two or more checks, CheckNotFound for none unless
    ``create`` would provision one."""
    matches = await _count_slug(db, ping_key, slug)
    if matches > 1:
        raise AmbiguousSlug
    if matches == 0:
        if not create:
            raise CheckNotFound
        async with db.engine.connect() as conn:
            if await _provisioning_project(conn, ping_key) is None:
                raise CheckNotFound


async def check_exists(db: Database, code: uuid.UUID) -> bool:
    async with db.engine.connect() as conn:
        return (
            await conn.execute(select(m.Check.id).where(m.Check.code == code))
        ).first() is not None


async def _count_slug(db: Database, ping_key: str, slug: str) -> int:
    query = (
        select(func.count())
        .select_from(m.Check)
        .join(m.Project, m.Project.id == m.Check.project_id)
        .where(m.Project.ping_key == ping_key, m.Check.slug == slug)
    )
    async with db.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


_CREATED, _EXISTS, _REFUSED = "created", "exists", "refused"


async def _provisioning_project(
    conn: AsyncConnection, ping_key: str, *, lock: bool = False
) -> int | None:
    """The id of the project with ``ping_key`` if a check may be auto-provisioned in it:
    None when there is no such project or its owner has 2 × check_limit checks or more."""
    query = (
        select(m.Project.id, m.Project.owner_id, m.Profile.check_limit)
        .join(m.Profile, m.Profile.user_id == m.Project.owner_id, isouter=True)
        .where(m.Project.ping_key == ping_key)
    )
    if lock:
        query = query.with_for_update(of=m.Project)
    project = (await conn.execute(query)).first()
    if project is None:
        return None
    project_id, owner_id, check_limit = project
    owned = (
        await conn.execute(
            select(func.count())
            .select_from(m.Check)
            .join(m.Project, m.Project.id == m.Check.project_id)
            .where(m.Project.owner_id == owner_id)
        )
    ).scalar_one()
    if check_limit is not None and owned >= 2 * check_limit:
        return None
    return int(project_id)


async def provision_check(
    conn: AsyncConnection, project_id: int, *, name: str, slug: str, now: datetime
) -> int:
    """A check created on first sight (``?create=1``, a seed system's new name): defaults,
    and every channel of the project assigned. Returns its id."""
    check_id: int = (
        await conn.execute(
            insert(m.Check)
            .values(
                code=uuid.uuid4(),
                badge_key=uuid.uuid4(),
                project_id=project_id,
                name=name,
                slug=slug,
                created=now,
            )
            .returning(m.Check.id)
        )
    ).scalar_one()
    channel_ids = (
        (await conn.execute(select(m.Channel.id).where(m.Channel.project_id == project_id)))
        .scalars()
        .all()
    )
    if channel_ids:
        await conn.execute(
            insert(m.check_channels),
            [{"check_id": check_id, "channel_id": cid} for cid in channel_ids],
        )
    return check_id


async def create_check_for_slug(db: Database, ping_key: str, slug: str, now: datetime) -> str:
    """Auto-provision (``?create=1``): name = slug, every channel of the project assigned.

    Returns ``created``; ``exists`` when a concurrent ping created it first; ``refused`` when
    there is no such project or its owner is over twice their check limit. Creators of one
    project are serialized (the SQLite write lock, a row lock on the project on PostgreSQL),
    so concurrent first pings cannot leave two checks with one slug.
    """
    if db.sqlite:
        async with db.write_lock, db.engine.connect() as conn:
            conn = await conn.execution_options(sqlite_immediate=True)
            async with conn.begin():
                return await _create_check_for_slug(conn, ping_key, slug, now)
    async with db.engine.begin() as conn:
        return await _create_check_for_slug(conn, ping_key, slug, now)


async def _create_check_for_slug(
    conn: AsyncConnection, ping_key: str, slug: str, now: datetime
) -> str:
    project_id = await _provisioning_project(conn, ping_key, lock=True)
    if project_id is None:
        return _REFUSED
    exists = (
        await conn.execute(
            select(m.Check.id).where(m.Check.project_id == project_id, m.Check.slug == slug)
        )
    ).first()
    if exists is not None:
        return _EXISTS
    await provision_check(conn, project_id, name=slug, slug=slug, now=now)
    return _CREATED


# --- SQLite -----------------------------------------------------------------------------------

_STATE_COLUMNS = (
    m.Check.id,
    *TIMING_COLUMNS,
    m.Check.last_start_rid,
    m.Check.last_duration,
    m.Check.n_pings,
    m.Check.methods,
    m.Check.manual_resume,
    m.Check.filter_http_body,
    m.Check.filter_default_fail,
    m.Check.start_kw,
    m.Check.success_kw,
    m.Check.failure_kw,
    m.Check.next_nag_at,
    select(m.Project.nag_period)
    .where(m.Project.id == m.Check.project_id)
    .scalar_subquery()
    .label("nag_period"),
)
_STATE_FIELDS = [f.name for f in dataclasses.fields(CheckState)]


async def _record_sqlite(
    db: Database,
    where: Any,
    ping: PingRequest,
    now: datetime,
) -> PingResult:
    async with db.write_lock, db.engine.connect() as conn:
        conn = await conn.execution_options(sqlite_immediate=True)
        async with conn.begin():
            row = (await conn.execute(select(*_STATE_COLUMNS).where(where))).first()
            if row is None:
                raise CheckNotFound
            return await apply_ping_in_transaction(conn, row, ping, now)


async def _record_sqlite_slug(
    db: Database, ping_key: str, slug: str, ping: PingRequest, now: datetime
) -> PingResult | None:
    where = (m.Check.slug == slug) & (
        m.Check.project_id
        == select(m.Project.id).where(m.Project.ping_key == ping_key).scalar_subquery()
    )
    async with db.write_lock, db.engine.connect() as conn:
        conn = await conn.execution_options(sqlite_immediate=True)
        async with conn.begin():
            rows = (await conn.execute(select(*_STATE_COLUMNS).where(where).limit(2))).all()
            if len(rows) != 1:
                return None
            return await apply_ping_in_transaction(conn, rows[0], ping, now)


def _next_nag_at(row: Any, old_status: str, new_status: str, now: datetime) -> datetime | None:
    """Due one nag period after going down; cleared when the check is not down."""
    if new_status != "down":
        return None
    if old_status == "down":
        next_nag: datetime | None = row.next_nag_at
        return next_nag
    return now + timedelta(seconds=row.nag_period) if row.nag_period > 0 else None


async def apply_ping_in_transaction(
    conn: AsyncConnection,
    row: Any,
    ping: PingRequest,
    now: datetime,
) -> PingResult:
    before = CheckState(**{name: getattr(row, name) for name in _STATE_FIELDS})
    kind = resolve_kind(row, ping)
    after, duration = apply_ping(before, kind, ping.rid, now)
    await conn.execute(
        update(m.Check)
        .where(m.Check.id == row.id)
        .values(
            n_pings=after.n_pings,
            status=after.status,
            last_ping=after.last_ping,
            last_start=after.last_start,
            last_start_rid=after.last_start_rid,
            last_duration=after.last_duration,
            alert_after=status_rules.alert_after(after),
            next_nag_at=_next_nag_at(row, before.status, after.status, now),
        )
    )
    await conn.execute(
        insert(m.Ping).values(
            check_id=row.id,
            n=after.n_pings,
            kind=kind,
            created=now,
            scheme=ping.scheme,
            remote_addr=ping.remote_addr,
            method=ping.method,
            ua=ping.ua,
            body=ping.body or None,
            exitstatus=ping.exitstatus,
            rid=ping.rid,
            duration=duration,
        )
    )
    if after.status != before.status:
        flip = (row.id, now, before.status, after.status, flip_reason(kind))
        if notifies(before.status, after.status):
            await alerts.write_flips(conn, [flip], now)
        else:
            await conn.execute(
                insert(m.Flip).values(
                    check_id=row.id,
                    created=now,
                    old_status=before.status,
                    new_status=after.status,
                    reason=flip_reason(kind),
                    processed=now,
                )
            )
    return PingResult(row.id, after.n_pings, kind, before.status, after.status)
