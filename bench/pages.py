"""Page-render benchmark: server time of the checks page with 1,000 checks and of a check's
details page with 1,000 pings (target: under 150 ms each), on SQLite and PostgreSQL.

Builds the data in a fresh database, signs in through the login form, and requests each page
through the ASGI app in-process (httpx's ASGITransport: no sockets, so the figure is the
server's own work: routing, session, queries, template). Prints ONE JSON document to stdout;
progress goes to stderr.

    .venv/bin/python bench/pages.py                     # SQLite only
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432 .venv/bin/python bench/pages.py

With BENCH_DATABASE_URL (a loopback PostgreSQL server), a throwaway database is created on
that server, used, and dropped; the database the URL names is not touched.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/_common.py
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the app

from _common import (
    BenchError,
    JsonDict,
    log,
    machine_info,
    percentile,
    raise_interrupt,
    require_loopback,
    run_and_print,
    throwaway_pg_database,
)

TARGET_MS = 150
EMAIL = "bench@example.org"
PASSWORD = "bench password"
NOW = datetime.now(UTC).replace(microsecond=0)


# --- data ----------------------------------------------------------------------------------------


def _check_values(project_id: int, i: int) -> dict[str, object]:
    """A realistic mix: mostly up, some late/down/new/paused, a fifth on cron schedules."""
    values: dict[str, object] = {
        "code": uuid.uuid4(),
        "badge_key": uuid.uuid4(),
        "project_id": project_id,
        "created": NOW - timedelta(days=400) + timedelta(minutes=i),
        "name": f"job {i:04d}",
        "slug": f"job-{i:04d}",
        "tags": " ".join(t for t, every in (("prod", 2), ("db", 3), ("web", 5)) if i % every == 0),
        "desc": "nightly task" if i % 7 == 0 else "",
        "status": ("up", "up", "up", "down", "new", "paused")[i % 6],
        "last_ping": None if i % 6 == 4 else NOW - timedelta(minutes=i % 1500),
        "kind": "simple",
        "schedule": "* * * * *",
        "tz": "UTC",
    }
    if i % 5 == 0:
        values.update(kind="cron", schedule="*/15 * * * *", tz="Europe/Riga")
    return values


async def build(database_url: str, checks: int, pings: int) -> tuple[str, str]:
    """The user, a project with ``checks`` checks, one of them with ``pings`` pings;
    (project code, the pinged check's code)."""
    from sqlalchemy import insert, update

    from app.db import models as m
    from app.db.engine import Database
    from app.domain import accounts

    db = Database(database_url, pool_size=2)
    try:
        async with db.sessionmaker() as session, session.begin():
            user = await accounts.create_user(session, EMAIL, password=PASSWORD)
            project, _ = await accounts.create_project(session, user, "bench", secret_key="x" * 32)
            project_id, project_code = project.id, project.code
        rows = [_check_values(project_id, i) for i in range(checks)]
        async with db.engine.begin() as conn:
            await conn.execute(insert(m.Check), rows)
            check_id = (
                await conn.execute(
                    insert(m.Check)
                    .values(_check_values(project_id, checks) | {"name": "pinged", "status": "up"})
                    .returning(m.Check.id, m.Check.code)
                )
            ).one()
            await conn.execute(
                insert(m.Ping),
                [
                    {
                        "check_id": check_id.id,
                        "n": n,
                        "kind": ("success", "start", "fail")[n % 3],
                        "created": NOW - timedelta(minutes=pings - n),
                        "scheme": "https",
                        "remote_addr": "10.0.0.1",
                        "method": "POST",
                        "ua": "curl/8.5.0",
                        "body": b"ok",
                        "exitstatus": 0,
                    }
                    for n in range(1, pings + 1)
                ],
            )
            await conn.execute(
                update(m.Check).where(m.Check.id == check_id.id).values(n_pings=pings)
            )
        return str(project_code), str(check_id.code)
    finally:
        await db.dispose()


# --- measuring -----------------------------------------------------------------------------------


async def measure(database_url: str, pages: dict[str, str], requests: int) -> dict[str, JsonDict]:
    """Per page: request it ``requests`` times (after 3 unmeasured), timings in ms."""
    import httpx

    from app.config import load_settings
    from app.db.engine import Database
    from app.main import create_app, settle_memory

    secret = secrets.token_hex(16)
    settings = replace(
        load_settings({"SECRET_KEY": secret, "SITE_ROOT": "http://bench.local"}),
        database_url=database_url,
    )
    db = Database(database_url, pool_size=5)
    app = create_app(settings, db=db)
    settle_memory()  # what the app's start-up does in a server (ASGITransport skips it)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    results: dict[str, JsonDict] = {}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as client:
            await _sign_in(client)
            for name, url in pages.items():
                timings, cpu = [], []
                for i in range(3 + requests):
                    began, began_cpu = time.perf_counter(), time.process_time()
                    response = await client.get(url)
                    elapsed = (time.perf_counter() - began) * 1000
                    elapsed_cpu = (time.process_time() - began_cpu) * 1000
                    if response.status_code != 200:
                        raise BenchError(f"{url} answered {response.status_code}")
                    if i >= 3:
                        timings.append(elapsed)
                        cpu.append(elapsed_cpu)
                results[name] = _summary(timings, len(response.content))
                # CPU time of this process (server and in-process client): on a busy
                # machine, wall time also counts the time other processes held the CPU.
                results[name]["cpu_p50_ms"] = round(statistics.median(cpu), 1)
    finally:
        await db.dispose()
    return results


async def _sign_in(client: object) -> None:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    await client.get("/accounts/login/")
    token = client.cookies.get("cronbeat_csrf")
    response = await client.post(
        "/accounts/login/", data={"email": EMAIL, "password": PASSWORD, "_csrf_token": token}
    )
    if response.status_code != 303:
        raise BenchError(f"sign-in failed: {response.status_code}")


def _summary(timings: list[float], size: int) -> JsonDict:
    ordered = sorted(timings)
    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(percentile(ordered, 0.95), 1),
        "max_ms": round(ordered[-1], 1),
        "bytes": size,
    }


