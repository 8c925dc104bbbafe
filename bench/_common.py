"""What bench/ping.py and bench/alerts.py share: logging, `cronbeat` subprocesses in their own
process groups, free ports, loopback checks, a throwaway PostgreSQL database, CLI provisioning,
percentiles and CPU accounting from /proc.

Not a script: the benchmarks import it as ``_common`` (they put bench/ on ``sys.path`` first,
so ``python bench/ping.py`` keeps working).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

DEFAULT_PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
BIN = Path(sys.executable).parent
CRONBEAT = str(BIN / "cronbeat") if (BIN / "cronbeat").exists() else shutil.which("cronbeat")
CLK_TCK = os.sysconf("SC_CLK_TCK")
JsonDict = dict[str, Any]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """Something the run cannot go on without; the message says what."""


def raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    """A signal handler: unwind through the cleanup as on Ctrl-C."""
    raise KeyboardInterrupt


def machine_info() -> JsonDict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_and_print(document: JsonDict, began: float, run: Callable[[], None], cleaned: str) -> int:
    """``run()`` (it fills ``document``), then print the document as JSON: the exit status.

    On a BenchError or an interrupt, log it (``cleaned``: what the cleanup ended) instead.
    """
    try:
        run()
    except BenchError as error:
        log(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        log(f"interrupted; {cleaned} were cleaned up")
        return 130
    document["settings"]["elapsed_s"] = round(time.monotonic() - began, 1)
    print(json.dumps(document, indent=2))
    return 0


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest rank of an already sorted sequence (0.0 when empty)."""
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


# --- the services under test ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_loopback(url: str, what: str) -> None:
    if url.startswith("sqlite"):
        return  # a file
    host = urllib.parse.urlsplit(url.replace("+asyncpg", "")).hostname or ""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError as error:
        raise BenchError(f"{what}: cannot resolve {host!r}: {error}") from None
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise BenchError(f"{what} must be a loopback address (this benchmark stays local): {url}")


def service_env(*drop: str, **settings: str) -> dict[str, str]:
    """This process's environment for the services: without what would override their
    command line (and ``drop``), with a fresh SECRET_KEY and ``settings``."""
    unwanted = {"WEB_CONCURRENCY", "PORT", "HOST", *drop}
    env = {k: v for k, v in os.environ.items() if k not in unwanted}
    env.update(SECRET_KEY=secrets.token_hex(16), **settings)
    return env


def cronbeat(env: dict[str, str], *args: str) -> str:
    if CRONBEAT is None:
        raise BenchError("the `cronbeat` command is not installed (pip install -e .)")
    done = subprocess.run(
        [CRONBEAT, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"cronbeat {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def provision(env: dict[str, str], owner: str, *user_args: str) -> JsonDict:
    """Schema, a user and a project named "bench" through the CLI; the project as JSON."""
    cronbeat(env, "db", "upgrade")
    cronbeat(env, "users", "create", owner, *user_args)
    project: JsonDict = json.loads(
        cronbeat(env, "projects", "create", "--owner", owner, "--name", "bench", "--json")
    )
    return project


class Service:
    """A `cronbeat …` subprocess in its own process group, ended (group and all) by stop()."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        env: dict[str, str],
        workdir: Path,
        keep_as: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self.keep_as = keep_as
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [CRONBEAT or "cronbeat", *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pgid = self.process.pid  # a session leader's group id is its pid
        self._stopped = False

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(ValueError):
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(
                f"cronbeat {self.name} exited ({self.process.returncode}):\n{self.log_tail()}"
            )

    def wait_http_ready(self, port: int, timeout: float = 60.0, tail: bool = False) -> None:
        """Until GET /health on ``port`` answers 200 (``tail``: the log in the error)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        message = f"cronbeat {self.name} did not answer /health in {timeout:g} s"
        raise BenchError(f"{message}:\n{self.log_tail()}" if tail else message)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10.0)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pgid, signal.SIGKILL)
                self.process.wait(timeout=5.0)
        # Children left behind by a killed supervisor share its group: end them too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        self._log.close()
        if self.keep_as is not None:
            self.keep_as.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.log_path, self.keep_as)


# --- PostgreSQL -----------------------------------------------------------------------------------


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_database(server_url: str, database: str) -> str:
    parts = urllib.parse.urlsplit(asyncpg_dsn(server_url))
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


def pg_run(dsn: str, *statements: str) -> list[Any]:
    """Run ``statements`` one after the other on a new connection; each one's rows."""
    import asyncpg  # type: ignore[import-untyped]

    async def main() -> list[Any]:
        conn = await asyncpg.connect(asyncpg_dsn(dsn), timeout=10)
        try:
            return [await conn.fetch(s) for s in statements]
        finally:
            await conn.close()

    return asyncio.run(main())


@contextlib.contextmanager
def throwaway_pg_database(server_url: str, name: str) -> Iterator[str]:
    admin = _with_database(server_url, "postgres")
    quoted = '"' + name.replace('"', '""') + '"'
    pg_run(admin, f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)", f"CREATE DATABASE {quoted}")
    log(f"created PostgreSQL database {name}")
    try:
        yield _with_database(server_url, name)
    finally:
        pg_run(admin, f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        log(f"dropped PostgreSQL database {name}")


# --- CPU accounting (Linux /proc) -----------------------------------------------------------------


def machine_ticks() -> tuple[int, int, int]:
    """(busy, steal, all) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    busy = user + nice + system + irq + softirq
    return busy, steal, busy + steal + idle + iowait


def process_ticks(groups: dict[int, str], me: str | None = None) -> dict[int, tuple[str, int]]:
    """pid -> (who, utime+stime): processes of the ``groups`` (pgid -> who), this process
    (as ``me``, if given), PostgreSQL and Redis."""
    found: dict[int, tuple[str, int]] = {}
    my_pid = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        ticks = int(rest[11]) + int(rest[12])
        pid, pgid = int(entry.name), int(rest[2])
        if pgid in groups:
            found[pid] = (groups[pgid], ticks)
        elif me is not None and pid == my_pid:
            found[pid] = (me, ticks)
        elif comm.startswith("postgres"):
            found[pid] = ("postgres", ticks)
        elif comm.startswith("redis-server"):
            found[pid] = ("redis-server", ticks)
    return found
