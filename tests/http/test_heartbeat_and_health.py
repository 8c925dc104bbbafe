"""Heartbeat Central's POST /heartbeat/<uuid>, and the /health liveness probe."""

from __future__ import annotations

import uuid

import httpx
import pytest

from app.db.engine import Database
from app.main import create_app


async def test_heartbeat_records_a_success_ping(client, factory, clock):
    check = await factory.check()
    r = await client.post(f"/heartbeat/{check.code}", content=b"alive")
    assert r.status_code == 200
    assert r.text == "OK"
    assert r.headers["access-control-allow-origin"] == "*"
    assert "no-cache" in r.headers["cache-control"]

    check = await factory.reload(check)
    assert check.status == "up"
    assert check.last_ping == clock()
    [ping] = await factory.pings(check)
    assert ping.kind == "success"
    assert ping.method == "POST"
    assert ping.body == b"alive"
    assert ping.remote_addr == "10.1.2.3"


async def test_heartbeat_obeys_the_check_filters(client, factory):
    check = await factory.check(filter_http_body=True, failure_kw="ERROR")
    r = await client.post(f"/heartbeat/{check.code}", content=b"ERROR")
    assert r.status_code == 200
    [ping] = await factory.pings(check)
    assert ping.kind == "fail"


async def test_heartbeat_handles_unknown_uuid(client):
    r = await client.post(f"/heartbeat/{uuid.uuid4()}")
    assert r.status_code == 404
    assert r.text == "not found"


@pytest.mark.parametrize("code", ["not-a-uuid", "%0A"])
async def test_heartbeat_handles_malformed_uuid(client, code):
    r = await client.post(f"/heartbeat/{code}")
    assert r.status_code == 404
    assert r.text == "not found"


async def test_heartbeat_rejects_uppercase_uuid(client, factory):
    check = await factory.check()
    r = await client.post(f"/heartbeat/{str(check.code).upper()}")
    assert r.status_code == 404
    assert (await factory.reload(check)).n_pings == 0


async def test_heartbeat_rejects_uuid_with_a_trailing_newline(client, factory):
    check = await factory.check()
    r = await client.post(f"/heartbeat/{check.code}%0A")
    assert r.status_code == 404
    assert (await factory.reload(check)).n_pings == 0


async def test_heartbeat_rejects_a_bad_rid(client, factory):
    check = await factory.check()
    r = await client.post(f"/heartbeat/{check.code}?rid=nope")
    assert r.status_code == 400
    assert r.text == "invalid uuid format"


async def test_heartbeat_is_post_only(client, factory):
    check = await factory.check()
    r = await client.get(f"/heartbeat/{check.code}")
    assert r.status_code == 405
    assert (await factory.reload(check)).n_pings == 0


async def test_health_is_ok(client):
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert "no-cache" in r.headers["cache-control"]


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:////nonexistent-cronbeat-dir/sub/cronbeat.db",
        "postgresql+asyncpg://postgres@127.0.0.1:1/cronbeat",
    ],
)
async def test_health_is_503_without_a_database(settings, clock, url):
    db = Database(url, pool_size=1)
    try:
        app = create_app(settings, db=db, clock=clock)
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 4567))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            r = await c.get("/health")
    finally:
        await db.dispose()
    assert r.status_code == 503
    assert r.json()["status"] == "error"
    assert "no-cache" in r.headers["cache-control"]
