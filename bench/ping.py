"""Ping-ingest benchmark: Cronbeat's web process against SQLite and PostgreSQL.

Starts the server itself (``cronbeat web``) on a fresh database, or targets a running one
with ``--url``; loads it from separate client processes (64 concurrent connections by
default) and prints ONE JSON document to stdout. Progress goes to stderr. On PostgreSQL it
also measures the ceiling: a one-statement ping (``ONE_STATEMENT_PING``) on the same check, run
by asyncpg with the same concurrency and no web layer in between.

    .venv/bin/python bench/ping.py                 # both databases, defaults (< 3 min)
    .venv/bin/python bench/ping.py --db postgres --duration 5
    .venv/bin/python bench/ping.py --url http://127.0.0.1:8000 --ping-key KEY --db sqlite

See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import signal
import sqlite3
import sys
import tempfile
import time
import urllib.parse
import uuid
from array import array
from collections import Counter
from collections.abc import Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.util import find_spec
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/_common.py

from _common import (
    CLK_TCK,
    DEFAULT_PG_SERVER,
    BenchError,
    JsonDict,
    Service,
    asyncpg_dsn,
    free_port,
    log,
    machine_info,
    machine_ticks,
    percentile,
    pg_run,
    process_ticks,
    provision,
    raise_interrupt,
    require_loopback,
    run_and_print,
    service_env,
    throwaway_pg_database,
)

USER_AGENT = "cronbeat-bench/1"
N_CHECKS = 1000
BODY_1KB = (b"cronbeat bench body " * 52)[:1024]


# --- what a client process is asked to do, and what it answers ----------------------------------


@dataclass(frozen=True)
class HttpTarget:
    method: str
    path: str
    body: bytes = b""


@dataclass(frozen=True)
class LoadSpec:
    """One client process's share of a load: HTTP requests, or the ping statement (asyncpg)."""

    kind: str  # "http" | "sql"
    connections: int
    proc_index: int
    procs: int
    warmup: float
    duration: float
    client: str = "raw"  # http: "raw" (asyncio streams) | "httpx"
    host: str = "127.0.0.1"
    port: int = 0
    targets: tuple[HttpTarget, ...] = ()
    dsn: str = ""
    sql: str = ""
    param_names: tuple[str, ...] = ()
    params: JsonDict = field(default_factory=dict)


@dataclass
class LoadResult:
    ok: int = 0
    errors: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)
    latencies_ms: array[float] = field(default_factory=lambda: array("d"))
    cpu_s: float = 0.0
    unfinished: int = 0


class Window:
    """The measured interval [t0, t1] on the monotonic clock (shared by all processes)."""

    def __init__(self, start: float, warmup: float, duration: float) -> None:
        self.t0 = start + warmup
        self.t1 = self.t0 + duration

    def record(self, result: LoadResult, began: float, ended: float, error: str | None) -> None:
        if not self.t0 <= ended <= self.t1:
            return
        if error is None:
            result.ok += 1
            result.latencies_ms.append((ended - began) * 1000.0)
        else:
            result.errors += 1
            result.error_kinds[error] += 1


# --- client process: HTTP over raw asyncio streams ----------------------------------------------


