"""`cronbeat serve` as a new user runs it: a real process on a real port, pinged over HTTP."""

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.test_cli import CRONBEAT, run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[str, dict[str, str]]]:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cronbeat.db",
        "SECRET_KEY": "test-secret-key",
        "SWEEP_INTERVAL": "1",
        "INTEGRATIONS_ALLOW_PRIVATE_IPS": "true",
    }
    port = free_port()
    process = subprocess.Popen(
        [CRONBEAT, "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"cronbeat serve did not start:\n{process.stdout.read()}")
        time.sleep(0.1)  # waiting for a subprocess to listen, not for time to pass
    yield base, env
    process.terminate()
    process.wait(timeout=15)


def test_serve_migrates_and_takes_pings(served):
    base, env = served
    run(env, "users", "create", "you@example.org")
    project = json.loads(
        run(
            env, "projects", "create", "--owner", "you@example.org", "--name", "Mine", "--json"
        ).stdout
    )
    ping_url = f"{base}/ping/{project['ping_key']}/nightly-backup"

    created = httpx.get(ping_url, params={"create": "1"})
    assert (created.status_code, created.text) == (201, "Created")
    again = httpx.post(f"{ping_url}/fail", content=b"disk full")
    assert (again.status_code, again.text) == (200, "OK")
    assert again.headers["ping-body-limit"] == "10000"

    health = httpx.get(f"{base}/health")
    assert health.json() == {"status": "ok", "database": "ok"}
    home = httpx.get(f"{base}/")
    assert home.status_code == 200
    assert "Checks" in home.text


def wait_for(predicate, seconds=20.0):
    """Poll a subprocess's effect (a webhook arriving); fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the webhook")
        time.sleep(0.05)


def test_a_fail_ping_fires_the_webhook_once_and_recovery_once(served, httpserver):
    base, env = served
    httpserver.expect_request("/hook").respond_with_data("ok")
    run(env, "users", "create", "ops@example.org")
    project = json.loads(
        run(
            env, "projects", "create", "--owner", "ops@example.org", "--name", "Ops", "--json"
        ).stdout
    )
    channel = httpx.post(
        f"{base}/api/v3/channels/",
        headers={"X-Api-Key": project["api_key"]},
        json={
            "name": "hook",
            "kind": "webhook",
            "value": {
                "method_down": "POST",
                "url_down": httpserver.url_for("/hook"),
                "body_down": "$NAME $STATUS",
                "method_up": "POST",
                "url_up": httpserver.url_for("/hook"),
                "body_up": "$NAME $STATUS",
            },
        },
    )
    assert channel.status_code == 201, channel.text
    ping_url = f"{base}/ping/{project['ping_key']}/backup"
    assert httpx.get(ping_url, params={"create": "1"}).status_code == 201

    assert httpx.get(f"{ping_url}/fail").text == "OK"
    wait_for(lambda: len(httpserver.log) >= 1)
    assert httpx.get(ping_url).text == "OK"
    wait_for(lambda: len(httpserver.log) >= 2)
    time.sleep(2.5)  # two more sweep intervals: nothing else may arrive
    assert [request.data for request, _ in httpserver.log] == [b"backup down", b"backup up"]
