"""PingFastPath: the pure-ASGI front for common ping URLs answers exactly as the app does."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from app.db.engine import Database
from app.main import create_app
from app.web.ping import PingFastPath
from tests.conftest import app_for

PEER = ("10.1.2.3", 4567)


class SpyApp:
    """The Litestar app, noting the paths that reach it (the fast path took the others)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def apps(settings, db, clock):
    app = app_for(settings, db, clock)
    spy = SpyApp(app)
    return app, spy, PingFastPath(spy)  # type: ignore[arg-type]


def client_of(asgi_app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=asgi_app, client=PEER, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


def comparable(response: httpx.Response) -> tuple[int, str, dict[str, str]]:
    headers = dict(response.headers)
    headers.pop("x-request-id", None)
    return response.status_code, response.text, headers


async def both_answers(apps, method, url, **kwargs):
    app, _, fast = apps
    async with client_of(app) as plain, client_of(fast) as fronted:
        return (
            comparable(await plain.request(method, url, **kwargs)),
            comparable(await fronted.request(method, url, **kwargs)),
        )


@pytest.fixture
async def urls(factory):
    project, _ = await factory.project()
    check = await factory.check(project, slug="backup")
    await factory.check(project, slug="twin")
    await factory.check(project, slug="twin")  # two checks, one slug: 409
    return {"code": check.code, "key": project.ping_key, "check": check}


TAKEN = [
    ("GET", "/ping/{code}"),
    ("GET", "/ping/{code}/"),
    ("POST", "/ping/{code}/start"),
    ("GET", "/ping/{code}/fail"),
    ("GET", "/ping/{code}/log"),
    ("GET", "/ping/{code}/0"),
    ("GET", "/ping/{code}/255"),
    ("GET", "/ping/{unknown}"),
    ("GET", "/ping/{key}/backup"),
    ("POST", "/ping/{key}/backup/fail"),
    ("GET", "/ping/{key}/backup/7"),
    ("GET", "/ping/{key}/missing"),
    ("GET", "/ping/{key}/twin"),
    ("GET", "/ping/nosuchkey/backup"),
]
PASSED_ON = [
    ("GET", "/ping/{code}/256"),
    ("GET", "/ping/{code}?rid=3f1b2c4d-0000-4000-8000-000000000001"),
    ("GET", "/ping/{key}/backup?create=1"),
    ("HEAD", "/ping/{code}"),
    ("PUT", "/ping/{code}"),
    ("GET", "/ping/{code}/start/"),
    ("GET", "/ping/{code}//"),
    ("GET", "/ping/{code}/Start"),
    ("GET", "/ping/{upper}"),
    ("GET", "/ping/{key}/Backup"),
    ("GET", "/ping/{key}/backup/"),
    ("GET", "/ping/{key}/backup/start/extra"),
    ("GET", "/ping/{code}/99999"),
    ("GET", "/api/v3/checks/"),
]


def url_for(template: str, urls: dict[str, Any]) -> str:
    return template.format(
        unknown=uuid.uuid4(), upper=str(urls["code"]).upper(), code=urls["code"], key=urls["key"]
    )


@pytest.mark.parametrize(("method", "template"), TAKEN + PASSED_ON)
async def test_the_answer_is_the_apps_byte_for_byte(apps, urls, method, template):
    url = url_for(template, urls)
    plain, fronted = await both_answers(apps, method, url, content=b"exit 0\n" * 3)
    assert fronted == plain


@pytest.mark.parametrize(("method", "template"), TAKEN)
async def test_common_ping_urls_skip_the_app(apps, urls, method, template):
    _, spy, fast = apps
    async with client_of(fast) as client:
        await client.request(method, url_for(template, urls))
    assert spy.paths == []


@pytest.mark.parametrize(("method", "template"), PASSED_ON)
async def test_other_requests_reach_the_app(apps, urls, method, template):
    _, spy, fast = apps
    url = url_for(template, urls)
    async with client_of(fast) as client:
        await client.request(method, url)
    assert spy.paths == [httpx.URL(url).path]


async def test_a_ping_records_what_the_request_carried(apps, urls, factory):
    _, _, fast = apps
    headers = {
        "X-Forwarded-For": "203.0.113.9:5555, 10.0.0.1",
        "X-Forwarded-Proto": "https",
        "User-Agent": "curl/8.5",
        "X-Request-ID": "job-42",
    }
    async with client_of(fast) as client:
        r = await client.post(f"/ping/{urls['code']}/fail", content=b"x" * 20_000, headers=headers)
    assert (r.status_code, r.text, r.headers["x-request-id"]) == (200, "OK", "job-42")
    assert r.headers["ping-body-limit"] == "10000"
    check = urls["check"]
    [ping] = await factory.pings(check)
    assert (ping.kind, ping.method, ping.scheme) == ("fail", "POST", "https")
    assert (ping.remote_addr, ping.ua) == ("203.0.113.9", "curl/8.5")
    assert len(ping.body or b"") == 10_000
    assert (await factory.reload(check)).status == "down"


async def test_a_client_that_hangs_up_mid_body_records_nothing(apps, urls, factory):
    _, _, fast = apps
    messages = iter(
        [
            {"type": "http.request", "body": b"part", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[Any] = []

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/ping/{urls['code']}",
        "raw_path": f"/ping/{urls['code']}".encode(),
        "query_string": b"",
        "headers": [],
        "client": PEER,
    }
    await fast(scope, receive, send)
    assert sent == []
    assert await factory.pings(urls["check"]) == []


async def test_a_database_failure_answers_500_as_the_app_does(urls, settings, clock):
    broken = Database("sqlite+aiosqlite:////nonexistent-dir/cronbeat.db")
    app = create_app(settings, db=broken, clock=clock)  # not in debug: no traceback page
    try:
        plain, fronted = await both_answers(
            (app, None, PingFastPath(app)), "GET", f"/ping/{urls['code']}"
        )
    finally:
        await broken.dispose()
    assert fronted == plain
    assert plain[:2] == (500, '{"status_code":500,"detail":"Internal Server Error"}')


async def test_repeated_headers_are_read_as_the_app_reads_them(apps, urls, factory):
    app, _, fast = apps
    headers = [
        ("X-Forwarded-For", "203.0.113.9"),
        ("X-Forwarded-For", "198.51.100.7"),
        ("User-Agent", "first"),
        ("User-Agent", "second"),
    ]
    for asgi_app in (app, fast):
        async with client_of(asgi_app) as client:
            assert (await client.get(f"/ping/{urls['code']}", headers=headers)).text == "OK"
    by_app, by_fast_path = await factory.pings(urls["check"])
    assert (by_fast_path.remote_addr, by_fast_path.ua) == (by_app.remote_addr, by_app.ua)
