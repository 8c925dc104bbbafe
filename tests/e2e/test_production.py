"""The production shape as an operator runs it: the Procfile's lines under honcho, on PostgreSQL
and Redis, each process on its own.

The story, in one test: the release line migrates a fresh database; web, worker, scheduler and
smtpd start; a user, a project and a webhook channel are created the way README says; a /fail
ping fires the webhook once and the recovery once; an email ping lands. Then every process is
sent SIGTERM while deliveries are in flight, and started again: every alert arrives exactly
once. Then Redis goes away for 30 s: pings still answer OK (and are all recorded), and the
alerts of checks that failed meanwhile go out once Redis is back.

Isolation: a database of its own (``cronbeat_e2e_<random>``) on TEST_DATABASE_URL's server,
dropped at the end; a Redis database number of its own (only that one is flushed), reached
through a loopback proxy that the test can shut, so the shared Redis service keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROCFILE = ROOT / "Procfile"
BIN = Path(sys.executable).parent
HONCHO = str(BIN / "honcho") if (BIN / "honcho").exists() else shutil.which("honcho") or "honcho"
CRONBEAT = str(BIN / "cronbeat") if (BIN / "cronbeat").exists() else shutil.which("cronbeat")
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
E2E_REDIS_DB = 12  # this test's own Redis database: the only one it flushes
SERVICES = ("web", "worker", "scheduler", "smtpd")
MAIL_DOMAIN = "e2e.example.org"
METRICS_KEY = "e2e-metrics-key"

# The fresh-machine run (SQLite, in-memory broker) has neither: this test belongs to the run
# against PostgreSQL and Redis, where a configured service that does not answer fails it.
if not (TEST_DATABASE_URL and TEST_REDIS_URL):
    pytest.skip("needs TEST_DATABASE_URL and TEST_REDIS_URL", allow_module_level=True)


def wait_for(what: str, predicate: Callable[[], bool], seconds: float) -> None:
    """Poll an effect of other processes until it shows; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- PostgreSQL: a database of our own ----------------------------------------------------


def _asyncpg_dsn(url: str) -> str:
    return re.sub(r"^postgres(ql)?(\+asyncpg)?://", "postgresql://", url)


def _admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL), timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    name = f"cronbeat_e2e_{secrets.token_hex(4)}"
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except Exception as error:
        message = f"TEST_DATABASE_URL is set but PostgreSQL is not usable: {error}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    parts = urllib.parse.urlsplit(_asyncpg_dsn(TEST_DATABASE_URL))
    yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Redis: our own database number, behind a proxy we can shut --------------------------


class TcpProxy:
    """Loopback TCP forwarding to Redis. ``shut()`` drops every connection and refuses new
    ones (what clients see when Redis stops); ``open()`` listens on the same port again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def shut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # shut
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture(scope="module")
def redis_proxy() -> Iterator[TcpProxy]:
    import redis

    parts = urllib.parse.urlsplit(TEST_REDIS_URL)
    target = (parts.hostname or "127.0.0.1", parts.port or 6379)
    own = redis.Redis(host=target[0], port=target[1], db=E2E_REDIS_DB, socket_timeout=5)
    try:
        own.flushdb()
    except Exception as error:
        message = f"TEST_REDIS_URL is set but Redis does not answer: {error}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    proxy = TcpProxy(target)
    proxy.open()
    yield proxy
    proxy.shut()
    own.flushdb()
    own.close()


# --- the webhook receiver ------------------------------------------------------------------


class Receiver:
    """A real HTTP server on 127.0.0.1 recording every webhook call ("<code> <status>")."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                time.sleep(receiver.delay)  # a slow vendor: deliveries stay in flight
                with receiver._lock:
                    receiver.calls.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, body: str) -> int:
        with self._lock:
            return self.calls.count(body)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.calls)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.server.shutdown()


# --- the Procfile under honcho -------------------------------------------------------------


