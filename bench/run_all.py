"""Run every benchmark and write one JSON report with the machine it ran on.

    .venv/bin/python bench/run_all.py            # full sizes: minutes, on a quiet machine
    .venv/bin/python bench/run_all.py --quick    # tiny sizes: checks that they run
    .venv/bin/python bench/run_all.py --only ping --args ping="--db postgres --duration 5"

Each benchmark (bench/ping.py, bench/alerts.py, and bench/pages.py when it exists) runs as its
own process, one after the other, and prints one JSON document; this script collects them into
``bench/results/latest.json`` (``quick.json`` with ``--quick``, or ``--out``) beside the
machine's description: CPU model, cores, memory, OS, Python, and the PostgreSQL and Redis
versions the benchmarks talked to. Progress goes to stderr. The exit status is 0 only if
every benchmark succeeded.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BENCHMARKS = ("ping", "alerts", "pages")  # in this order; a missing script is skipped
DEFAULT_PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
# --quick: the smallest sizes that still exercise every scenario (seconds, not minutes).
QUICK_ARGS = {
    "ping": ["--duration", "1", "--warmup", "0.5", "--concurrency", "8", "--client-procs", "1"],
    "alerts": [
        "--checks", "300", "--due", "20", "--burst", "50",
        "--timeout", "20", "--settle", "1", "--sweep-runs", "5",
    ],
    "pages": [],
}  # fmt: skip
JsonDict = dict[str, Any]


def log(message: str) -> None:
    print(f"[run_all {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the machine --------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def os_name() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return platform.system()


def postgres_version(server: str) -> str | None:
    try:
        import asyncpg
    except ImportError:
        return None

    async def ask() -> str:
        conn = await asyncpg.connect(server.rstrip("/") + "/postgres", timeout=5)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    try:
        return asyncio.run(ask())
    except Exception as error:
        log(f"PostgreSQL version unknown: {error}")
        return None


def redis_version(url: str) -> str | None:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            return str(client.info("server")["redis_version"])
        finally:
            client.close()
    except Exception as error:
        log(f"Redis version unknown: {error}")
        return None


def git_commit() -> JsonDict:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain"))}


def machine(pg_server: str, redis_url: str) -> JsonDict:
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": memory_gib(),
        "os": os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": postgres_version(pg_server),
        "redis": redis_version(redis_url),
        "hostname": platform.node(),
    }


# --- the benchmarks -------------------------------------------------------------------------------


def run_one(name: str, argv: list[str], bench_dir: Path) -> JsonDict:
    """Run ``bench/<name>.py``; its stdout must be one JSON document."""
    command = [sys.executable, str(bench_dir / f"{name}.py"), *argv]
    log(f"{name}: {shlex.join(command[1:])}")
    began = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    entry: JsonDict = {
        "argv": argv,
        "exit_code": done.returncode,
        "elapsed_s": round(time.monotonic() - began, 1),
        "result": None,
    }
    if done.returncode == 0:
        try:
            entry["result"] = json.loads(done.stdout)
        except json.JSONDecodeError as error:
            entry["exit_code"] = -1
            entry["error"] = f"output is not JSON: {error}"
    else:
        entry["error"] = f"exited with {done.returncode} (its stderr above says why)"
    log(f"{name}: {'ok' if entry['result'] is not None else 'FAILED'} in {entry['elapsed_s']} s")
    return entry


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not figures")
    p.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these")
    p.add_argument(
        "--args",
        action="append",
        default=[],
        metavar='NAME="ARGS"',
        help='extra arguments for one benchmark (after --quick\'s), e.g. ping="--db sqlite"',
    )
    p.add_argument(
        "--out",
        type=Path,
        help="default: bench/results/latest.json (commit it with README's figures), "
        "or bench/results/quick.json with --quick",
    )
    p.add_argument("--pg-server", default=DEFAULT_PG_SERVER, help="for its version")
    p.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="for its version")
    p.add_argument("--bench-dir", type=Path, default=BENCH, help=argparse.SUPPRESS)  # tests
    args = p.parse_args(argv)
    extra: dict[str, list[str]] = {}
    for item in args.args:
        name, sep, value = item.partition("=")
        if not sep or name not in BENCHMARKS:
            p.error(f"--args takes NAME=ARGS with NAME one of {', '.join(BENCHMARKS)}: {item!r}")
        extra[name] = extra.get(name, []) + shlex.split(value)
    args.extra = extra
    if args.out is None:
        args.out = BENCH / "results" / ("quick.json" if args.quick else "latest.json")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    report: JsonDict = {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(args.pg_server, args.redis_url),
        "git": git_commit(),
        "benchmarks": {},
    }
    # bench/pages.py measures PostgreSQL too when told where a server is.
    os.environ.setdefault("BENCH_DATABASE_URL", args.pg_server)
    for name in args.only or BENCHMARKS:
        if not (args.bench_dir / f"{name}.py").exists():
            log(f"{name}: no bench/{name}.py, skipped")
            continue
        argv_for = (QUICK_ARGS[name] if args.quick else []) + args.extra.get(name, [])
        report["benchmarks"][name] = run_one(name, argv_for, args.bench_dir)
    report["elapsed_s"] = round(time.monotonic() - began, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    log(f"report: {args.out}")
    failed = [name for name, entry in report["benchmarks"].items() if entry["result"] is None]
    if failed:
        log(f"failed: {', '.join(failed)}")
    return 1 if failed or not report["benchmarks"] else 0


if __name__ == "__main__":
    sys.exit(main())
