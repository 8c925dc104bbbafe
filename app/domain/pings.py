"""Ping ingestion: the one path that must be perfect and fast.

A ping resolves its kind (the URL's action, then the check's method and keyword filters,
then manual resume), updates the check, writes the ping row and, on a status change, a flip
with its notifications, all in one transaction. Concurrent pings share that transaction
(group commit, ``_Batcher``): under load one transaction records hundreds of pings, so the
database does a fraction of the work per ping. The rules are plain Python, the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, Uuid, any_, bindparam, func, insert, or_, select, tuple_, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import models as m
from app.db.bulk import array_insert, column_types, unnest_params, unnest_table
from app.db.engine import Database, write_transaction
from app.domain import alerts
from app.domain import status as status_rules
from app.domain.checks import MAX_DURATION, TIMING_COLUMNS

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


def resolve_kind(check: Any, ping: PingRequest, *, status: str) -> str:
    """The kind a ping is recorded as, given the check's settings and its current ``status``
    (Healthchecks §1.4)."""
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
    if status == "paused" and check.manual_resume:
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


# --- recording: concurrent pings share one transaction (group commit) -----------------------

Target = uuid.UUID | tuple[str, str]
"""A check as a ping URL names it: its code, or (ping key, slug)."""

# Pings that arrive while a batch is being written wait for the next one, up to this many in a
# batch. One batch at a time per process measured best on PostgreSQL too (bench/README.md):
# bigger batches cost less per ping, and batches on one check would only wait on its row lock.
_MAX_BATCH = 500
_MAX_BATCH_BYTES = 4_000_000  # of ping bodies: 500 × 100 KB would be one 50 MB INSERT
_BATCHES_IN_FLIGHT = 1

_CHECK_COLUMNS = (
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
)
# What the ping rules read, for a query on checks alone.
_STATE_COLUMNS = (
    *_CHECK_COLUMNS,
    select(m.Project.nag_period)
    .where(m.Project.id == m.Check.project_id)
    .scalar_subquery()
    .label("nag_period"),
)
_STATE_FIELDS = [f.name for f in dataclasses.fields(CheckState)]

# What a batch writes back to each check it pinged.
_WRITTEN_FIELDS = (
    "n_pings", "status", "last_ping", "last_start", "last_start_rid", "last_duration",
    "alert_after", "next_nag_at",
)  # fmt: skip
# (Bound names differ from the columns': SQLAlchemy reserves those for the SET clause.)
_UPDATE_CHECK = (
    update(m.Check)
    .where(m.Check.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in _WRITTEN_FIELDS})
)


@dataclass(slots=True)
class _Tracked:
    """A check's row as read, and its state after the pings applied to it so far."""

    row: Any
    state: CheckState
    next_nag_at: datetime | None


_Run = tuple[int, uuid.UUID]
"""A job run as pings name it: (check id, rid)."""


async def _recent_runs(
    conn: AsyncConnection, runs: set[_Run], now: datetime
) -> dict[_Run, tuple[str, datetime]]:
    """The latest start, success or fail of each run in the last MAX_DURATION (a start any
    older closes no duration). Only pings with a rid ask: the ping fast path never does."""
    if not runs:
        return {}
    rows = await conn.execute(
        select(m.Ping.check_id, m.Ping.rid, m.Ping.kind, m.Ping.created)
        .where(
            tuple_(m.Ping.check_id, m.Ping.rid).in_(sorted(runs, key=str)),
            m.Ping.kind.in_((START, SUCCESS, FAIL)),
            m.Ping.created >= now - MAX_DURATION,
        )
        .order_by(m.Ping.check_id, m.Ping.n)
    )
    return {(row.check_id, row.rid): (row.kind, row.created) for row in rows}


