"""Status badges over HTTP (reference §4, checklist 57 and 60–64), and the badges API (§3.14)."""

from __future__ import annotations

import base64
import shutil
import struct
import uuid
import zlib
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from app.domain import badges
from app.main import create_app

CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "X-Api-Key",
    "access-control-allow-methods": "GET, OPTIONS",
    "access-control-max-age": "600",
}
SECRET = "test-secret-key"  # the settings fixture's
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def tag_url(badge_key: str, tag: str, fmt: str = "json", *, states: int = 2) -> str:
    return badges.badge_url("", badge_key, tag, SECRET, fmt=fmt, with_late=states == 3)


def assert_cors(r: httpx.Response) -> None:
    for name, value in CORS.items():
        assert r.headers[name] == value, name


@pytest.fixture
async def project(factory):
    return await factory.project()


# Checks in each state, for the default timeout (1 day) and grace (1 hour).
async def up_check(factory, project, **fields):
    return await factory.check(project, status="up", last_ping=factory.clock() - HOUR, **fields)


async def grace_check(factory, project, **fields):
    last_ping = factory.clock() - DAY - timedelta(minutes=1)
    return await factory.check(project, status="up", last_ping=last_ping, **fields)


async def down_check(factory, project, **fields):
    return await factory.check(project, status="down", last_ping=factory.clock() - DAY, **fields)


# --- the badges API ---------------------------------------------------------------------------


async def test_the_badges_api_lists_all_checks_and_every_tag(client, factory, project):
    project, keys = project
    await factory.check(project, tags="foo bar")
    await factory.check(project, tags=" bar  baz ")
    other, _ = await factory.project()
    await factory.check(other, tags="secret")

    r = await client.get("/api/v3/badges/", headers={"X-Api-Key": keys.api_key})
    assert r.status_code == 200, r.text
    assert_cors(r)
    found = r.json()["badges"]
    assert sorted(found) == ["*", "bar", "baz", "foo"]
    root = "http://testserver.local"
    for tag, urls in found.items():
        assert urls == badges.badge_urls(root, keys.badge_key, tag, SECRET)
    sig = badges.sign(keys.badge_key, "*", SECRET)
    assert found["*"]["svg"] == f"{root}/badge/{keys.badge_key}/{sig}-2.svg"
    assert found["*"]["shields3"] == f"{root}/badge/{keys.badge_key}/{sig}.shields"


async def test_the_badges_api_of_a_project_without_checks_has_the_all_checks_badge(client, project):
    _, keys = project
    r = await client.get("/api/v1/badges/", headers={"X-Api-Key": keys.api_key_readonly})
    assert r.status_code == 200, r.text
    assert list(r.json()["badges"]) == ["*"]


async def test_the_badges_api_accepts_the_read_only_key(client, factory, project):
    project, keys = project
    await factory.check(project, tags="foo")
    r = await client.get("/api/v2/badges/", headers={"X-Api-Key": keys.api_key_readonly})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["badges"]) == ["*", "foo"]


async def test_the_badges_api_double_encodes_special_characters(client, factory, project):
    project, keys = project
    await factory.check(project, tags="db@dc1")
    r = await client.get("/api/v3/badges/", headers={"X-Api-Key": keys.api_key})
    sig = badges.sign(keys.badge_key, "db@dc1", SECRET)
    assert r.json()["badges"]["db@dc1"]["json3"] == (
        f"http://testserver.local/badge/{keys.badge_key}/{sig}/db%2540dc1.json"
    )


async def test_the_badges_api_needs_a_key(client):
    r = await client.get("/api/v3/badges/")
    assert r.status_code == 401
    assert r.json() == {"error": "missing api key"}


async def test_the_badges_api_answers_a_preflight_without_a_key(client):
    r = await client.options("/api/v3/badges/")
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["access-control-allow-methods"] == "GET, OPTIONS"


