"""Ping URLs by uuid: every URL form, every method, the exact responses (reference §1.1, §1.2)."""

from __future__ import annotations

import dataclasses
import uuid

import httpx
import pytest

from app.main import create_app

METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"]


def assert_ok(r: httpx.Response, *, body: str = "OK", status: int = 200) -> None:
    assert r.status_code == status, r.text
    assert r.text == body
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["ping-body-limit"] == "10000"
    assert "no-cache" in r.headers["cache-control"]


async def test_it_works(client, factory):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}")
    assert_ok(r)
    assert "no-store" in r.headers["cache-control"]

    check = await factory.reload(check)
    assert check.status == "up"
    assert check.n_pings == 1
    [ping] = await factory.pings(check)
    assert ping.kind == "success"
    assert ping.n == 1
    assert ping.method == "GET"
    assert ping.exitstatus is None


async def test_it_handles_trailing_slash(client, factory):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}/")
    assert_ok(r)
    [ping] = await factory.pings(check)
    assert ping.kind == "success"


@pytest.mark.parametrize(
    ("suffix", "kind", "exitstatus", "status"),
    [
        ("start", "start", None, "new"),
        ("fail", "fail", None, "down"),
        ("log", "log", None, "new"),
        ("0", "success", 0, "up"),
        ("1", "fail", 1, "down"),
        ("123", "fail", 123, "down"),
        ("255", "fail", 255, "down"),
    ],
)
async def test_it_handles_url_suffix(client, factory, suffix, kind, exitstatus, status):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}/{suffix}")
    assert_ok(r)

    [ping] = await factory.pings(check)
    assert ping.kind == kind
    assert ping.exitstatus == exitstatus
    check = await factory.reload(check)
    assert check.status == status
    assert check.n_pings == 1


async def test_it_rejects_exit_status_above_255(client, factory):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}/256")
    assert r.status_code == 400
    assert r.text == "invalid url format"
    assert "ping-body-limit" not in r.headers

    check = await factory.reload(check)
    assert check.n_pings == 0
    assert await factory.pings(check) == []


@pytest.mark.parametrize("digits", ["99999999999999999999", "9" * 5000, "0" * 5000 + "256"])
async def test_it_rejects_a_huge_exit_status(client, factory, digits):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}/{digits}")
    assert r.status_code == 400
    assert r.text == "invalid url format"
    assert (await factory.reload(check)).n_pings == 0


async def test_it_reads_leading_zeros_in_the_exit_status(client, factory):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}/{'0' * 5000}12")
    assert r.status_code == 200
    [ping] = await factory.pings(check)
    assert (ping.kind, ping.exitstatus) == ("fail", 12)


async def test_it_handles_unknown_uuid(client, factory):
    await factory.check()
    r = await client.get(f"/ping/{uuid.uuid4()}")
    assert r.status_code == 404
    assert r.text == "not found"
    assert "no-cache" in r.headers["cache-control"]


@pytest.mark.parametrize("suffix", ["", "/start", "/fail", "/log", "/0", "/7"])
async def test_it_handles_unknown_uuid_with_suffix(client, suffix):
    r = await client.get(f"/ping/{uuid.uuid4()}{suffix}")
    assert r.status_code == 404
    assert r.text == "not found"


async def test_it_checks_the_uuid_before_the_exit_status(client):
    r = await client.get(f"/ping/{uuid.uuid4()}/256")
    assert r.status_code == 404
    assert r.text == "not found"


async def test_it_checks_the_uuid_before_the_rid(client):
    r = await client.get(f"/ping/{uuid.uuid4()}?rid=12345")
    assert r.status_code == 404
    assert r.text == "not found"


async def test_it_checks_the_exit_status_before_the_rid(client, factory):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}/256?rid=12345")
    assert r.status_code == 400
    assert r.text == "invalid url format"


async def test_it_rejects_a_bad_rid(client, factory):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}?rid=12345")
    assert r.status_code == 400
    assert r.text == "invalid uuid format"
    assert (await factory.reload(check)).n_pings == 0


@pytest.mark.parametrize(
    "rid",
    [
        "",
        "not-a-uuid",
        "{0f6d9a0c-7d1a-4f55-9b7e-3c2c2b0e8b1a}",
        "0f6d9a0c7d1a4f559b7e3c2c2b0e8b1a",
        "0f6d9a0c-7d1a-4f55-9b7e-3c2c2b0e8b1a%0A",
        "0f6d9a0c-7d1a-4f55-9b7e-3c2c2b0e8b1a%20",
    ],
)
async def test_it_rejects_malformed_rids(client, factory, rid):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}?rid={rid}")
    assert r.status_code == 400
    assert r.text == "invalid uuid format"
    assert (await factory.reload(check)).n_pings == 0