class _Recorder:
    """Applies pings to checks in memory, in arrival order, then writes them all at once:
    one UPDATE per check, one INSERT for the pings, the flips with their notifications."""

    def __init__(self, runs: dict[_Run, tuple[str, datetime]] | None = None) -> None:
        self.checks: dict[int, _Tracked] = {}
        self.pings: list[dict[str, Any]] = []
        self.flips: list[alerts.NewFlip] = []
        # The latest start, success or fail of each (check, rid) the batch names: read from
        # the ping log first (_recent_runs), then kept up to date as pings are applied.
        self.runs = runs if runs is not None else {}

    def apply(self, row: Any, ping: PingRequest, now: datetime) -> PingResult:
        tracked = self.checks.get(row.id)
        if tracked is None:
            state = CheckState(**{name: getattr(row, name) for name in _STATE_FIELDS})
            tracked = self.checks[row.id] = _Tracked(row, state, row.next_nag_at)
        before = tracked.state
        kind = resolve_kind(row, ping, status=before.status)
        after, duration = apply_ping(before, kind, ping.rid, now)
        if ping.rid is not None:
            duration = self._run_duration((row.id, ping.rid), kind, now)
        tracked.next_nag_at = _next_nag_at(
            tracked.next_nag_at, row.nag_period, before.status, after.status, now
        )
        tracked.state = after
        self.pings.append(
            {
                "check_id": row.id,
                "n": after.n_pings,
                "kind": kind,
                "created": now,
                "scheme": ping.scheme,
                "remote_addr": ping.remote_addr,
                "method": ping.method,
                "ua": ping.ua,
                "body": ping.body or None,
                "exitstatus": ping.exitstatus,
                "rid": ping.rid,
                "duration": duration,
            }
        )
        if after.status != before.status:
            self.flips.append(
                alerts.NewFlip(
                    row.id, now, before.status, after.status, flip_reason(kind), after.n_pings
                )
            )
        return PingResult(row.id, after.n_pings, kind, before.status, after.status)

    def _run_duration(self, run: _Run, kind: str, now: datetime) -> float | None:
        """Healthchecks §1.6: a success or fail with a rid closes the latest earlier start
        with that rid, unless a success or fail with it came first. Overlapping runs each
        get their duration, whatever the check's own last_start says."""
        if kind not in (START, SUCCESS, FAIL):
            return None
        latest = self.runs.get(run)
        self.runs[run] = (kind, now)
        if kind != START and latest is not None and latest[0] == START:
            return (now - latest[1]).total_seconds()
        return None

    async def write(self, conn: AsyncConnection, now: datetime) -> None:
        if not self.checks:
            return
        checks = [
            {
                "id": check_id,
                "n_pings": t.state.n_pings,
                "status": t.state.status,
                "last_ping": t.state.last_ping,
                "last_start": t.state.last_start,
                "last_start_rid": t.state.last_start_rid,
                "last_duration": t.state.last_duration,
                "alert_after": status_rules.alert_after(t.state),
                "next_nag_at": t.next_nag_at,
            }
            for check_id, t in self.checks.items()
        ]
        if conn.dialect.name == "postgresql":
            await conn.execute(
                _CHECKS_AND_PINGS,
                unnest_params("c", _CHECK_WRITES, checks) | _INSERT_PINGS.params(self.pings),
            )
        else:  # SQLite: statements cost no round trip
            await conn.execute(_UPDATE_CHECK, [_bound(check) for check in checks])
            await conn.execute(insert(m.Ping), self.pings)
        if self.flips:
            await alerts.write_flips(conn, self.flips, now)


_CHECK_WRITES = column_types(m.Check, ("id", *_WRITTEN_FIELDS))
# Every column of a ping but its id: the keys of the rows _Recorder.apply builds.
_INSERT_PINGS = array_insert(
    m.Ping, "p", [col.name for col in m.Ping.__table__.c if col.name != "id"]
)


def _bound(check: dict[str, Any]) -> dict[str, Any]:
    return {f"b_{name}": value for name, value in check.items()}


def _checks_and_pings() -> Any:
    """PostgreSQL: the checks' UPDATE and the pings' INSERT as one statement (one round
    trip), each reading its rows from arrays: the same SQL text for every batch size."""
    rows = unnest_table("c", _CHECK_WRITES)
    checks_written = (
        update(m.Check)
        .where(m.Check.id == rows.c.id)
        .values({name: rows.c[name] for name in _WRITTEN_FIELDS})
        .cte("checks_written")
    )
    return _INSERT_PINGS.statement.add_cte(checks_written)


_CHECKS_AND_PINGS = _checks_and_pings()  # built once: building costs more than running