async def test_the_badges_api_refuses_post(client, project):
    _, keys = project
    r = await client.post("/api/v3/badges/", headers={"X-Api-Key": keys.api_key})
    assert r.status_code == 405


async def test_every_listed_badge_url_works(client, factory, project):
    project, keys = project
    await up_check(factory, project, tags="db@dc1 a/b")
    r = await client.get("/api/v3/badges/", headers={"X-Api-Key": keys.api_key})
    for urls in r.json()["badges"].values():
        for url in urls.values():
            assert (await client.get(url)).status_code == 200, url


# --- project and tag badges -------------------------------------------------------------------


async def test_a_new_check_makes_an_up_badge(client, factory, project):
    project, keys = project
    await factory.check(project, tags="foo")
    r = await client.get(tag_url(keys.badge_key, "foo"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"status": "up", "total": 1, "grace": 0, "down": 0}
    assert_cors(r)


async def test_a_check_in_grace_is_up_on_two_states_and_late_on_three(client, factory, project):
    project, keys = project
    await grace_check(factory, project, tags="foo")
    r2 = await client.get(tag_url(keys.badge_key, "foo", states=2))
    assert r2.json() == {"status": "up", "total": 1, "grace": 1, "down": 0}
    r3 = await client.get(tag_url(keys.badge_key, "foo", states=3))
    assert r3.json() == {"status": "late", "total": 1, "grace": 1, "down": 0}


async def test_a_down_check_makes_the_badge_down(client, factory, project):
    project, keys = project
    await down_check(factory, project, tags="foo")
    await up_check(factory, project, tags="foo")
    await grace_check(factory, project, tags="foo")
    for states in (2, 3):
        r = await client.get(tag_url(keys.badge_key, "foo", states=states))
        assert r.json() == {"status": "down", "total": 3, "grace": 1, "down": 1}


async def test_a_check_started_too_long_ago_is_down(client, factory, project):
    project, keys = project
    started = factory.clock() - HOUR - timedelta(seconds=1)
    await up_check(factory, project, tags="foo", last_start=started)
    r = await client.get(tag_url(keys.badge_key, "foo", states=3))
    assert r.json() == {"status": "down", "total": 1, "grace": 0, "down": 1}


async def test_a_check_that_is_overdue_is_down_before_the_sweep_notices(client, factory, project):
    project, keys = project
    await up_check(factory, project, tags="foo")
    factory.clock.advance(hours=24)  # the ping was 25 hours ago: past timeout and grace
    r = await client.get(tag_url(keys.badge_key, "foo"))
    assert r.json() == {"status": "down", "total": 1, "grace": 0, "down": 1}


async def test_a_tag_must_be_a_whole_tag(client, factory, project):
    project, keys = project
    await down_check(factory, project, tags="foobar")
    await down_check(factory, project, tags="xfoo")
    await up_check(factory, project, tags="bar foo")
    r = await client.get(tag_url(keys.badge_key, "foo"))
    assert r.json() == {"status": "up", "total": 1, "grace": 0, "down": 0}


async def test_a_tag_with_like_wildcards_matches_only_itself(client, factory, project):
    project, keys = project
    await down_check(factory, project, tags="a_c")
    await down_check(factory, project, tags="abc")
    r = await client.get(tag_url(keys.badge_key, "a_c"))
    assert r.json()["total"] == 1
    r = await client.get(tag_url(keys.badge_key, "a%"))
    assert r.json() == {"status": "up", "total": 0, "grace": 0, "down": 0}


async def test_a_tag_with_no_checks_is_up(client, project):
    _, keys = project
    r = await client.get(tag_url(keys.badge_key, "nothing"))
    assert r.json() == {"status": "up", "total": 0, "grace": 0, "down": 0}


async def test_checks_of_other_projects_do_not_count(client, factory, project):
    project, keys = project
    other, _ = await factory.project()
    await down_check(factory, other, tags="foo")
    r = await client.get(tag_url(keys.badge_key, "foo"))
    assert r.json() == {"status": "up", "total": 0, "grace": 0, "down": 0}


async def test_the_all_checks_badge_covers_every_check(client, factory, project):
    project, keys = project
    await grace_check(factory, project, tags="foo")
    await up_check(factory, project)
    await factory.check(project, status="paused")
    r = await client.get(tag_url(keys.badge_key, "*", states=3))
    assert r.json() == {"status": "late", "total": 3, "grace": 1, "down": 0}
    await down_check(factory, project, tags="bar")
    r = await client.get(tag_url(keys.badge_key, "*", states=3))
    assert r.json() == {"status": "down", "total": 4, "grace": 1, "down": 1}


async def test_a_shields_badge_is_shields_endpoint_json(client, factory, project):
    project, keys = project
    await factory.check(project, tags="foo")
    r = await client.get(tag_url(keys.badge_key, "foo", "shields"))
    assert r.status_code == 200
    assert r.json() == {"schemaVersion": 1, "label": "foo", "message": "up", "color": "success"}


async def test_a_shields_badge_says_late_and_down(client, factory, project):
    project, keys = project
    await grace_check(factory, project, tags="foo")
    await down_check(factory, project, tags="bar")
    r = await client.get(tag_url(keys.badge_key, "foo", "shields", states=3))
    assert r.json() == {
        "schemaVersion": 1,
        "label": "foo",
        "message": "late",
        "color": "important",
    }
    r = await client.get(tag_url(keys.badge_key, "bar", "shields"))
    assert r.json() == {
        "schemaVersion": 1,
        "label": "bar",
        "message": "down",
        "color": "critical",
    }


async def test_the_all_checks_badge_is_labelled_with_the_site_name(client, project):
    _, keys = project
    r = await client.get(tag_url(keys.badge_key, "*", "shields"))
    assert r.json()["label"] == "Cronbeat"


async def test_an_svg_badge_is_green_when_up(client, factory, project):
    project, keys = project
    await up_check(factory, project, tags="foo")
    r = await client.get(tag_url(keys.badge_key, "foo", "svg"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.text == badges.svg("foo", "up")
    assert "#4c1" in r.text
    assert "#e05d44" not in r.text


async def test_an_svg_badge_is_red_when_down_and_orange_when_late(client, factory, project):
    project, keys = project
    await down_check(factory, project, tags="foo")
    await grace_check(factory, project, tags="bar")
    r = await client.get(tag_url(keys.badge_key, "foo", "svg"))
    assert r.text == badges.svg("foo", "down")
    assert "#e05d44" in r.text
    r = await client.get(tag_url(keys.badge_key, "bar", "svg", states=3))
    assert r.text == badges.svg("bar", "late")
    assert "#fe7d37" in r.text


async def test_svg_coordinates_use_a_decimal_dot(client, project):
    _, keys = project
    r = await client.get(tag_url(keys.badge_key, "db", "svg", states=3))
    assert 'x="12.0"' in r.text  # "db": 14 + 10 = 24 wide
    assert 'x="36.0"' in r.text  # "up": 14 + 10 = 24 wide, after 24
    assert "," not in r.text.split("font-family")[0]


async def test_it_handles_special_characters_in_tags(client, factory, project):
    project, keys = project
    await down_check(factory, project, tags="db@dc1")
    sig = badges.sign(keys.badge_key, "db@dc1", SECRET)
    r = await client.get(f"/badge/{keys.badge_key}/{sig}/db%2540dc1.shields")
    assert r.status_code == 200
    assert r.json()["label"] == "db@dc1"
    assert r.json()["message"] == "down"


async def test_a_tag_encoded_only_once_is_not_found(client, factory, project):
    project, keys = project
    await factory.check(project, tags="db@dc1")
    sig = badges.sign(keys.badge_key, "db@dc1", SECRET)
    r = await client.get(f"/badge/{keys.badge_key}/{sig}/db%40dc1.json")
    assert r.status_code == 404


async def test_a_tag_with_a_slash_survives_the_url(client, factory, project):
    project, keys = project
    await down_check(factory, project, tags="a/b")
    r = await client.get(tag_url(keys.badge_key, "a/b"))
    assert r.status_code == 200, r.url
    assert r.json()["down"] == 1


# --- what is not a badge ----------------------------------------------------------------------


async def test_a_bad_signature_is_not_found(client, project):
    _, keys = project
    r = await client.get(f"/badge/{keys.badge_key}/12345678/foo.svg")
    assert r.status_code == 404
    r = await client.get(f"/badge/{keys.badge_key}/12345678-2.json")
    assert r.status_code == 404


async def test_the_signature_of_another_tag_is_not_found(client, project):
    _, keys = project
    sig = badges.sign(keys.badge_key, "bar", SECRET)
    r = await client.get(f"/badge/{keys.badge_key}/{sig}/foo.json")
    assert r.status_code == 404
    r = await client.get(f"/badge/{keys.badge_key}/{sig}.json")  # "*" is a tag too
    assert r.status_code == 404


@pytest.mark.parametrize("fmt", ["jsonfoo", "png", "SVG", "svg.json.x"])
async def test_an_unknown_format_is_not_found(client, project, fmt):
    _, keys = project
    r = await client.get(tag_url(keys.badge_key, "foo", fmt))
    assert r.status_code == 404
    r = await client.get(tag_url(keys.badge_key, "*", fmt))
    assert r.status_code == 404


async def test_a_badge_url_with_a_trailing_slash_is_not_found(client, project):
    _, keys = project
    r = await client.get(tag_url(keys.badge_key, "foo") + "/")
    assert r.status_code == 404


async def test_a_preflight_is_answered_with_204(client, project):
    _, keys = project
    for url in [tag_url(keys.badge_key, "foo"), f"/badge/{keys.badge_key}/bad-sig/foo.jsonfoo"]:
        r = await client.options(url)
        assert r.status_code == 204
        assert r.content == b""
        assert_cors(r)


async def test_a_badge_refuses_post(client, project):
    _, keys = project
    r = await client.post(tag_url(keys.badge_key, "foo"))
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, OPTIONS"


async def test_head_gets_the_headers_without_the_body(client, project):
    _, keys = project
    r = await client.head(tag_url(keys.badge_key, "foo", "svg"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.content == b""


# --- caching ----------------------------------------------------------------------------------


async def test_a_badge_may_be_cached_for_a_minute(client, project):
    _, keys = project
    r = await client.get(tag_url(keys.badge_key, "foo", "svg"))
    assert r.headers["cache-control"] == "public, max-age=60"
    assert r.headers["etag"].startswith('"')


async def test_an_unchanged_badge_is_revalidated_with_304(client, project):
    _, keys = project
    url = tag_url(keys.badge_key, "foo", "svg")
    etag = (await client.get(url)).headers["etag"]
    r = await client.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    assert r.headers["cache-control"] == "public, max-age=60"
    assert_cors(r)
    r = await client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
    assert r.status_code == 304


async def test_a_changed_badge_gets_a_new_etag(client, factory, project):
    project, keys = project
    await factory.check(project, tags="foo")
    url = tag_url(keys.badge_key, "foo", "svg")
    etag = (await client.get(url)).headers["etag"]
    await down_check(factory, project, tags="foo")
    r = await client.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 200
    assert "#e05d44" in r.text
    assert r.headers["etag"] != etag


async def test_not_found_is_never_cached(client, project):
    _, keys = project
    r = await client.get(f"/badge/{keys.badge_key}/12345678/foo.svg")
    assert r.status_code == 404
    assert "no-cache" in r.headers["cache-control"]


# --- single check badges ----------------------------------------------------------------------


async def test_a_check_badge_is_up_for_a_new_check(client, factory):
    check = await factory.check(name="backup")
    r = await client.get(f"/b/2/{check.badge_key}.json")
    assert r.status_code == 200
    assert r.json() == {"status": "up", "total": 1, "grace": 0, "down": 0}
    assert_cors(r)
    assert r.headers["cache-control"] == "public, max-age=60"


@pytest.mark.parametrize("status", ["new", "paused", "up"])
async def test_a_check_badge_is_up_for_new_paused_and_up_checks(client, factory, status):
    check = await factory.check(status=status, last_ping=factory.clock() - HOUR)
    for states in (2, 3):
        r = await client.get(f"/b/{states}/{check.badge_key}.json")
        assert r.json() == {"status": "up", "total": 1, "grace": 0, "down": 0}


async def test_a_check_badge_in_grace_is_late_only_with_three_states(client, factory, project):
    check = await grace_check(factory, project[0])
    r = await client.get(f"/b/2/{check.badge_key}.json")
    assert r.json() == {"status": "up", "total": 1, "grace": 1, "down": 0}
    r = await client.get(f"/b/3/{check.badge_key}.json")
    assert r.json() == {"status": "late", "total": 1, "grace": 1, "down": 0}


async def test_a_check_badge_is_down_even_if_started(client, factory, project):
    check = await down_check(factory, project[0], last_start=factory.clock())
    for states in (2, 3):
        r = await client.get(f"/b/{states}/{check.badge_key}.json")
        assert r.json() == {"status": "down", "total": 1, "grace": 0, "down": 1}


async def test_a_check_badge_is_labelled_with_the_check_name(client, factory):
    check = await factory.check(name="Nightly backup")
    r = await client.get(f"/b/2/{check.badge_key}.shields")
    assert r.json() == {
        "schemaVersion": 1,
        "label": "Nightly backup",
        "message": "up",
        "color": "success",
    }
    r = await client.get(f"/b/3/{check.badge_key}.svg")
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.text == badges.svg("Nightly backup", "up")


async def test_an_unnamed_check_badge_shows_its_badge_key_not_its_ping_uuid(client, factory):
    check = await factory.check(name="")
    r = await client.get(f"/b/2/{check.badge_key}.shields")
    assert r.json()["label"] == str(check.badge_key)
    assert str(check.code) not in r.text


async def test_a_check_badge_by_ping_uuid_is_not_found(client, factory):
    check = await factory.check()
    r = await client.get(f"/b/2/{check.code}.svg")
    assert r.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/b/2/{unknown}.svg",
        "/b/3/{unknown}.json",
        "/b/2/{upper}.svg",
        "/b/4/{key}.svg",
        "/b/2/{key}.png",
        "/b/2/{key}.svg/",
        "/b/2/{key}",
        "/b/2/not-a-uuid.svg",
    ],
)
async def test_what_names_no_check_badge_is_not_found(client, factory, path):
    check = await factory.check()
    url = path.format(unknown=uuid.uuid4(), upper=str(check.badge_key).upper(), key=check.badge_key)
    r = await client.get(url)
    assert r.status_code == 404


async def test_a_check_badge_answers_a_preflight(client):
    r = await client.options(f"/b/2/{uuid.uuid4()}.svg")
    assert r.status_code == 204
    assert_cors(r)


async def test_badges_live_under_the_site_roots_path(settings, db, clock, factory):
    settings = replace(settings, site_root="http://testserver.local/hc")
    app = create_app(settings, db=db, clock=clock)
    project, keys = await factory.project()
    check = await factory.check(project, tags="foo", name="x")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        r = await c.get("/hc/api/v3/badges/", headers={"X-Api-Key": keys.api_key})
        url = r.json()["badges"]["foo"]["json"]
        assert url.startswith("http://testserver.local/hc/badge/")
        assert (await c.get(url)).json() == {"status": "up", "total": 1, "grace": 0, "down": 0}
        assert (await c.get(f"/hc/b/2/{check.badge_key}.json")).status_code == 200


# --- what a browser draws ---------------------------------------------------------------------


def decode_png(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """Width, height and RGB rows of an 8-bit RGB or RGBA non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = color_type = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and color_type in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += chunk
    channels = 4 if color_type == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + predictor) & 0xFF
        rows.append(line)
        prev = line
    pixels = [[tuple(row[x * channels : x * channels + 3]) for x in range(width)] for row in rows]
    return width, height, pixels  # type: ignore[return-value]


def near(pixel: tuple[int, int, int], hex_color: str, tolerance: int = 24) -> bool:
    expected = bytes.fromhex(hex_color)
    return all(abs(p - e) <= tolerance for p, e in zip(pixel, expected, strict=True))


async def screenshot_svgs(svgs: list[str]) -> list[bytes]:
    """Each SVG as a README shows it (an <img>, on white), screenshotted in Debian's Chromium."""
    async_api = pytest.importorskip("playwright.async_api")
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed")
    shots = []
    async with async_api.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = await browser.new_page(viewport={"width": 400, "height": 100})
            for svg in svgs:
                data_url = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
                await page.set_content(
                    '<body style="margin:0;background:#fff">'
                    f'<img id="badge" src="{data_url}" style="display:block"></body>'
                )
                await page.wait_for_function(
                    "() => { const i = document.getElementById('badge');"
                    " return i.complete && i.naturalWidth > 0; }"
                )
                size = await page.evaluate(
                    "() => { const i = document.getElementById('badge');"
                    " return [i.naturalWidth, i.naturalHeight]; }"
                )
                assert size == [int(s) for s in svg_size(svg)]
                clip = {"x": 0, "y": 0, "width": 400, "height": 30}
                shots.append(await page.screenshot(clip=clip))
        finally:
            await browser.close()
    return shots


def svg_size(svg: str) -> tuple[str, str]:
    head = svg.split(">", 1)[0]
    width = head.split('width="', 1)[1].split('"', 1)[0]
    height = head.split('height="', 1)[1].split('"', 1)[0]
    return width, height


@pytest.mark.browser
async def test_chromium_draws_the_badge_grey_then_in_the_status_colour(client, factory, project):
    project, keys = project
    await grace_check(factory, project, tags="late")
    await down_check(factory, project, tags="down")
    cases = [("up", "up", "44cc11"), ("late", "late", "fe7d37"), ("down", "down", "e05d44")]
    svgs = []
    for tag, status, _ in cases:
        r = await client.get(tag_url(keys.badge_key, tag, "svg", states=3))
        assert r.status_code == 200
        assert r.text == badges.svg(tag, status)
        svgs.append(r.text)

    for (tag, status, color), png in zip(cases, await screenshot_svgs(svgs), strict=True):
        w1 = badges.text_width(tag) + 10
        w2 = badges.text_width(status) + 10
        width, height, pixels = decode_png(png)
        assert (width, height) == (400, 30)
        # The fills, near the top and bottom edges, away from the text and the corners.
        for y in (2, 17):
            for x, expected in [(4, "555555"), (w1 - 3, "555555"), (w1 + 3, color)]:
                assert near(pixels[y][x], expected), (status, x, y, pixels[y][x])
            assert near(pixels[y][w1 + w2 - 4], color), (status, y, pixels[y][w1 + w2 - 4])
        # Rounded corners: the corner pixel is (mostly) the white page.
        assert sum(pixels[0][0]) > sum(pixels[2][4]) + 150
        # Nothing beyond the badge.
        assert pixels[10][w1 + w2 + 2] == (255, 255, 255)
        assert pixels[22][4] == (255, 255, 255)
        # The texts are drawn: light pixels inside each half, on the text line.
        label_area = [pixels[y][x] for y in range(5, 15) for x in range(5, w1 - 5)]
        status_area = [pixels[y][x] for y in range(5, 15) for x in range(w1 + 5, w1 + w2 - 5)]
        assert any(min(p) > 200 for p in label_area), status
        assert any(min(p) > 200 for p in status_area), status