async def test_it_rejects_uppercase_uuid(client, factory):
    check = await factory.check()
    r = await client.get(f"/ping/{str(check.code).upper()}")
    assert r.status_code == 404
    assert r.text == "not found"
    assert (await factory.reload(check)).n_pings == 0


async def test_it_rejects_uuid_without_hyphens(client, factory):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code.hex}")
    assert r.status_code == 404
    assert (await factory.reload(check)).n_pings == 0


@pytest.mark.parametrize("path", ["not-uuid", "not-uuid/", "%0A"])
async def test_it_rejects_non_uuid(client, path):
    r = await client.get(f"/ping/{path}")
    assert r.status_code == 404


async def test_it_rejects_uuid_with_a_trailing_newline(client, factory):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}%0A")
    assert r.status_code == 404
    assert (await factory.reload(check)).n_pings == 0


@pytest.mark.parametrize(
    "suffix",
    ["bogus", "bogus/start", "start/", "start/extra", "0/extra", "-1", "1.5", "/", "fail//"],
)
async def test_it_rejects_unknown_suffix(client, factory, suffix):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}/{suffix}")
    assert r.status_code == 404
    assert r.text == "not found"
    assert (await factory.reload(check)).n_pings == 0


async def test_it_treats_uppercase_suffix_as_an_uppercase_slug(client, factory):
    # /ping/<uuid>/Start is not a uuid URL; it has the shape of a slug URL (the uuid being the
    # ping key), and a slug URL with an upper-case slug is a 400 (Healthchecks' URL table).
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}/Start")
    assert r.status_code == 400
    assert r.text == "invalid url format"
    r = await client.get(f"/ping/{check.code}/Bogus/fail")
    assert r.status_code == 400
    assert r.text == "invalid url format"
    assert (await factory.reload(check)).n_pings == 0


async def test_it_rejects_exit_status_with_a_trailing_newline(client, factory):
    check = await factory.check()
    r = await client.get(f"/ping/{check.code}/1%0A")
    assert r.status_code == 404
    assert (await factory.reload(check)).n_pings == 0


@pytest.mark.parametrize("method", METHODS)
async def test_it_accepts_and_records_every_method(client, factory, method):
    check = await factory.check()
    r = await client.request(method, f"/ping/{check.code}")
    assert r.status_code == 200
    assert r.text == ("" if method == "HEAD" else "OK")
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["ping-body-limit"] == "10000"
    assert "no-cache" in r.headers["cache-control"]

    [ping] = await factory.pings(check)
    assert ping.method == method
    assert ping.kind == "success"
    assert (await factory.reload(check)).status == "up"


async def test_it_records_options_as_an_ordinary_ping(client, factory):
    check = await factory.check()
    r = await client.options(
        f"/ping/{check.code}/fail",
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 200
    assert r.text == "OK"
    [ping] = await factory.pings(check)
    assert ping.method == "OPTIONS"
    assert ping.kind == "fail"


@pytest.mark.parametrize("method", METHODS)
async def test_it_answers_not_found_to_every_method(client, method):
    r = await client.request(method, f"/ping/{uuid.uuid4()}")
    assert r.status_code == 404
    assert r.text == ("" if method == "HEAD" else "not found")


async def test_it_omits_ping_body_limit_when_unlimited(settings, db, clock, factory):
    check = await factory.check()
    app = create_app(dataclasses.replace(settings, ping_body_limit=None), db=db, clock=clock)
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 4567))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        r = await c.post(f"/ping/{check.code}", content=b"x" * 20000)
    assert r.status_code == 200
    assert r.text == "OK"
    assert r.headers["access-control-allow-origin"] == "*"
    assert "ping-body-limit" not in r.headers

    [ping] = await factory.pings(check)
    assert ping.body == b"x" * 20000


async def test_it_serves_pings_under_the_site_root_path(settings, db, clock, factory):
    check = await factory.check()
    hc_settings = dataclasses.replace(settings, site_root="http://testserver.local/hc")
    app = create_app(hc_settings, db=db, clock=clock)
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 4567))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        r = await c.get(f"/hc/ping/{check.code}/start")
    assert r.status_code == 200
    [ping] = await factory.pings(check)
    assert ping.kind == "start"