def _next_nag_at(
    next_nag_at: datetime | None, nag_period: int, old_status: str, new_status: str, now: datetime
) -> datetime | None:
    """Due one nag period after going down; cleared when the check is not down."""
    if new_status != "down":
        return None
    if old_status == "down":
        return next_nag_at
    return now + timedelta(seconds=nag_period) if nag_period > 0 else None


async def apply_ping_in_transaction(
    conn: AsyncConnection, row: Any, ping: PingRequest, now: datetime
) -> PingResult:
    """One ping to a check whose ``_STATE_COLUMNS`` row the caller has read (and locked)."""
    runs = {(row.id, ping.rid)} if ping.rid is not None else set()
    recorder = _Recorder(await _recent_runs(conn, runs, now))
    result = recorder.apply(row, ping, now)
    await recorder.write(conn, now)
    return result


def _one_of(column: Any, name: str, item_type: Any, *, array: bool) -> Any:
    """``column IN (…)`` on SQLite; ``column = ANY($n)`` on PostgreSQL, whose one array
    parameter keeps the SQL text the same for every batch size (one prepared statement)."""
    if array:
        return column == any_(bindparam(name, type_=postgresql.ARRAY(item_type)))
    return column.in_(bindparam(name, expanding=True))


def _lookup_query(*, codes: bool, slugs: bool, sqlite: bool) -> Any:
    """The checks a batch names, by codes and/or (ping key, slug), in id order: batches lock
    rows in one order, so two never deadlock. A slug query may return a few extra rows (a slug
    of another key in the batch); they are left alone."""
    conditions: list[Any] = []
    if codes:
        conditions.append(_one_of(m.Check.code, "codes", Uuid(), array=not sqlite))
    if slugs:
        conditions.append(
            _one_of(m.Project.ping_key, "keys", String(), array=not sqlite)
            & _one_of(m.Check.slug, "slugs", String(), array=not sqlite)
        )
    query = (
        select(
            *_CHECK_COLUMNS, m.Project.nag_period, m.Check.code, m.Check.slug, m.Project.ping_key
        )
        .join(m.Project, m.Project.id == m.Check.project_id)
        .where(or_(*conditions))
        .order_by(m.Check.id)
    )
    # SQLite: the writer lock (BEGIN IMMEDIATE) already excludes every other writer.
    return query if sqlite else query.with_for_update(of=m.Check)


# Built once: constructing a statement costs more than running a cached one.
_LOOKUPS = {
    (codes, slugs, sqlite): _lookup_query(codes=codes, slugs=slugs, sqlite=sqlite)
    for codes in (False, True)
    for slugs in (False, True)
    for sqlite in (False, True)
    if codes or slugs
}


async def _read_targets(conn: AsyncConnection, targets: list[Target], *, sqlite: bool) -> Any:
    codes = [target for target in targets if isinstance(target, uuid.UUID)]
    slugs = [target for target in targets if isinstance(target, tuple)]
    params: dict[str, Any] = {"codes": codes}
    if slugs:
        params.update(keys=list({key for key, _ in slugs}), slugs=list({slug for _, slug in slugs}))
    query = _LOOKUPS[bool(codes), bool(slugs), sqlite]
    return (await conn.execute(query, params)).all()


@dataclass(slots=True)
class _Pending:
    target: Target
    ping: PingRequest
    now: datetime
    future: asyncio.Future[PingResult | None]


async def _write_batch(db: Database, batch: list[_Pending]) -> list[PingResult | None]:
    """Record a batch of pings in one transaction; None for a target that names no check (or,
    by slug, more than one: nothing is recorded and the caller tells which)."""
    async with write_transaction(db) as conn:
        rows = await _read_targets(conn, [p.target for p in batch], sqlite=db.sqlite)
        by_code = {row.code: row for row in rows}
        by_slug: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            by_slug.setdefault((row.ping_key, row.slug), []).append(row)
        found: list[Any] = []
        for item in batch:
            if isinstance(item.target, tuple):
                matches = by_slug.get(item.target, [])
                found.append(matches[0] if len(matches) == 1 else None)
            else:
                found.append(by_code.get(item.target))
        runs = {
            (row.id, item.ping.rid)
            for item, row in zip(batch, found, strict=True)
            if row is not None and item.ping.rid is not None
        }
        recorder = _Recorder(await _recent_runs(conn, runs, min(item.now for item in batch)))
        results = [
            None if row is None else recorder.apply(row, item.ping, item.now)
            for item, row in zip(batch, found, strict=True)
        ]
        await recorder.write(conn, max(item.now for item in batch))
    return results