def run_database(kind: str, database_url: str, args: argparse.Namespace) -> list[JsonDict]:
    from app.db.migrate import upgrade

    log(f"{kind}: migrating and building {args.checks} checks, {args.pings} pings")
    upgrade(database_url)
    project, check = asyncio.run(build(database_url, args.checks, args.pings))
    pages = {
        "checks": f"/projects/{project}/checks/",
        "check-details": f"/checks/{check}/",
    }
    log(f"{kind}: rendering each page {args.requests} times")
    measured = asyncio.run(measure(database_url, pages, args.requests))
    rows: list[JsonDict] = []
    for page, figures in measured.items():
        size = {"checks": args.checks} if page == "checks" else {"pings": args.pings}
        rows.append(
            {
                "page": page,
                "database": kind,
                **size,
                **figures,
                "target_ms": TARGET_MS,
                "meets_target": figures["p95_ms"] < TARGET_MS,
            }
        )
    return rows


@contextlib.contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="cronbeat-bench-pages-") as scratch:
        yield f"sqlite+aiosqlite:///{scratch}/bench.db"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--checks", type=int, default=1000, help="checks in the project")
    p.add_argument("--pings", type=int, default=1000, help="pings of the details page's check")
    p.add_argument("--requests", type=int, default=30, help="measured requests per page")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    signal.signal(signal.SIGTERM, raise_interrupt)
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(16))
    pg_server = os.environ.get("BENCH_DATABASE_URL", "")
    document: JsonDict = {
        "benchmark": "pages",
        "machine": machine_info(),
        "settings": {"checks": args.checks, "pings": args.pings, "requests": args.requests},
        "results": [],
    }

    def run() -> None:
        with sqlite_url() as url:
            document["results"] += run_database("sqlite", url, args)
        if pg_server:
            require_loopback(pg_server, "BENCH_DATABASE_URL")
            server = pg_server.replace("postgresql+asyncpg://", "postgresql://", 1)
            with throwaway_pg_database(server, "cronbeat_bench_pages") as dsn:
                url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
                document["results"] += run_database("postgresql", url, args)
        else:
            document["postgresql"] = "skipped: set BENCH_DATABASE_URL to a loopback server"

    return run_and_print(document, began, run, "temporary databases")


if __name__ == "__main__":
    sys.exit(main())