def _encode_request(target: HttpTarget, host: str, port: int) -> bytes:
    lines = [
        f"{target.method} {target.path} HTTP/1.1",
        f"Host: {host}:{port}",
        f"User-Agent: {USER_AGENT}",
    ]
    if target.body or target.method in ("POST", "PUT"):
        lines += ["Content-Type: text/plain", f"Content-Length: {len(target.body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + target.body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response; return (status, server closes the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length: int | None = None
    chunked = close = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:
        await reader.read()  # body until EOF
        close = True
    return status, close


async def _raw_connection(
    spec: LoadSpec, requests: list[bytes], turn: Iterator[int], window: Window, out: LoadResult
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while time.monotonic() < window.t1:
            request = requests[next(turn)]
            began = time.monotonic()
            error: str | None = None
            try:
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(spec.host, spec.port)
                writer.write(request)
                status, close = await _read_response(reader)
                if not 200 <= status < 300:
                    error = str(status)
            except (
                OSError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ValueError,
            ) as exc:
                error, close = f"exc:{type(exc).__name__}", True
            window.record(out, began, time.monotonic(), error)
            if close and writer is not None:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


# --- client process: HTTP through httpx ---------------------------------------------------------


async def _httpx_load(
    spec: LoadSpec, turn: Iterator[int], window: Window, out: LoadResult
) -> list[Awaitable[None]]:
    import httpx

    limits = httpx.Limits(
        max_connections=spec.connections, max_keepalive_connections=spec.connections
    )
    client = httpx.AsyncClient(
        base_url=f"http://{spec.host}:{spec.port}",
        limits=limits,
        timeout=30.0,
        headers={"User-Agent": USER_AGENT},
    )

    async def one_connection() -> None:
        while time.monotonic() < window.t1:
            target = spec.targets[next(turn)]
            began = time.monotonic()
            error: str | None = None
            try:
                response = await client.request(
                    target.method, target.path, content=target.body or None
                )
                if not 200 <= response.status_code < 300:
                    error = str(response.status_code)
            except httpx.HTTPError as exc:
                error = f"exc:{type(exc).__name__}"
            window.record(out, began, time.monotonic(), error)

    async def close_after(tasks: list[Awaitable[None]]) -> None:
        try:
            await asyncio.gather(*tasks)
        finally:
            await client.aclose()

    return [close_after([one_connection() for _ in range(spec.connections)])]


# --- client process: the ping statement through asyncpg -----------------------------------------


async def _sql_load(spec: LoadSpec, window: Window, out: LoadResult) -> list[Awaitable[None]]:
    import asyncpg  # type: ignore[import-untyped]

    conns = [await asyncpg.connect(spec.dsn) for _ in range(spec.connections)]

    async def one_connection(conn: Any) -> None:
        statement = await conn.prepare(spec.sql)  # as SQLAlchemy's asyncpg dialect does
        values = dict(spec.params)
        try:
            while time.monotonic() < window.t1:
                values["now"] = datetime.now(UTC)
                args = [values[name] for name in spec.param_names]
                began = time.monotonic()
                error: str | None = None
                try:
                    rows = await statement.fetch(*args)
                    if len(rows) != 1:
                        error = f"rows:{len(rows)}"
                except asyncpg.PostgresError as exc:
                    error = f"exc:{type(exc).__name__}"
                window.record(out, began, time.monotonic(), error)
        finally:
            await conn.close()

    return [one_connection(conn) for conn in conns]


# --- client process: main -----------------------------------------------------------------------


def _round_robin(spec: LoadSpec, n_targets: int) -> Iterator[int]:
    """This process's turn through the targets, interleaved with the other processes."""
    i = spec.proc_index
    while True:
        yield i % n_targets
        i += spec.procs


async def _client_main(spec: LoadSpec, pipe: Connection) -> LoadResult:
    out = LoadResult()
    window = Window(0.0, 0.0, 0.0)  # set once the start time arrives
    turn = _round_robin(spec, max(1, len(spec.targets)))
    work: list[Awaitable[None]]
    if spec.kind == "sql":
        work = await _sql_load(spec, window, out)
    elif spec.client == "httpx":
        work = await _httpx_load(spec, turn, window, out)
    else:
        requests = [_encode_request(t, spec.host, spec.port) for t in spec.targets]
        work = [_raw_connection(spec, requests, turn, window, out) for _ in range(spec.connections)]
    pipe.send("ready")
    loop = asyncio.get_running_loop()
    start: float = await loop.run_in_executor(None, pipe.recv)
    window.t0, window.t1 = start + spec.warmup, start + spec.warmup + spec.duration
    await asyncio.sleep(max(0.0, start - time.monotonic()))

    async def cpu_meter() -> None:
        await asyncio.sleep(max(0.0, window.t0 - time.monotonic()))
        began = time.process_time()
        await asyncio.sleep(max(0.0, window.t1 - time.monotonic()))
        out.cpu_s = time.process_time() - began

    tasks = [asyncio.ensure_future(w) for w in work]
    meter = asyncio.ensure_future(cpu_meter())
    _done, late = await asyncio.wait(tasks, timeout=window.t1 - time.monotonic() + 30.0)
    for task in late:
        task.cancel()
    out.unfinished = len(late)
    await meter
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            out.errors += 1
            out.error_kinds[f"task:{type(task.exception()).__name__}"] += 1
    return out


def _client_process(spec: LoadSpec, pipe: Connection) -> None:
    """Entry point of a client process (spawned): run the load, send back a LoadResult."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
    if find_spec("uvloop"):
        import uvloop

        result = uvloop.run(_client_main(spec, pipe))
    else:
        result = asyncio.run(_client_main(spec, pipe))
    pipe.send(result)


# --- CPU accounting (Linux /proc; all figures are "cores busy" over the window) -----------------


@dataclass
class CpuMark:
    at: float
    machine: tuple[int, int, int]
    processes: dict[int, tuple[str, int]]


class CpuSampler:
    """Cores busy over the window, by whom. ``other`` is everything else on the machine."""

    def __init__(self, web_pgid: int | None) -> None:
        self.web_pgid = web_pgid
        self.groups = {} if web_pgid is None else {web_pgid: "web"}
        self.marks: list[CpuMark] = []

    def mark(self) -> None:
        self.marks.append(CpuMark(time.monotonic(), machine_ticks(), process_ticks(self.groups)))

    def report(self, client_cpu_s: float) -> JsonDict:
        first, last = self.marks[-2:]
        wall = last.at - first.at
        cpus = os.cpu_count() or 1
        busy, steal, total = (b - a for a, b in zip(first.machine, last.machine, strict=True))
        by_group: Counter[str] = Counter()
        for pid, (group, ticks) in last.processes.items():
            by_group[group] += ticks - first.processes.get(pid, (group, 0))[1]
        cores = {group: by_group[group] / CLK_TCK / wall for group in ("web", "postgres")}
        machine = cpus * busy / max(1, total)
        report = {
            "machine_busy": machine,
            "web": cores["web"],
            "postgres": cores["postgres"],
            "client": client_cpu_s / wall,
            "other": machine - cores["web"] - cores["postgres"] - client_cpu_s / wall,
            "steal": cpus * steal / max(1, total),
        }
        if self.web_pgid is None:
            del report["web"]
        return {key: round(max(0.0, value), 2) for key, value in report.items()}


# --- running a load -----------------------------------------------------------------------------


def run_load(
    base: LoadSpec, procs: int, web_pgid: int | None, label: str, rate: str = "pings_per_s"
) -> JsonDict:
    """Spread ``base.connections`` over ``procs`` client processes; aggregate their results."""
    context = multiprocessing.get_context("spawn")
    workers: list[tuple[Any, Connection]] = []
    sampler = CpuSampler(web_pgid)
    finished = False
    try:
        for i in range(procs):
            share = base.connections // procs + (1 if i < base.connections % procs else 0)
            spec = dataclasses.replace(base, connections=share, proc_index=i)
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_client_process, args=(spec, child_end), daemon=True)
            process.start()
            child_end.close()
            workers.append((process, parent_end))
        for _process, pipe in workers:
            if not pipe.poll(60.0) or pipe.recv() != "ready":
                raise BenchError(f"{label}: a client process did not get ready")
        start = time.monotonic() + 0.1
        for _process, pipe in workers:
            pipe.send(start)
        log(
            f"{label}: {base.connections} connections, {procs} client process(es), "
            f"{base.warmup:g} s warm-up + {base.duration:g} s"
        )
        time.sleep(max(0.0, start + base.warmup - time.monotonic()))
        sampler.mark()
        time.sleep(max(0.0, start + base.warmup + base.duration - time.monotonic()))
        sampler.mark()
        results: list[LoadResult] = []
        for _process, pipe in workers:
            if not pipe.poll(60.0):
                raise BenchError(f"{label}: a client process did not report")
            results.append(pipe.recv())
        finished = True
    finally:
        for process, pipe in workers:
            process.join(timeout=5.0 if finished else 0.0)
            if process.is_alive():
                process.terminate()
                process.join(timeout=2.0)
            if process.is_alive():
                process.kill()
            pipe.close()
    latencies = sorted(x for r in results for x in r.latencies_ms)
    ok = sum(r.ok for r in results)
    kinds: Counter[str] = Counter()
    for r in results:
        kinds.update(r.error_kinds)
    unfinished = sum(r.unfinished for r in results)
    if unfinished:
        kinds["unfinished_connections"] += unfinished
    errors = sum(r.errors for r in results) + unfinished
    summary: JsonDict = {
        rate: round(ok / base.duration, 1),
        "ok": ok,
        "errors": errors,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else 0.0,
        "mean_ms": round(sum(latencies) / len(latencies), 2) if latencies else 0.0,
        "cpu_cores": sampler.report(sum(r.cpu_s for r in results)),
    }
    cores = summary["cpu_cores"]
    if ok:
        # CPU per request is what survives a noisy machine best: compare these across runs.
        summary["cpu_ms_per_request"] = {
            who: round(1000.0 * cores[who] * base.duration / ok, 3)
            for who in ("web", "postgres", "client")
            if who in cores
        }
    if kinds:
        summary["error_kinds"] = dict(kinds.most_common(10))
    log(
        f"{label}: {summary[rate]}/s p50 {summary['p50_ms']} ms p99 {summary['p99_ms']} ms "
        f"max {summary['max_ms']} ms errors {errors} cores {summary['cpu_cores']}"
    )
    return summary


# --- the server under test and its database -----------------------------------------------------


def check_code(database_url: str, slug: str) -> str:
    """The uuid of the check with ``slug`` (the ping API has no way to tell it)."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        with contextlib.closing(sqlite3.connect(path)) as db:
            row = db.execute("SELECT code FROM checks WHERE slug = ?", (slug,)).fetchone()
        return str(uuid.UUID(str(row[0])))
    [rows] = pg_run(
        database_url, f"SELECT code FROM checks WHERE slug = '{slug}' ORDER BY id LIMIT 1"
    )
    return str(rows[0]["code"])


def create_checks(base_url: str, ping_key: str, expect_new: bool, concurrency: int) -> JsonDict:
    """Ping check-0 … check-999 once each with ?create=1 (201 Created when new).

    On SQLite this must be sequential: concurrent auto-provisioning answers 500 ("database
    is locked") because create_check_for_slug takes neither the writer lock nor BEGIN
    IMMEDIATE (see bench/README.md).
    """
    import httpx

    statuses: Counter[str] = Counter()

    async def main() -> None:
        queue = iter(range(N_CHECKS))
        async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:

            async def one() -> None:
                for i in queue:
                    try:
                        r = await client.get(f"/ping/{ping_key}/check-{i}?create=1")
                        statuses[str(r.status_code)] += 1
                    except httpx.HTTPError as exc:
                        statuses[f"exc:{type(exc).__name__}"] += 1

            await asyncio.gather(*(one() for _ in range(concurrency)))

    began = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(main(), timeout=240.0))
    except TimeoutError:
        raise BenchError(f"creating {N_CHECKS} checks took over 240 s: {dict(statuses)}") from None
    good = {"201"} if expect_new else {"200", "201"}
    bad = set(statuses) - good
    log(f"created checks: {dict(statuses)} in {time.monotonic() - began:.1f} s")
    if bad:
        raise BenchError(f"creating {N_CHECKS} checks: unexpected answers {dict(statuses)}")
    seconds = round(time.monotonic() - began, 1)
    return {"answers": dict(statuses), "concurrency": concurrency, "seconds": seconds}


# --- scenarios ----------------------------------------------------------------------------------


def scenarios(
    args: argparse.Namespace,
    port: int,
    ping_key: str,
    code: str | None,
    web_pgid: int | None,
    label: str,
    pg_url: str | None = None,
) -> JsonDict:
    base = LoadSpec(
        kind="http",
        connections=args.concurrency,
        proc_index=0,
        procs=args.client_procs,
        warmup=args.warmup,
        duration=args.duration,
        client=args.client,
        port=port,
    )
    plans: dict[str, tuple[HttpTarget, ...]] = {
        "round_robin_1000": tuple(
            HttpTarget("GET", f"/ping/{ping_key}/check-{i}") for i in range(N_CHECKS)
        ),
    }
    if code is not None:
        plans = {
            "one_check": (HttpTarget("GET", f"/ping/{code}"),),
            **plans,
            "post_1kb": (HttpTarget("POST", f"/ping/{code}", BODY_1KB),),
        }
    results: JsonDict = {}
    if pg_url:
        time.sleep(1.1)  # let the set-up's connections report
    sessions = pg_sessions(pg_url) if pg_url else 0
    for name in args.scenarios:
        if name not in plans:
            log(f"{label}: skipping {name}: no check uuid (give --check-uuid or --database-url)")
            continue
        spec = dataclasses.replace(base, targets=plans[name])
        results[name] = run_load(spec, args.client_procs, web_pgid, f"{label} {name}")
        if pg_url:
            # Connections the web workers opened (warm-up included): a pool that fits the load
            # opens its connections once, in the first scenario. Backends report with ~1 s lag.
            time.sleep(1.1)
            now = pg_sessions(pg_url)
            results[name]["pg_sessions_opened"] = now - sessions - 1
            sessions = now
    return results


def pg_sessions(dsn: str) -> int:
    """Sessions ever opened to the database (PostgreSQL 14+; reported with ~1 s of lag)."""
    [rows] = pg_run(dsn, "SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
    return int(rows[0]["sessions"] or 0)


def pg_table_stats(dsn: str) -> JsonDict:
    """How the pings updated `checks`: HOT updates avoid touching its five indexes."""
    [rows] = pg_run(
        dsn,
        "SELECT n_tup_upd, n_tup_hot_upd, n_dead_tup, pg_relation_size('checks') AS heap,"
        " pg_indexes_size('checks') AS indexes FROM pg_stat_user_tables WHERE relname = 'checks'",
    )
    row = rows[0]
    return {
        "updates": row["n_tup_upd"],
        "hot_updates": row["n_tup_hot_upd"],
        "dead_tuples": row["n_dead_tup"],
        "heap_bytes": row["heap"],
        "index_bytes": row["indexes"],
    }


# The one-statement ping: what any ping service must do at the least (count the ping, stamp the
# check, keep the ping), one statement per ping in autocommit. Cronbeat does more per ping
# (kind rules, durations, deadlines, flips) but shares a transaction among concurrent pings.
ONE_STATEMENT_PING = """
WITH u AS (
    UPDATE checks SET n_pings = n_pings + 1, last_ping = $2, status = 'up'
    WHERE code = $1 RETURNING id, n_pings
)
INSERT INTO pings (check_id, n, kind, created, scheme, remote_addr, method, ua)
SELECT id, n_pings, 'success', $2, 'http', $3, 'GET', $4 FROM u
RETURNING n
"""


def ceiling(args: argparse.Namespace, database_url: str, code: str) -> JsonDict:
    """The one-statement ping alone on the same check: asyncpg, prepared, autocommit."""
    spec = LoadSpec(
        kind="sql",
        connections=args.ceiling_concurrency,
        proc_index=0,
        procs=args.ceiling_procs,
        warmup=args.warmup,
        duration=args.duration,
        dsn=asyncpg_dsn(database_url),
        sql=ONE_STATEMENT_PING,
        param_names=("code", "now", "remote_addr", "ua"),
        params={
            "code": uuid.UUID(code),
            "now": datetime.now(UTC),
            "remote_addr": "127.0.0.1",
            "ua": USER_AGENT,
        },
    )
    return run_load(spec, args.ceiling_procs, None, "postgres ceiling", "statements_per_s")


def add_ceiling(out: JsonDict, args: argparse.Namespace, database_url: str, code: str) -> None:
    """The ceiling into ``out``, and how close one_check came to it."""
    out["ceiling"] = ceiling(args, database_url, code)
    ours = out.get("one_check", {}).get("pings_per_s")
    if ours is not None and out["ceiling"]["statements_per_s"]:
        out["ratio_to_ceiling"] = round(ours / out["ceiling"]["statements_per_s"], 3)


# --- one database, start to end -----------------------------------------------------------------


@dataclass
class LocalDatabase:
    """A fresh database with the schema, one user and one project (keys in ``project``)."""

    kind: str
    url: str
    env: dict[str, str]
    workdir: Path
    workers: int
    project: JsonDict = field(default_factory=dict)


def create_database(
    args: argparse.Namespace, kind: str, stack: contextlib.ExitStack
) -> LocalDatabase:
    """An empty database, removed when ``stack`` closes (on errors and Ctrl-C too)."""
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cronbeat-bench-")))
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir}/bench.db"
        workers = args.sqlite_workers
    else:
        require_loopback(args.pg_server, "--pg-server")
        url = stack.enter_context(throwaway_pg_database(args.pg_server, args.pg_database))
        workers = args.pg_workers
    env = service_env(DATABASE_URL=url)
    return LocalDatabase(kind, url, env, workdir, workers)


def provision_database(db: LocalDatabase) -> None:
    """Schema, user and project through the CLI (each call pays the app's ~2 s import)."""
    log(f"{db.kind}: migrating {db.url}, creating a user and a project")
    db.project = provision(db.env, "bench@example.org")  # no password: no argon2 wait


def bench_local(
    args: argparse.Namespace, db: LocalDatabase, stack: contextlib.ExitStack
) -> JsonDict:
    db_kind, database_url, workers, env, project = db.kind, db.url, db.workers, db.env, db.project
    port = free_port()
    log(f"{db_kind}: starting cronbeat web on 127.0.0.1:{port} with {workers} worker(s)")
    server = Service(
        "web",
        ("web", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        env,
        db.workdir,
    )
    stack.callback(server.stop)
    server.wait_http_ready(port, timeout=30.0, tail=True)
    base_url = f"http://127.0.0.1:{port}"
    setup = create_checks(
        base_url, project["ping_key"], expect_new=True, concurrency=1 if db_kind == "sqlite" else 16
    )
    code = check_code(database_url, "check-0")
    out: JsonDict = {"workers": workers, "setup": setup}
    pg_url = database_url if db_kind == "postgres" else None
    out.update(scenarios(args, port, project["ping_key"], code, server.pgid, db_kind, pg_url))
    if server.process.poll() is not None:
        raise BenchError(f"cronbeat web died during the run:\n{server.log_tail()}")
    server.stop()
    if pg_url:
        time.sleep(0.5)  # the statistics collector lags a little
        out["checks_table"] = pg_table_stats(pg_url)
    if db_kind == "postgres" and not args.no_ceiling:
        add_ceiling(out, args, database_url, code)
    return out


def bench_remote(args: argparse.Namespace) -> JsonDict:
    require_loopback(args.url, "--url")
    parts = urllib.parse.urlsplit(args.url)
    if parts.path not in ("", "/"):
        raise BenchError("--url must be the server's root (SITE_ROOT with a path is unsupported)")
    port = parts.port or 80
    setup = create_checks(args.url.rstrip("/"), args.ping_key, expect_new=False, concurrency=1)
    code = args.check_uuid
    if code is None and args.database_url:
        require_loopback(args.database_url, "--database-url")
        code = check_code(args.database_url, "check-0")
    out: JsonDict = {"setup": setup}
    out.update(
        scenarios(args, port, args.ping_key, code, None, args.db if args.db != "both" else "target")
    )
    pg = bool(args.database_url) and not args.database_url.startswith("sqlite")
    if pg and code is not None and not args.no_ceiling:
        add_ceiling(out, args, args.database_url, code)
    return out


# --- command line -------------------------------------------------------------------------------

SCENARIOS = ("one_check", "round_robin_1000", "post_1kb")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before")
    p.add_argument("--concurrency", type=int, default=64, help="concurrent clients (connections)")
    p.add_argument("--client-procs", type=int, default=2, help="load-generator processes")
    p.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="raw asyncio streams (default; cheapest) or httpx.AsyncClient",
    )
    p.add_argument("--workers", type=int, default=None, help="web workers for both databases")
    p.add_argument("--sqlite-workers", type=int, default=1)
    p.add_argument("--pg-workers", type=int, default=2)
    p.add_argument("--pg-server", default=DEFAULT_PG_SERVER, help="where the throwaway DB goes")
    p.add_argument("--pg-database", default="cronbeat_bench", help="throwaway database name")
    p.add_argument(
        "--ceiling-procs", type=int, default=1, help="processes running the asyncpg ceiling loop"
    )
    p.add_argument(
        "--ceiling-concurrency",
        type=int,
        default=None,
        help="connections for the ceiling (default: --concurrency)",
    )
    p.add_argument("--no-ceiling", action="store_true", help="skip the PostgreSQL ceiling")
    p.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    p.add_argument("--url", help="benchmark this running server instead of starting one")
    p.add_argument("--ping-key", help="with --url: a project's ping key")
    p.add_argument(
        "--check-uuid",
        help="with --url: the check for one_check/post_1kb "
        "(default: check-0's, looked up through --database-url)",
    )
    p.add_argument("--database-url", help="with --url: its DATABASE_URL (uuid lookup, ceiling)")
    args = p.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := set(args.scenarios) - set(SCENARIOS):
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.workers is not None:
        args.sqlite_workers = args.pg_workers = args.workers
    if args.url and not args.ping_key:
        p.error("--url needs --ping-key")
    if min(args.concurrency, args.client_procs, args.ceiling_procs) < 1:
        p.error("--concurrency, --client-procs and --ceiling-procs must be at least 1")
    args.ceiling_concurrency = args.ceiling_concurrency or args.concurrency
    if args.client_procs > args.concurrency or args.ceiling_procs > args.ceiling_concurrency:
        p.error("more processes than connections")
    return args


def busy_cores(seconds: float = 1.0) -> float:
    """Cores busy on the machine right now: a benchmark on a busy machine measures noise."""
    busy0, _steal0, all0 = machine_ticks()
    time.sleep(seconds)
    busy1, _steal1, all1 = machine_ticks()
    return round((os.cpu_count() or 1) * (busy1 - busy0) / max(1, all1 - all0), 2)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C and `kill` both unwind through the cleanup. Our own SIGINT handler also keeps
    # asyncio.run() from installing its own, which only cancels the running task (and an
    # absorbed cancellation would let the run go on).
    signal.signal(signal.SIGINT, raise_interrupt)
    signal.signal(signal.SIGTERM, raise_interrupt)
    began = time.monotonic()
    document: JsonDict = {
        "machine": {**machine_info(), "busy_cores_before": busy_cores()},
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "concurrency": args.concurrency,
            "client": args.client,
            "client_procs": args.client_procs,
            "ceiling_procs": args.ceiling_procs,
            "ceiling_concurrency": args.ceiling_concurrency,
            "web_workers": {"sqlite": args.sqlite_workers, "postgres": args.pg_workers},
            "db_pool_size": os.environ.get("DB_POOL_SIZE") or "app default (10, overflow 10)",
            "checks": N_CHECKS,
            "post_body_bytes": len(BODY_1KB),
            "uvicorn_loop": "uvloop" if find_spec("uvloop") else "asyncio",
            "uvicorn_http": "httptools" if find_spec("httptools") else "h11",
        },
        "results": {},
    }
    if document["machine"]["busy_cores_before"] > 0.25:
        log(
            f"warning: {document['machine']['busy_cores_before']} cores were already busy "
            "before the run; the figures will be noisy (each scenario reports cpu_cores.other)"
        )

    def run() -> None:
        if args.url:
            key = args.db if args.db != "both" else "target"
            document["settings"]["url"] = args.url
            document["results"][key] = bench_remote(args)
            return
        kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
        with contextlib.ExitStack() as stack:
            databases = [create_database(args, kind, stack) for kind in kinds]
            # The CLI calls are mostly Python start-up: provision both databases at once.
            with ThreadPoolExecutor(len(databases)) as pool:
                for _ in pool.map(provision_database, databases):
                    pass
            for db in databases:
                with contextlib.ExitStack() as server_stack:
                    document["results"][db.kind] = bench_local(args, db, server_stack)

    return run_and_print(document, began, run, "subprocesses and the database")


if __name__ == "__main__":
    sys.exit(main())
