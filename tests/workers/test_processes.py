"""`cronbeat worker` and `cronbeat scheduler` as processes: they start without Redis and stop
cleanly (exit 0) on SIGTERM, also when a process manager signals the whole group twice."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from tests.e2e.test_cli import CRONBEAT


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(tmp_path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cronbeat.db",
        "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0",  # nobody listens: Redis is "down"
        "LOG_FORMAT": "json",
    }
    return subprocess.Popen(
        [CRONBEAT, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as honcho starts it
    )


def wait_for_line(process: subprocess.Popen[str], needle: str, seconds: float = 30) -> list[str]:
    """Read the process's output until a line contains ``needle``."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if needle in line:
            return lines
    process.kill()
    pytest.fail(f"no line with {needle!r}:\n{''.join(lines)}")


def stop_twice(process: subprocess.Popen[str]) -> tuple[int, str]:
    # honcho/systemd signal the group, and a supervisor may pass the signal on again.
    os.killpg(process.pid, signal.SIGTERM)
    time.sleep(0.2)  # let the first signal land before the repeat (not an assertion)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    return process.returncode, out


@pytest.mark.parametrize("processes", ["1", "2"])
def test_worker_stops_cleanly_on_sigterm_twice(tmp_path, processes: str) -> None:
    process = start(tmp_path, "worker", "--processes", processes, "--threads", "2")
    wait_for_line(process, "threads on queues")
    code, out = stop_twice(process)
    assert code == 0, out
    assert "Killing" not in out
    assert "worker: stopped" in out or "worker.1: stopped" in out


def group_members(pgid: int) -> int:
    """How many processes are in the process group (Linux /proc)."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                count += int(fields[2]) == pgid
    return count


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process group from /proc")
def test_worker_children_survive_a_stop_while_they_start(tmp_path) -> None:
    # Supervisor, resource tracker and two children: the children are still importing.
    process = start(tmp_path, "worker", "--processes", "2", "--threads", "1")
    deadline = time.monotonic() + 30
    while group_members(process.pid) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    code, out = stop_twice(process)
    assert code == 0, out
    assert "worker.1: stopped" in out, out
    assert "worker.2: stopped" in out, out


def test_scheduler_retries_without_redis_and_stops_cleanly(tmp_path) -> None:
    process = start(tmp_path, "scheduler")
    lines = wait_for_line(process, "could not enqueue sweep")
    record = json.loads(lines[-1])
    assert record["process"] == "scheduler"
    assert record["level"] == "warning"
    code, out = stop_twice(process)
    assert code == 0, out
    assert "scheduler stopped" in out


def test_smtpd_stops_cleanly_on_sigterm_twice(tmp_path) -> None:
    from tests.e2e.test_cli import run

    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cronbeat.db"}
    run(env, "db", "upgrade")
    process = start(tmp_path, "smtpd", "--port", str(closed_port()))
    wait_for_line(process, "Email pings on smtp://")
    code, out = stop_twice(process)
    assert code == 0, out
    assert "Email pings stopped" in out