@dataclass
class Honcho:
    """``honcho start`` of some Procfile lines, its output collected by a thread."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, env: dict[str, str], *names: str, port: int | None = None) -> Honcho:
        argv = [HONCHO, "start", "-f", str(PROCFILE), "-d", str(ROOT), "--no-colour"]
        if port is not None:
            argv += ["-p", str(port)]  # the first named process (web) gets PORT=port
        process = subprocess.Popen(
            [*argv, *names],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        honcho = cls(process)
        threading.Thread(target=honcho._read, daemon=True).start()
        return honcho

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def has(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def exit_codes(self) -> dict[str, str]:
        """What honcho reported for each process: ``<name>.1 stopped (rc=<code>)``."""
        codes = {}
        for line in list(self.lines):
            if found := re.search(r"(\w+)\.1 stopped \(rc=(-?\d+)\)", line):
                codes[found.group(1)] = found.group(2)
        return codes

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as a platform stops a release: honcho passes it to every process."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            pytest.fail(f"honcho did not stop within {timeout} s:\n{self.output()}")


@dataclass
class Stack:
    env: dict[str, str]
    base: str
    smtp_port: int
    database_url: str
    running: Honcho | None = None
    api_key: str = ""

    def start(self) -> Honcho:
        self.running = Honcho.start(self.env, *SERVICES, port=int(self.env["PORT"]))

        def healthy() -> bool:
            assert self.running is not None
            if self.running.process.poll() is not None:
                pytest.fail(f"honcho exited while starting:\n{self.running.output()}")
            try:
                return httpx.get(f"{self.base}/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        running = self.running
        wait_for("the web process to answer /health", healthy, 40)
        wait_for("the worker to start", lambda: running.has("threads on queues"), 30)
        wait_for("smtpd to listen", lambda: running.has("Email pings on smtp://"), 30)
        return running

    def stop(self) -> dict[str, str]:
        """Stop honcho and every process; what each process exited with."""
        assert self.running is not None
        self.running.stop()
        return self.running.exit_codes()

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [CRONBEAT, *args], env=self.env, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture(scope="module")
def stack(database_url: str, redis_proxy: TcpProxy) -> Iterator[Stack]:
    port = free_port()
    smtp_port = free_port()
    env = {
        **os.environ,
        # The Procfile says `cronbeat …`: as after `pip install`, it is on the PATH.
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/{E2E_REDIS_DB}",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "SITE_ROOT": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "WORKER_PROCESSES": "1",
        "WORKER_THREADS": "4",
        "DB_POOL_SIZE": "5",
        "SMTPD_PORT": str(smtp_port),
        "PING_EMAIL_DOMAIN": MAIL_DOMAIN,
        "SWEEP_INTERVAL": "1",
        "INTEGRATIONS_ALLOW_PRIVATE_IPS": "true",
        "METRICS_KEY": METRICS_KEY,
        "LOG_FORMAT": "json",
    }
    for name in ("TEST_DATABASE_URL", "TEST_REDIS_URL"):
        env.pop(name, None)
    the_stack = Stack(
        env=env, base=f"http://127.0.0.1:{port}", smtp_port=smtp_port, database_url=database_url
    )
    yield the_stack
    if the_stack.running is not None and the_stack.running.process.poll() is None:
        the_stack.running.stop()


# --- the test --------------------------------------------------------------------------------


def check_codes(stack: Stack, ping_key: str, slugs: list[str]) -> dict[str, str]:
    """Create checks by their first ping (?create=1; they get every channel of the project);
    returns slug -> uuid."""
    with httpx.Client(base_url=stack.base, timeout=10) as client:
        for slug in slugs:
            r = client.get(f"/ping/{ping_key}/{slug}", params={"create": "1"})
            assert r.status_code == 201, r.text
        checks = client.get("/api/v3/checks/", headers={"X-Api-Key": stack.api_key}).json()
    codes = {c["slug"]: c["uuid"] for c in checks["checks"] if c["slug"] in slugs}
    assert set(codes) == set(slugs)
    return codes


def fail(stack: Stack, ping_key: str, slug: str) -> None:
    r = httpx.get(f"{stack.base}/ping/{ping_key}/{slug}/fail", timeout=10)
    assert (r.status_code, r.text) == (200, "OK")


def test_the_procfile_runs_the_whole_system_and_loses_nothing(
    stack: Stack, receiver: Receiver, redis_proxy: TcpProxy
) -> None:
    # --- release, then the processes ---------------------------------------------------------
    release = Honcho.start(stack.env, "release")
    assert release.process.wait(60) == 0, release.output()
    wait_for("release output", lambda: release.has("database is up to date"), 5)
    first_run = stack.start()

    stack.cli("users", "create", "ops@example.org")
    project = json.loads(
        stack.cli("projects", "create", "--owner", "ops@example.org", "--name", "Ops", "--json")
    )
    stack.api_key = project["api_key"]
    ping_key = project["ping_key"]
    channel = httpx.post(
        f"{stack.base}/api/v3/channels/",
        headers={"X-Api-Key": project["api_key"]},
        json={
            "name": "hook",
            "kind": "webhook",
            "value": {
                "method_down": "POST",
                "url_down": receiver.url,
                "body_down": "$CODE down",
                "method_up": "POST",
                "url_up": receiver.url,
                "body_up": "$CODE up",
            },
        },
        timeout=10,
    )
    assert channel.status_code == 201, channel.text

    # --- one /fail: one webhook; the recovery: one more ----------------------------------------
    (backup,) = check_codes(stack, ping_key, ["backup"]).values()
    fail(stack, ping_key, "backup")
    wait_for("the down webhook", lambda: receiver.count(f"{backup} down") == 1, 30)
    assert httpx.get(f"{stack.base}/ping/{ping_key}/backup", timeout=10).text == "OK"
    wait_for("the up webhook", lambda: receiver.count(f"{backup} up") == 1, 30)

    # --- an email ping through the smtpd line ---------------------------------------------------
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=10) as smtp:
        smtp.sendmail("cron@example.org", [f"{backup}@{MAIL_DOMAIN}"], b"Subject: ok\r\n\r\nok")
    wait_for(
        "the email ping in the log",
        lambda: any(p["scheme"] == "email" for p in api_pings(stack, backup)),
        15,
    )

    # --- SIGTERM every process while deliveries are in flight, then start again -----------------
    receiver.delay = 0.5  # a slow vendor: a batch of deliveries takes a while
    burst = check_codes(stack, ping_key, [f"burst-{i}" for i in range(40)])
    slugs = list(burst)
    for slug in slugs[:20]:
        fail(stack, ping_key, slug)
    burst_calls = {f"{code} down" for code in burst.values()}
    wait_for(
        "the first burst webhook",
        lambda: any(call in burst_calls for call in receiver.snapshot()),
        30,
    )
    for slug in slugs[20:]:  # down, and not yet dispatched when the processes stop
        fail(stack, ping_key, slug)
    codes = stack.stop()
    assert codes == dict.fromkeys(SERVICES, "0"), first_run.output()[-5000:]
    assert not first_run.has("Killing worker")
    arrived_before_restart = sum(receiver.count(f"{code} down") for code in burst.values())
    receiver.delay = 0.0
    second_run = stack.start()
    wait_for(
        "every burst webhook after the restart",
        lambda: all(receiver.count(f"{code} down") >= 1 for code in burst.values()),
        60,
    )

    # --- Redis away for 30 s: pings answer OK, alerts wait, then go out -------------------------
    outage = check_codes(stack, ping_key, [f"outage-{i}" for i in range(5)])
    redis_proxy.shut()
    shut_at = time.monotonic()
    answered = 0
    with httpx.Client(base_url=stack.base, timeout=10) as client:
        for slug in outage:
            r = client.get(f"/ping/{ping_key}/{slug}/fail")
            assert (r.status_code, r.text) == (200, "OK")
        while time.monotonic() - shut_at < 30:
            r = client.get(f"/ping/{ping_key}/backup")
            assert (r.status_code, r.text) == (200, "OK")
            answered += 1
            time.sleep(0.25)  # pacing the pings during the outage, not an assertion
    assert all(receiver.count(f"{code} down") == 0 for code in outage.values())
    redis_proxy.open()
    wait_for(
        "the outage's webhooks once Redis is back",
        lambda: all(receiver.count(f"{code} down") == 1 for code in outage.values()),
        45,
    )

    # --- exactly once: every notification sent once, and received once ------------------------
    wait_for("the outbox to drain", lambda: undelivered(stack) == 0, 30)
    expected = [f"{backup} down", f"{backup} up"]
    expected += [f"{code} down" for code in [*burst.values(), *outage.values()]]
    assert sorted(sent_notifications(stack)) == sorted(expected)
    assert sorted(receiver.snapshot()) == sorted(expected)  # nothing lost, nothing doubled
    assert 0 < arrived_before_restart < len(burst)  # the SIGTERM did land mid-delivery
    # Every ping that answered OK is recorded: 1 create + 1 fail + 1 success + 1 email + …
    assert api_check(stack, backup)["n_pings"] == 4 + answered

    # --- the workers' figures reached the web through Redis -------------------------------------
    metrics = httpx.get(
        f"{stack.base}/api/v3/metrics/", headers={"X-Metrics-Key": METRICS_KEY}, timeout=10
    ).text
    delivered = re.search(
        r'^cronbeat_actor_messages_total\{actor="deliver_notifications",outcome="ok"\} (\d+)',
        metrics,
        re.MULTILINE,
    )
    assert delivered and int(delivered.group(1)) >= 3, metrics

    codes = stack.stop()
    assert codes == dict.fromkeys(SERVICES, "0"), second_run.output()[-5000:]


def api_check(stack: Stack, code: str) -> dict[str, object]:
    r = httpx.get(
        f"{stack.base}/api/v3/checks/{code}", headers={"X-Api-Key": stack.api_key}, timeout=10
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def api_pings(stack: Stack, code: str) -> list[dict[str, object]]:
    r = httpx.get(
        f"{stack.base}/api/v3/checks/{code}/pings/",
        headers={"X-Api-Key": stack.api_key},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return list(r.json()["pings"])


def undelivered(stack: Stack) -> int:
    r = httpx.get(
        f"{stack.base}/api/v3/metrics/", headers={"X-Metrics-Key": METRICS_KEY}, timeout=10
    )
    found = re.search(r"^cronbeat_undelivered_notifications (\d+)$", r.text, re.MULTILINE)
    assert found, r.text
    return int(found.group(1))


def sent_notifications(stack: Stack) -> list[str]:
    """Every notification the database records as sent, as the receiver would see it."""
    import asyncpg

    async def query() -> list[str]:
        conn = await asyncpg.connect(stack.database_url, timeout=10)
        try:
            rows = await conn.fetch(
                "SELECT c.code, n.check_status FROM notifications n"
                " JOIN checks c ON c.id = n.check_id WHERE n.sent_at IS NOT NULL"
            )
        finally:
            await conn.close()
        return [f"{row['code']} {row['check_status']}" for row in rows]

    return asyncio.run(query())