def _batch_size(pending: list[_Pending]) -> int:
    """How many of the pending pings the next batch takes: up to _MAX_BATCH, and no more
    than _MAX_BATCH_BYTES of bodies (at least one ping, however large)."""
    size, body_bytes = 0, 0
    for item in pending[:_MAX_BATCH]:
        body_bytes += len(item.ping.body)
        if size and body_bytes > _MAX_BATCH_BYTES:
            break
        size += 1
    return size


def _refused_data(error: Exception) -> bool:
    """Whether the database (or the driver, binding a value) refused what a ping carried,
    rather than failing to run the statement at all."""
    if isinstance(error, sa_exc.DataError | sa_exc.IntegrityError):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        # asyncpg's errors reach SQLAlchemy untyped; their SQLSTATE says which: class 22 is
        # a data exception (a NUL in a text value, say), class 23 a constraint violation.
        sqlstate = str(getattr(error.orig, "sqlstate", None) or "")
        return sqlstate[:2] in ("22", "23")
    return isinstance(error, sa_exc.StatementError)


class _Batcher:
    """Group commit: a ping joins the next batch; batches are written one after another, so
    a burst of N concurrent pings costs a few transactions instead of N, and a lone ping is
    written at once."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pending: list[_Pending] = []
        self.in_flight = 0
        self.max_in_flight = _BATCHES_IN_FLIGHT
        self.tasks: set[asyncio.Task[None]] = set()

    async def record(self, target: Target, ping: PingRequest, now: datetime) -> PingResult | None:
        future: asyncio.Future[PingResult | None] = asyncio.get_running_loop().create_future()
        self.pending.append(_Pending(target, ping, now, future))
        self._start_batches()
        # Shielded: a client that hangs up does not take the ping (or the batch) with it.
        return await asyncio.shield(future)

    def _start_batches(self) -> None:
        while self.pending and self.in_flight < self.max_in_flight:
            size = _batch_size(self.pending)
            batch, self.pending = self.pending[:size], self.pending[size:]
            self.in_flight += 1
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _run(self, batch: list[_Pending]) -> None:
        try:
            await self._settle(batch)
        except BaseException as error:  # cancelled with the loop: nobody waits forever
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(error)
            raise
        finally:
            self.in_flight -= 1
            self._start_batches()

    async def _settle(self, batch: list[_Pending]) -> None:
        try:
            results = await _write_batch(self.db, batch)
        except Exception as error:
            if len(batch) > 1 and _refused_data(error):
                # One ping the database refuses must not fail the others: write each alone.
                for item in batch:
                    await self._settle([item])
                return
            # Anything else (the database is down, say) would fail each ping alike, one
            # timeout after another: the whole batch fails at once.
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(error)
            return
        for item, result in zip(batch, results, strict=True):
            if not item.future.done():
                item.future.set_result(result)


_batchers: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[Database, _Batcher]
] = weakref.WeakKeyDictionary()


def _batcher(db: Database) -> _Batcher:
    """The batcher of this database on the running event loop (web and worker loops differ)."""
    per_db = _batchers.setdefault(asyncio.get_running_loop(), weakref.WeakKeyDictionary())
    batcher = per_db.get(db)
    if batcher is None:
        batcher = per_db[db] = _Batcher(db)
    return batcher


# --- entry points ---------------------------------------------------------------------------


async def record_ping(
    db: Database,
    code: uuid.UUID,
    ping: PingRequest,
    now: datetime,
) -> PingResult:
    """Record a ping for the check with public id ``code``; raise CheckNotFound."""
    result = await _batcher(db).record(code, ping, now)
    if result is None:
        raise CheckNotFound
    return result


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
    result = await _batcher(db).record((ping_key, slug), ping, now)
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
    async with write_transaction(db) as conn:
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
