"""What is stored for each ping: address, scheme, user agent, body, exit status, rid, n (§1.3)."""

from __future__ import annotations

import uuid

import pytest

INVALID_UTF8 = b"\xff\xfe\x00 not \xc3\x28 utf-8 \xed\xa0\x80 \x00end"


async def ping_once(client, factory, path="", **kwargs):
    check = await factory.check()
    r = await client.post(f"/ping/{check.code}{path}", **kwargs)
    assert r.status_code == 200, r.text
    [ping] = await factory.pings(check)
    return ping


async def test_it_records_the_peer_address(client, factory):
    ping = await ping_once(client, factory)
    assert ping.remote_addr == "10.1.2.3"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("1.1.1.1", "1.1.1.1"),
        ("1.1.1.1, 2.2.2.2", "1.1.1.1"),
        ("1.1.1.1,2.2.2.2,3.3.3.3", "1.1.1.1"),
        ("1.1.1.1:1234", "1.1.1.1"),
        ("1.1.1.1:1234, 2.2.2.2", "1.1.1.1"),
        ("::ffff:1.1.1.1", "::ffff:1.1.1.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:db8::1, 1.1.1.1", "2001:db8::1"),
    ],
)
async def test_it_reads_x_forwarded_for(client, factory, forwarded, expected):
    ping = await ping_once(client, factory, headers={"X-Forwarded-For": forwarded})
    assert ping.remote_addr == expected


async def test_it_cuts_a_long_x_forwarded_for(client, factory):
    forwarded = "a" * 150 + ".b.c.d:1234"
    ping = await ping_once(client, factory, headers={"X-Forwarded-For": forwarded})
    assert ping.remote_addr == ("a" * 150 + ".b.c.d")[:100]


async def test_it_records_scheme_http_by_default(client, factory):
    ping = await ping_once(client, factory)
    assert ping.scheme == "http"


async def test_it_reads_x_forwarded_proto(client, factory):
    ping = await ping_once(client, factory, headers={"X-Forwarded-Proto": "https"})
    assert ping.scheme == "https"


async def test_it_records_the_user_agent(client, factory):
    ping = await ping_once(client, factory, headers={"User-Agent": "curl/8.5.0"})
    assert ping.ua == "curl/8.5.0"


async def test_it_cuts_the_user_agent_at_200_characters(client, factory):
    ua = "".join(chr(ord("a") + i % 26) for i in range(250))
    ping = await ping_once(client, factory, headers={"User-Agent": ua})
    assert ping.ua == ua[:200]


async def test_it_records_the_body(client, factory):
    ping = await ping_once(client, factory, content=b"hello world\n")
    assert ping.body == b"hello world\n"


async def test_it_records_no_body_as_none(client, factory):
    ping = await ping_once(client, factory)
    assert ping.body is None


async def test_it_cuts_the_body_at_the_limit(client, factory):
    body = bytes(range(256)) * 50  # 12 800 bytes, NUL and invalid UTF-8 included
    check = await factory.check()
    r = await client.post(f"/ping/{check.code}", content=body)
    assert r.status_code == 200
    assert r.headers["ping-body-limit"] == "10000"
    [ping] = await factory.pings(check)
    assert ping.body == body[:10000]


async def test_it_keeps_a_body_exactly_at_the_limit(client, factory):
    ping = await ping_once(client, factory, content=b"z" * 10000)
    assert ping.body == b"z" * 10000


async def test_it_cuts_a_body_larger_than_a_megabyte(client, factory):
    body = b"0123456789abcdef" * (2 * 1024 * 1024 // 16)  # 2 MiB
    check = await factory.check()
    r = await client.put(f"/ping/{check.code}/fail", content=body)
    assert r.status_code == 200
    assert r.text == "OK"
    [ping] = await factory.pings(check)
    assert ping.body == body[:10000]
    assert ping.kind == "fail"


async def test_it_cuts_a_chunked_body(client, factory):
    async def chunks():
        for _ in range(50):
            yield b"x" * 1000

    ping = await ping_once(client, factory, content=chunks())
    assert ping.body == b"x" * 10000


async def test_it_stores_an_invalid_utf8_body_byte_exact(client, factory):
    ping = await ping_once(client, factory, content=INVALID_UTF8)
    assert ping.body == INVALID_UTF8
    assert ping.kind == "success"


async def test_it_stores_a_binary_body_on_a_filtered_check(client, factory):
    check = await factory.check(filter_http_body=True, success_kw="end")
    r = await client.post(f"/ping/{check.code}", content=INVALID_UTF8)
    assert r.status_code == 200
    [ping] = await factory.pings(check)
    assert ping.body == INVALID_UTF8
    assert ping.kind == "success"


@pytest.mark.parametrize(
    ("suffix", "exitstatus"), [("", None), ("/0", 0), ("/1", 1), ("/255", 255), ("/007", 7)]
)
async def test_it_records_the_exit_status(client, factory, suffix, exitstatus):
    ping = await ping_once(client, factory, suffix)
    assert ping.exitstatus == exitstatus


async def test_it_records_the_rid(client, factory):
    rid = uuid.uuid4()
    ping = await ping_once(client, factory, params={"rid": str(rid)})
    assert ping.rid == rid


async def test_it_accepts_an_uppercase_rid(client, factory):
    rid = uuid.uuid4()
    ping = await ping_once(client, factory, "/start", params={"rid": str(rid).upper()})
    assert ping.rid == rid


async def test_it_records_no_rid_as_none(client, factory):
    ping = await ping_once(client, factory)
    assert ping.rid is None


async def test_it_records_the_time(client, factory, clock):
    clock.advance(hours=5)
    ping = await ping_once(client, factory)
    assert ping.created == clock()


async def test_it_numbers_pings(client, factory, clock):
    check = await factory.check()
    for suffix in ("", "/start", "/log"):
        clock.advance(10)
        r = await client.get(f"/ping/{check.code}{suffix}")
        assert r.status_code == 200

    pings = await factory.pings(check)
    assert [p.n for p in pings] == [1, 2, 3]
    assert [p.kind for p in pings] == ["success", "start", "log"]
    assert (await factory.reload(check)).n_pings == 3


async def test_it_numbers_pings_per_check(client, factory):
    first = await factory.check()
    second = await factory.check()
    for check in (first, second, first, second, first):
        await client.get(f"/ping/{check.code}")

    assert [p.n for p in await factory.pings(first)] == [1, 2, 3]
    assert [p.n for p in await factory.pings(second)] == [1, 2]


async def test_it_counts_pings_not_recorded_by_kind(client, factory):
    # Ignored and log pings are numbered too.
    check = await factory.check(methods="POST")
    await client.get(f"/ping/{check.code}")
    await client.post(f"/ping/{check.code}/log")
    await client.post(f"/ping/{check.code}")

    pings = await factory.pings(check)
    assert [(p.n, p.kind) for p in pings] == [(1, "ign"), (2, "log"), (3, "success")]
