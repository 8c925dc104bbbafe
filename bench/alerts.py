"""Alert-latency benchmark: from a check's deadline to its webhook arriving.

Builds a fresh database with N checks (100,000 by default) inserted in bulk, one webhook
channel pointing at a receiver in this process (127.0.0.1), and runs Cronbeat with
SWEEP_INTERVAL=1 in one or both shapes:

- ``embedded``: ``cronbeat serve`` on SQLite (web + Dramatiq threads on the in-memory broker
  + the sweep loop, one process);
- ``redis``: PostgreSQL + Redis with ``cronbeat web``, ``cronbeat worker`` and
  ``cronbeat scheduler`` as separate processes.

Two scenarios per shape, on the same running services:

- ``due``: D checks (1,000) reach their deadline T at the same instant, a few seconds after
  the sweep loop is running; the other checks' deadlines are far in the future;
- ``burst``: B checks (10,000) reach their deadline at the same instant (target: all
  delivered within 10 s).

Every due check has the webhook channel; its body is ``$CODE``, so the receiver knows which
check fired and when. Per scenario we report deadline → arrival latency (p50/p99/max),
delivered vs expected, duplicates (must be 0), the delivery rate, and where the time went,
reconstructed from the outbox rows (see ``stages``). Before the services start, we time the
sweep itself with nothing due (``sweep_due_checks``, run in this process against the same
database), which with 100,000 checks present shows whether a pass costs O(due) or O(checks).

Checks are armed by an UPDATE of ``last_ping``/``alert_after`` a few seconds before their
deadline (the sweep reads only ``(status, alert_after)``, so this is what a real deadline
looks like to it). Idle checks have timeout 60 s + grace 60 s like the due ones, with
``last_ping`` a week ahead so their ``alert_after`` is never reached during the run.

    .venv/bin/python bench/alerts.py                          # both shapes, defaults (< 5 min)
    .venv/bin/python bench/alerts.py --mode embedded --checks 10000 --due 200 --burst 1000

ONE JSON document goes to stdout, progress to stderr. Loopback only; subprocesses, the
PostgreSQL database and the Redis database index are cleaned up on errors and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/_common.py

from _common import (
    CLK_TCK,
    DEFAULT_PG_SERVER,
    BenchError,
    JsonDict,
    Service,
    free_port,
    log,
    machine_info,
    machine_ticks,
    percentile,
    process_ticks,
    provision,
    raise_interrupt,
    require_loopback,
    run_and_print,
    service_env,
    throwaway_pg_database,
)

DEFAULT_PG_DATABASE = "cronbeat_bench_alerts"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
TIMEOUT_S = 60  # the checks' timeout and grace: alert_after = last_ping + 120 s
GRACE_S = 60
IDLE_AHEAD = timedelta(days=7)  # idle checks' last_ping: far enough that they never come due
INSERT_CHUNK = 5000
OWNER = "bench-alerts@example.org"


def utcnow() -> datetime:
    return datetime.now(UTC)


def distribution(values: Sequence[float], scale: float = 1.0, digits: int = 3) -> JsonDict:
    """p50/p99/max/min of ``values`` (times ``scale``), nearest-rank like bench/ping.py."""
    ordered = sorted(v * scale for v in values)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "p50": round(percentile(ordered, 0.50), digits),
        "p99": round(percentile(ordered, 0.99), digits),
        "max": round(ordered[-1], digits),
        "min": round(ordered[0], digits),
    }


# --- the webhook receiver -------------------------------------------------------------------------

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class Receiver:
    """A minimal HTTP/1.1 server on 127.0.0.1 in its own thread and event loop.

    Every request's body is a check code (the webhook's ``$CODE``); we record the wall-clock
    time each one arrived (``time.time()``, the clock the deadlines are set on).
    """

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        self.requests = 0
        self.bad_requests = 0
        self.port = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhook-receiver", daemon=True)
        self._thread.start()
        if not self._ready.wait(10.0) or self._error is not None:
            raise BenchError(f"the webhook receiver did not start: {self._error!r}")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            server = loop.run_until_complete(
                asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=1024)
            )
            self.port = int(server.sockets[0].getsockname()[1])
            self._ready.set()
            loop.run_forever()
            server.close()
            loop.run_until_complete(server.wait_closed())
        except BaseException as error:  # reported to start() or ignored at shutdown
            self._error = error
            self._ready.set()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length, close = 0, False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection":
                        close = b"close" in value.lower()
                body = await reader.readexactly(length) if length else b""
                arrived = time.time()
                self._record(body.decode("utf-8", "replace").strip(), arrived)
                writer.write(_OK)
                await writer.drain()
                if close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        except ValueError:
            with self._lock:
                self.bad_requests += 1
        finally:
            writer.close()

    def _record(self, code: str, arrived: float) -> None:
        with self._lock:
            self.requests += 1
            self.arrivals.setdefault(code, []).append(arrived)

    def snapshot(self, codes: Sequence[str]) -> dict[str, list[float]]:
        with self._lock:
            return {c: list(self.arrivals[c]) for c in codes if c in self.arrivals}

    def count(self, codes: set[str]) -> int:
        with self._lock:
            return sum(1 for c in self.arrivals if c in codes)

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5.0)


# --- CPU accounting (Linux /proc; figures are cores busy over a scenario) -------------------------

ME = "bench (receiver)"  # this process, in cpu_cores


class CpuWindow:
    """Cores busy between start() and stop(), by who (a service, postgres, redis, us)."""

    def __init__(self, services: Sequence[Service]) -> None:
        self.groups = {s.pgid: s.name for s in services}
        self._start: tuple[float, tuple[int, int, int], dict[int, tuple[str, int]]] | None = None

    def start(self) -> None:
        self._start = (time.monotonic(), machine_ticks(), process_ticks(self.groups, ME))

    def stop(self) -> JsonDict:
        assert self._start is not None
        at, machine, procs = self._start
        wall = max(1e-9, time.monotonic() - at)
        busy, _steal, total = (b - a for a, b in zip(machine, machine_ticks(), strict=True))
        by_who: dict[str, int] = {}
        for pid, (who, ticks) in process_ticks(self.groups, ME).items():
            by_who[who] = by_who.get(who, 0) + ticks - procs.get(pid, (who, 0))[1]
        out = {"wall_s": round(wall, 1)}
        out["machine_busy"] = round((os.cpu_count() or 1) * busy / max(1, total), 2)
        ours = 0.0
        for who in sorted(by_who):
            out[who] = round(by_who[who] / CLK_TCK / wall, 2)
            ours += by_who[who] / CLK_TCK / wall
        # Anything else on the machine (other benchmarks, test runs): a noisy neighbour.
        out["other"] = round(max(0.0, out["machine_busy"] - ours), 2)
        out["loadavg_1m"] = round(os.getloadavg()[0], 2)
        return out


# --- PostgreSQL and Redis -------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_redis_db(url: str) -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
        log(f"flushed Redis {url}")
        yield url
    finally:
        with contextlib.suppress(redis.RedisError):
            client.flushdb()
            log(f"flushed Redis {url} again")
        client.close()


# --- the database, from this process --------------------------------------------------------------


def _bench_database_url(database_url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql+asyncpg://" + database_url[len(prefix) :]
    return database_url


@dataclass(frozen=True)
class Group:
    """A contiguous run of check ids armed together, and their codes (as the receiver sees)."""

    name: str
    first_id: int
    last_id: int
    codes: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.codes)


@dataclass(frozen=True)
class Prepared:
    channel_id: int
    groups: dict[str, Group]
    setup: JsonDict
    sweep_idle: JsonDict


def _check_row(project_id: int, tag: str, i: int, now: datetime, last_ping: datetime) -> JsonDict:
    code = uuid.uuid4()
    return {
        "code": code,
        "project_id": project_id,
        "created": now,
        "name": f"{tag} {i}",
        "slug": f"{tag}-{i}",
        "tags": tag,
        "desc": "",
        "kind": "simple",
        "timeout": TIMEOUT_S,
        "grace": GRACE_S,
        "schedule": "* * * * *",
        "tz": "UTC",
        "status": "up",
        "last_ping": last_ping,
        "last_start": None,
        "last_start_rid": None,
        "last_duration": None,
        "alert_after": last_ping + timedelta(seconds=TIMEOUT_S + GRACE_S),
        "n_pings": 1,
        "next_nag_at": None,
        "methods": "",
        "manual_resume": False,
        "filter_subject": False,
        "filter_body": False,
        "filter_http_body": False,
        "filter_default_fail": False,
        "start_kw": "",
        "success_kw": "",
        "failure_kw": "",
        "badge_key": uuid.uuid4(),
    }


async def bulk_insert(db: Any, table: Any, rows: list[JsonDict]) -> None:
    """Insert ``rows`` through the driver: COPY on PostgreSQL, one executemany on SQLite.

    Values are converted by the columns' own SQLAlchemy bind processors (SQLite stores
    uuids and datetimes as text in SQLAlchemy's format, which the sweep compares as text).
    """
    columns = list(rows[0])
    async with db.engine.begin() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        if not db.sqlite:
            await raw.copy_records_to_table(
                table.name, records=[tuple(r[c] for c in columns) for r in rows], columns=columns
            )
            return
        dialect = db.engine.dialect
        processors = [
            table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns
        ]
        pairs = list(zip(columns, processors, strict=True))
        params = [tuple(p(r[c]) if p else r[c] for c, p in pairs) for r in rows]
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        await raw.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', params)


async def prepare(
    database_url: str, project_code: str, receiver_port: int, args: argparse.Namespace
) -> Prepared:
    """Channel, checks (bulk), the channel on the due/burst checks; then time idle sweeps."""
    from sqlalchemy import func, insert, select, text

    from app.db import models as m
    from app.db.engine import Database

    db = Database(_bench_database_url(database_url), pool_size=2)
    try:
        now = utcnow()
        async with db.engine.begin() as conn:
            project_id = (
                await conn.execute(
                    select(m.Project.id).where(m.Project.code == uuid.UUID(project_code))
                )
            ).scalar_one()
            channel_id = (
                await conn.execute(
                    insert(m.Channel)
                    .values(
                        code=uuid.uuid4(),
                        project_id=project_id,
                        created=now,
                        name="bench receiver",
                        kind="webhook",
                        value={
                            "method_down": "POST",
                            "url_down": f"http://127.0.0.1:{receiver_port}/hook",
                            "body_down": "$CODE",
                        },
                        notify_down=True,
                        notify_up=False,
                        disabled=False,
                        last_error="",
                    )
                    .returning(m.Channel.id)
                )
            ).scalar_one()

        # Ids follow insertion order: due checks first, then the burst, then idle ones.
        plan = [
            ("due", args.due),
            ("burst", args.burst),
            ("idle", args.checks - args.due - args.burst),
        ]
        began = time.monotonic()
        idle_ping = now + IDLE_AHEAD
        codes: dict[str, list[str]] = {}
        table = m.Check.__table__
        for tag, count in plan:
            codes[tag] = []
            for start in range(0, count, INSERT_CHUNK):
                rows = [
                    _check_row(project_id, tag, i, now, idle_ping)
                    for i in range(start, min(count, start + INSERT_CHUNK))
                ]
                codes[tag].extend(str(r["code"]) for r in rows)
                await bulk_insert(db, table, rows)
        insert_s = time.monotonic() - began
        async with db.engine.connect() as conn:
            sample = (
                await conn.execute(
                    select(m.Check.code, m.Check.alert_after).where(m.Check.tags == "idle").limit(1)
                )
            ).first()
        expected_after = idle_ping + timedelta(seconds=TIMEOUT_S + GRACE_S)
        if sample is not None and (
            sample.alert_after != expected_after or str(sample.code) not in set(codes["idle"])
        ):
            raise BenchError(f"bulk insert: a check reads back wrong: {sample}")
        groups: dict[str, Group] = {}
        async with db.engine.begin() as conn:
            for tag, _count in plan:
                low, high, n = (
                    await conn.execute(
                        select(func.min(m.Check.id), func.max(m.Check.id), func.count()).where(
                            m.Check.tags == tag
                        )
                    )
                ).one()
                if n and high - low + 1 != n:
                    raise BenchError(f"the {tag} checks' ids are not contiguous")
                groups[tag] = Group(tag, low or 0, high or -1, tuple(codes[tag]))
            links = [
                {"check_id": check_id, "channel_id": channel_id}
                for tag in ("due", "burst")
                for check_id in range(groups[tag].first_id, groups[tag].last_id + 1)
            ]
            for start in range(0, len(links), INSERT_CHUNK):
                await conn.execute(insert(m.check_channels), links[start : start + INSERT_CHUNK])
        if not db.sqlite:
            # Autovacuum would vacuum and analyze tables this size soon after the load, and
            # the load's dirty pages would be flushed by a checkpoint: both during the
            # measured scenarios, as I/O the services did not cause. Do both now.
            async with db.engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM ANALYZE"))
                await autocommit.execute(text("CHECKPOINT"))
        setup = {
            "checks": args.checks,
            "insert_s": round(insert_s, 2),
            "insert_rows_per_s": round(args.checks / max(insert_s, 1e-9)),
        }
        log(f"inserted {args.checks} checks in {insert_s:.1f} s")
        sweep_idle = await time_idle_sweeps(db, args.sweep_runs, args.checks)
        return Prepared(channel_id, groups, setup, sweep_idle)
    finally:
        await db.dispose()


def _sweep_select(db: Any) -> Any:
    """The statement sweep_due_checks issues (app/domain/alerts.py), for EXPLAIN."""
    from sqlalchemy import select

    from app.db import models as m
    from app.domain import alerts

    return alerts._due(
        select(*alerts._SWEEP_COLUMNS)
        .join(m.Project, m.Project.id == m.Check.project_id)
        .where(m.Check.status.in_(("new", "up", "paused")), m.Check.alert_after <= utcnow())
        .order_by(m.Check.alert_after)
        .limit(alerts.SWEEP_BATCH),
        db,
    )


async def explain(db: Any, statement: Any) -> list[str]:
    """The plan of ``statement`` as compiled and bound by SQLAlchemy for this database."""
    from sqlalchemy import event

    prefix = "EXPLAIN QUERY PLAN " if db.sqlite else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "

    def add_prefix(
        _conn: Any, _cursor: Any, sql: str, params: Any, context: Any, _many: bool
    ) -> tuple[str, Any]:
        if context is not None and context.execution_options.get("bench_explain"):
            sql = prefix + sql
        return sql, params

    event.listen(db.engine.sync_engine, "before_cursor_execute", add_prefix, retval=True)
    try:
        async with db.engine.connect() as conn:
            result = await conn.execute(statement, execution_options={"bench_explain": True})
            rows = result.cursor.fetchall() if result.cursor is not None else []
            await conn.rollback()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", add_prefix)
    return [str(row[-1]) for row in rows]


async def time_idle_sweeps(db: Any, runs: int, checks: int) -> JsonDict:
    """sweep_due_checks with nothing due, timed ``runs`` times (after 3 unmeasured runs),
    and the whole idle pass the loop makes every interval (sweep, nags, dispatch)."""
    from app.domain import alerts

    sweeps: list[float] = []
    passes: list[float] = []
    for i in range(runs + 3):
        began = time.perf_counter()
        flips = await alerts.sweep_due_checks(db, utcnow())
        swept = time.perf_counter()
        await alerts.sweep_nags(db, utcnow())
        await alerts.dispatch_due(db, utcnow())
        ended = time.perf_counter()
        if flips:
            raise BenchError(f"an idle sweep flipped {len(flips)} checks: the setup is wrong")
        if i >= 3:
            sweeps.append(swept - began)
            passes.append(ended - began)
    try:
        plan = await explain(db, _sweep_select(db))
    except Exception as error:  # the plan is a diagnostic: never fail the run over it
        plan = [f"(EXPLAIN failed: {type(error).__name__}: {error})"]
    sweep_ms, pass_ms = distribution(sweeps, 1000.0, 2), distribution(passes, 1000.0, 2)
    log(
        f"idle sweep with {checks} checks: p50 {sweep_ms['p50']} ms, p99 {sweep_ms['p99']} ms; "
        f"idle pass p50 {pass_ms['p50']} ms"
    )
    return {
        "checks_present": checks,
        "due": 0,
        "runs": runs,
        "sweep_due_checks_ms": sweep_ms,
        "idle_pass_ms": pass_ms,
        "plan": plan,
    }


# --- scenarios ------------------------------------------------------------------------------------


async def wait_for_sweeper(db: Any, services: Sequence[Service], limit_s: float) -> float:
    """Seconds until some sweep loop holds the "sweeper" lease (redis: the next minute)."""
    from sqlalchemy import select

    from app.db import models as m

    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        for service in services:
            service.check_alive()
        async with db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(m.Lease.holder, m.Lease.expires_at).where(m.Lease.name == "sweeper")
                )
            ).first()
        if row is not None and row.holder and row.expires_at > utcnow():
            return time.monotonic() - began
        await asyncio.sleep(0.2)
    raise BenchError(f"no sweep loop took the sweeper lease within {limit_s:g} s")


async def count_down(db: Any, group: Group) -> int:
    from sqlalchemy import func, select

    from app.db import models as m

    async with db.engine.connect() as conn:
        n = (
            await conn.execute(
                select(func.count()).where(
                    m.Check.id.between(group.first_id, group.last_id), m.Check.status == "down"
                )
            )
        ).scalar_one()
    return int(n)


async def arm(db: Any, group: Group, deadline: datetime) -> float:
    """Make the group's checks due at ``deadline``: exactly what a last ping 120 s before
    it would have stored. Returns how long the UPDATE took."""
    from sqlalchemy import update

    from app.db import models as m

    began = time.monotonic()
    async with db.engine.begin() as conn:
        changed = await conn.execute(
            update(m.Check)
            .where(m.Check.id.between(group.first_id, group.last_id))
            .values(
                last_ping=deadline - timedelta(seconds=TIMEOUT_S + GRACE_S), alert_after=deadline
            )
        )
        if changed.rowcount != group.size:
            raise BenchError(f"arming {group.name}: {changed.rowcount} of {group.size} rows")
    return time.monotonic() - began


async def outbox_figures(
    db: Any, group: Group, deadline: datetime, first: dict[str, float]
) -> JsonDict:
    """Where the time went, from the rows the app wrote (app/domain/alerts.py):

    - ``deadline_to_sweep``: notification.created − deadline, i.e. when the sweep pass that
      flipped the check began (interval phase + earlier passes + batches before it);
    - ``sweep_to_claim``: claim − notification.created, where claim = next_attempt_at − 90 s
      (SEND_LEASE) on a row sent at the first attempt: the rest of the pass, dispatch_due,
      the queue, and waiting for a free worker;
    - ``claim_to_webhook``: webhook arrival − claim: load_event and the HTTP call;
    - ``webhook_to_recorded``: sent_at − arrival: the response and record_result.
    """
    from sqlalchemy import func, select

    from app.db import models as m
    from app.domain.alerts import SEND_LEASE

    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    m.Check.code,
                    m.Notification.created,
                    m.Notification.next_attempt_at,
                    m.Notification.sent_at,
                    m.Notification.failed_at,
                    m.Notification.attempts,
                    m.Notification.error,
                )
                .join(m.Check, m.Check.id == m.Notification.check_id)
                .where(m.Notification.check_id.between(group.first_id, group.last_id))
            )
        ).all()
        flips_per_check = (
            await conn.execute(
                select(m.Flip.check_id, func.count().label("n"))
                .where(m.Flip.check_id.between(group.first_id, group.last_id))
                .group_by(m.Flip.check_id)
            )
        ).all()
    t0 = deadline.timestamp()
    stages: dict[str, list[float]] = {
        "deadline_to_sweep": [],
        "sweep_to_claim": [],
        "claim_to_webhook": [],
        "webhook_to_recorded": [],
    }
    sent = failed = pending = retried = 0
    errors: dict[str, int] = {}
    passes: set[datetime] = set()
    for row in rows:
        passes.add(row.created)
        created = row.created.timestamp()
        stages["deadline_to_sweep"].append(created - t0)
        if row.sent_at is not None:
            sent += 1
        elif row.failed_at is not None:
            failed += 1
        else:
            pending += 1
        if row.error:
            errors[row.error] = errors.get(row.error, 0) + 1
        if row.attempts > 1:
            retried += 1
        arrived = first.get(str(row.code))
        if row.sent_at is None or row.attempts != 1 or arrived is None:
            continue
        claimed = (row.next_attempt_at - SEND_LEASE).timestamp()
        stages["sweep_to_claim"].append(claimed - created)
        stages["claim_to_webhook"].append(arrived - claimed)
        stages["webhook_to_recorded"].append(row.sent_at.timestamp() - arrived)
    out: JsonDict = {
        "flips": sum(r.n for r in flips_per_check),
        "checks_with_several_flips": sum(1 for r in flips_per_check if r.n > 1),
        "notifications": len(rows),
        "sent": sent,
        "failed": failed,
        "pending": pending,
        "retried": retried,
        "sweep_passes": len(passes),
        "stages_s": {name: distribution(values) for name, values in stages.items()},
    }
    if errors:
        out["errors"] = dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5])
    return out


async def run_scenario(
    db: Any,
    receiver: Receiver,
    services: Sequence[Service],
    group: Group,
    args: argparse.Namespace,
    target_s: float,
    target_kind: str,
) -> JsonDict:
    if group.size == 0:
        return {"expected": 0, "skipped": True}
    deadline = datetime.fromtimestamp(time.time() + args.lead, UTC)
    armed_in = await arm(db, group, deadline)
    if deadline.timestamp() - time.time() < 0.5:
        log(
            f"warning: arming {group.name} ended {time.time() - deadline.timestamp():+.2f} s "
            "from its deadline; the first sweep may see them late"
        )
    log(
        f"{group.name}: {group.size} checks armed in {armed_in:.2f} s, due at "
        f"{deadline.strftime('%H:%M:%S.%f')[:-3]}"
    )
    cpu = CpuWindow(services)
    cpu.start()
    wanted = set(group.codes)
    give_up = deadline.timestamp() + args.timeout
    last_log = last_poll = time.monotonic()
    down: list[tuple[float, int]] = []  # (when, how many of the group are down), committed
    while time.time() < give_up:
        for service in services:
            service.check_alive()
        got = receiver.count(wanted)
        if got >= group.size:
            break
        if (not down or down[-1][1] < group.size) and time.monotonic() - last_poll >= 0.25:
            last_poll = time.monotonic()
            down.append((time.time(), await count_down(db, group)))
        if time.monotonic() - last_log >= 5.0:
            log(f"{group.name}: {got}/{group.size} delivered, {down[-1][1] if down else 0} down")
            last_log = time.monotonic()
        await asyncio.sleep(0.05)
    all_in = time.time()
    cpu_cores = cpu.stop()
    await asyncio.sleep(args.settle)  # late duplicates would arrive now
    arrivals = receiver.snapshot(group.codes)
    first = {code: min(times) for code, times in arrivals.items()}
    t0 = deadline.timestamp()
    latencies = [t - t0 for t in first.values()]
    duplicates = sum(len(times) - 1 for times in arrivals.values())
    delivered = len(first)
    complete = delivered == group.size
    out: JsonDict = {
        "expected": group.size,
        "delivered": delivered,
        "missing": group.size - delivered,
        "duplicates": duplicates,
        "latency_s": distribution(latencies),
        "all_delivered_s": round(max(latencies), 3) if complete else None,
    }
    if delivered > 1:
        span = max(first.values()) - min(first.values())
        out["throughput_per_s"] = round(delivered / span, 1) if span > 0 else None
    if target_kind == "p99":
        out["target_p99_s"] = target_s
        out["target_met"] = complete and out["latency_s"]["p99"] <= target_s
    else:
        out["target_all_delivered_s"] = target_s
        out["target_met"] = complete and max(latencies) <= target_s
    out["delivered_within_target"] = sum(1 for x in latencies if x <= target_s)
    if not complete:
        out["gave_up_after_s"] = round(all_in - t0, 1)
        rate = out.get("throughput_per_s")
        if rate:  # an estimate: the rest at the rate seen so far
            missing = group.size - delivered
            out["projected_all_delivered_s"] = round(all_in - t0 + missing / rate, 1)
    # The sweep's share: when every check of the group had been flipped (committed), as
    # polled every 0.25 s; delivery can only be as fast as this.
    t_down = next((at for at, n in down if n >= group.size), None)
    first_down = next((at for at, n in down if n > 0), None)
    out["sweep_flips"] = {
        "first_seen_down_s": round(first_down - t0, 2) if first_down else None,
        "all_down_s": round(t_down - t0, 2) if t_down else None,
        "down_at_end": down[-1][1] if down else None,
        "poll_s": 0.25,
    }
    out["cpu_cores"] = cpu_cores
    out["outbox"] = await outbox_figures(db, group, deadline, first)
    log(
        f"{group.name}: {delivered}/{group.size} delivered, dup {duplicates}, latency p50 "
        f"{out['latency_s'].get('p50')} s p99 {out['latency_s'].get('p99')} s max "
        f"{out['latency_s'].get('max')} s, {out.get('throughput_per_s')}/s, cores {cpu_cores}"
    )
    return out


async def run_scenarios(
    database_url: str,
    receiver: Receiver,
    services: Sequence[Service],
    prepared: Prepared,
    args: argparse.Namespace,
) -> JsonDict:
    from app.db.engine import Database
    from app.domain import alerts

    db = Database(_bench_database_url(database_url), pool_size=2)
    try:
        waited = await wait_for_sweeper(db, services, args.lease_timeout)
        log(f"the sweep loop holds its lease ({waited:.1f} s after the services were up)")
        out: JsonDict = {"sweeper_lease_after_s": round(waited, 1)}
        out["due"] = await run_scenario(
            db, receiver, services, prepared.groups["due"], args, 3.0, "p99"
        )
        out["burst"] = await run_scenario(
            db, receiver, services, prepared.groups["burst"], args, 10.0, "all"
        )
        known = set(prepared.groups["due"].codes) | set(prepared.groups["burst"].codes)
        with receiver._lock:
            stray = sum(len(t) for c, t in receiver.arrivals.items() if c not in known)
        out["unexpected_requests"] = stray + receiver.bad_requests
        out["outbox_after"] = await alerts.counts(db)
        return out
    finally:
        await db.dispose()


# --- one shape, start to end ----------------------------------------------------------------------


def bench_mode(args: argparse.Namespace, mode: str, stack: contextlib.ExitStack) -> JsonDict:
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cronbeat-alerts-")))
    env = service_env(
        "REDIS_URL",
        "DATABASE_URL",
        "SMTPD_PORT",
        SWEEP_INTERVAL=str(args.sweep_interval),
        INTEGRATIONS_ALLOW_PRIVATE_IPS="true",
        PYTHONUNBUFFERED="1",
    )
    if mode == "embedded":
        database_url = f"sqlite+aiosqlite:///{workdir}/alerts.db"
    else:
        require_loopback(args.pg_server, "--pg-server")
        require_loopback(args.redis_url, "--redis-url")
        database_url = stack.enter_context(throwaway_pg_database(args.pg_server, args.pg_database))
        env["REDIS_URL"] = stack.enter_context(throwaway_redis_db(args.redis_url))
    env["DATABASE_URL"] = database_url

    log(f"{mode}: migrating {database_url}")
    project = provision(env, OWNER, "--password", secrets.token_hex(8))
    receiver = Receiver()
    receiver.start()
    stack.callback(receiver.stop)
    log(f"{mode}: webhook receiver on 127.0.0.1:{receiver.port}")
    prepared = asyncio.run(prepare(database_url, project["uuid"], receiver.port, args))

    port = free_port()
    services: list[Service] = []

    def start(name: str, *service_args: str) -> Service:
        keep = Path(args.keep_logs) / f"{mode}-{name}.log" if args.keep_logs else None
        service = Service(name, service_args, env, workdir, keep)
        stack.callback(service.stop)
        services.append(service)
        return service

    began = time.monotonic()
    if mode == "embedded":
        log(f"{mode}: starting cronbeat serve on 127.0.0.1:{port}")
        web = start("serve", "serve", "--host", "127.0.0.1", "--port", str(port))
    else:
        log(
            f"{mode}: starting cronbeat web (127.0.0.1:{port}), worker "
            f"({args.worker_processes} processes × {args.worker_threads} threads), scheduler"
        )
        web = start("web", "web", "--host", "127.0.0.1", "--port", str(port), "--workers", "1")
        start(
            "worker",
            *("worker", "--processes", str(args.worker_processes)),
            *("--threads", str(args.worker_threads)),
        )
        start("scheduler", "scheduler")
    try:
        web.wait_http_ready(port)
        ready_s = time.monotonic() - began
        out: JsonDict = {
            "database": "sqlite" if mode == "embedded" else "postgresql",
            "broker": "in-memory (StubBroker)" if mode == "embedded" else "redis",
            "setup": prepared.setup,
            "sweep_idle": prepared.sweep_idle,
            "services_ready_s": round(ready_s, 1),
        }
        if mode == "redis":
            out["worker"] = {"processes": args.worker_processes, "threads": args.worker_threads}
        else:
            out["worker"] = {"processes": 1, "threads": 4}
        out.update(asyncio.run(run_scenarios(database_url, receiver, services, prepared, args)))
        for service in services:
            service.check_alive()
    except BenchError:
        for service in services:
            log(f"--- {service.name} log (tail) ---\n{service.log_tail(2000)}")
        raise
    for service in reversed(services):
        service.stop()
    return out


# --- command line ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--mode", choices=("embedded", "redis", "both"), default="both")
    p.add_argument("--checks", type=int, default=100_000, help="checks in the database (all)")
    p.add_argument("--due", type=int, default=1000, help="checks due at one deadline")
    p.add_argument("--burst", type=int, default=10_000, help="checks due at the same second")
    p.add_argument("--lead", type=float, default=3.0, help="seconds from arming to deadline")
    p.add_argument("--timeout", type=float, default=45.0, help="give up a scenario after this")
    p.add_argument("--settle", type=float, default=2.0, help="wait for duplicates this long")
    p.add_argument("--sweep-interval", type=float, default=1.0, help="SWEEP_INTERVAL")
    p.add_argument("--sweep-runs", type=int, default=50, help="timed idle sweeps")
    p.add_argument(
        "--lease-timeout",
        type=float,
        default=90.0,
        help="wait this long for a sweep loop (periodiq starts one each minute)",
    )
    p.add_argument("--worker-processes", type=int, default=2, help="redis: cronbeat worker")
    p.add_argument("--worker-threads", type=int, default=8, help="redis: cronbeat worker")
    p.add_argument("--pg-server", default=DEFAULT_PG_SERVER, help="where the throwaway DB goes")
    p.add_argument("--pg-database", default=DEFAULT_PG_DATABASE, help="throwaway database name")
    p.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="flushed before and after")
    p.add_argument("--keep-logs", metavar="DIR", help="copy the services' logs here")
    args = p.parse_args(argv)
    if min(args.due, args.burst) < 0 or args.due + args.burst > args.checks:
        p.error("--due and --burst must be ≥ 0 and fit in --checks")
    if min(args.worker_processes, args.worker_threads, args.sweep_runs) < 1:
        p.error("--worker-processes, --worker-threads and --sweep-runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, raise_interrupt)  # clean up on `kill` as on Ctrl-C
    began = time.monotonic()
    modes = ("embedded", "redis") if args.mode == "both" else (args.mode,)
    document: JsonDict = {
        "machine": machine_info(),
        "settings": {
            "modes": list(modes),
            "checks": args.checks,
            "due": args.due,
            "burst": args.burst,
            "sweep_interval_s": args.sweep_interval,
            "lead_s": args.lead,
            "timeout_s": args.timeout,
            "check_timeout_s": TIMEOUT_S,
            "check_grace_s": GRACE_S,
            "receiver": "asyncio, 127.0.0.1, in the bench process",
        },
        "results": {},
    }

    def run() -> None:
        for mode in modes:
            with contextlib.ExitStack() as stack:
                document["results"][mode] = bench_mode(args, mode, stack)

    return run_and_print(document, began, run, "subprocesses and databases")


if __name__ == "__main__":
    sys.exit(main())
