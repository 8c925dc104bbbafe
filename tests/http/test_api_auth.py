"""Management API authentication, CORS and method checks (reference §3.3, §3.4)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from litestar import Litestar, Response
from litestar.datastructures import State

from app.web.api.auth import ApiCall, ApiEndpoint
from app.web.state import AppState

CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "X-Api-Key",
    "access-control-max-age": "600",
}
LIST_URL = "/api/v3/channels/"
WEBHOOK = {"url_down": "https://example.org/down"}


def assert_cors(r: httpx.Response, methods: str) -> None:
    for name, value in CORS.items():
        assert r.headers[name] == value
    assert r.headers["access-control-allow-methods"] == methods


def assert_error(r: httpx.Response, status: int, message: str) -> None:
    assert r.status_code == status, r.text
    assert r.json() == {"error": message}
    assert r.headers["content-type"] == "application/json"


async def test_it_accepts_the_api_key_in_the_header(client, factory):
    _, keys = await factory.project()
    r = await client.get(LIST_URL, headers={"X-Api-Key": keys.api_key})
    assert r.status_code == 200, r.text
    assert r.json() == {"channels": []}
    assert_cors(r, "GET, POST, OPTIONS")


@pytest.mark.parametrize("version", [1, 2, 3])
async def test_it_serves_every_api_version(client, factory, version):
    _, keys = await factory.project()
    r = await client.get(f"/api/v{version}/channels/", headers={"X-Api-Key": keys.api_key})
    assert r.status_code == 200, r.text
    assert r.json() == {"channels": []}


async def test_it_handles_a_missing_api_key(client):
    r = await client.get(LIST_URL)
    assert_error(r, 401, "missing api key")
    assert_cors(r, "GET, POST, OPTIONS")


@pytest.mark.parametrize("key", ["", "X" * 31, "X" * 33])
async def test_it_handles_an_api_key_of_the_wrong_length(client, key):
    r = await client.get(LIST_URL, headers={"X-Api-Key": key})
    assert_error(r, 401, "missing api key")


async def test_it_handles_a_wrong_api_key(client, factory):
    await factory.project()
    r = await client.get(LIST_URL, headers={"X-Api-Key": "hcw_" + "X" * 28})
    assert_error(r, 401, "wrong api key")
    assert_cors(r, "GET, POST, OPTIONS")


async def test_it_treats_api_keys_as_case_sensitive(client, factory):
    _, keys = await factory.project()
    r = await client.get(LIST_URL, headers={"X-Api-Key": keys.api_key.upper()})
    assert_error(r, 401, "wrong api key")


async def test_it_accepts_the_api_key_in_a_post_body(client, factory):
    _, keys = await factory.project()
    payload = {"api_key": keys.api_key, "name": "Hook", "kind": "webhook", "value": WEBHOOK}
    r = await client.post(LIST_URL, json=payload)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Hook"


async def test_it_prefers_the_header_over_the_body(client, factory):
    _, keys = await factory.project()
    payload = {"api_key": keys.api_key, "kind": "webhook", "value": WEBHOOK}
    r = await client.post(LIST_URL, json=payload, headers={"X-Api-Key": "X" * 32})
    assert_error(r, 401, "wrong api key")


async def test_it_coerces_a_non_string_api_key_in_the_body(client, factory):
    await factory.project()
    r = await client.post(LIST_URL, json={"api_key": None, "kind": "webhook"})
    assert_error(r, 401, "missing api key")


async def test_it_does_not_read_the_key_from_a_get_body(client, factory):
    _, keys = await factory.project()
    r = await client.request("GET", LIST_URL, json={"api_key": keys.api_key})
    assert_error(r, 401, "missing api key")


async def test_it_refuses_the_read_only_key_for_a_write(client, factory):
    _, keys = await factory.project()
    payload = {"name": "Hook", "kind": "webhook", "value": WEBHOOK}
    r = await client.post(LIST_URL, json=payload, headers={"X-Api-Key": keys.api_key_readonly})
    assert_error(r, 401, "wrong api key")


async def test_it_refuses_the_read_only_key_in_a_post_body(client, factory):
    _, keys = await factory.project()
    payload = {"api_key": keys.api_key_readonly, "kind": "webhook", "value": WEBHOOK}
    r = await client.post(LIST_URL, json=payload)
    assert_error(r, 401, "wrong api key")


async def test_it_refuses_the_read_only_key_for_the_channel_list(client, factory):
    _, keys = await factory.project()
    r = await client.get(LIST_URL, headers={"X-Api-Key": keys.api_key_readonly})
    assert_error(r, 401, "wrong api key")


async def test_it_handles_a_body_that_is_not_json(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, content=b"{not json", headers={"X-Api-Key": keys.api_key})
    assert_error(r, 400, "could not parse request body")
    assert_cors(r, "GET, POST, OPTIONS")


async def test_it_handles_a_body_that_is_not_utf8(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, content=b"\xff\xfe", headers={"X-Api-Key": keys.api_key})
    assert_error(r, 400, "could not parse request body")


async def test_it_parses_the_body_before_checking_the_key(client):
    r = await client.post(LIST_URL, content=b"{not json")
    assert_error(r, 400, "could not parse request body")


@pytest.mark.parametrize("body", [b"[]", b'"api_key"', b"42", b"null"])
async def test_it_handles_a_json_body_that_is_not_an_object(client, factory, body):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, content=body, headers={"X-Api-Key": keys.api_key})
    assert_error(r, 400, "json validation error: value is not an object")


async def test_it_treats_an_empty_post_body_as_no_body(client, factory):
    _, keys = await factory.project()
    r = await client.post(LIST_URL, content=b"")
    assert_error(r, 401, "missing api key")
    r = await client.post(LIST_URL, content=b"", headers={"X-Api-Key": keys.api_key})
    assert_error(r, 400, "json validation error: kind has unexpected value")


@pytest.mark.parametrize(
    ("url", "methods"),
    [
        (LIST_URL, "GET, POST, OPTIONS"),
        ("/api/v1/channels/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d", "GET, DELETE, OPTIONS"),
        ("/api/v2/channels/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/test", "POST, OPTIONS"),
    ],
)
async def test_it_answers_options_without_authentication(client, url, methods):
    r = await client.options(url)
    assert r.status_code == 204
    assert r.content == b""
    assert_cors(r, methods)


@pytest.mark.parametrize(
    ("method", "url", "methods"),
    [
        ("PUT", LIST_URL, "GET, POST, OPTIONS"),
        ("DELETE", LIST_URL, "GET, POST, OPTIONS"),
        ("HEAD", LIST_URL, "GET, POST, OPTIONS"),
        ("POST", "/api/v3/channels/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d", "GET, DELETE, OPTIONS"),
        ("PATCH", "/api/v3/channels/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d", "GET, DELETE, OPTIONS"),
        ("GET", "/api/v3/channels/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/test", "POST, OPTIONS"),
    ],
)
async def test_it_answers_405_before_checking_the_key(client, method, url, methods):
    r = await client.request(method, url)
    assert r.status_code == 405
    assert r.content == b""
    assert r.headers["allow"] == methods
    assert_cors(r, methods)


# --- the helper itself, on an endpoint that read-only keys may call ------------------------------

readable = ApiEndpoint("/whoami/", name="api-whoami")


@readable.get()
async def whoami(call: ApiCall) -> Response[Any]:
    return Response(
        {"project_id": call.auth.project_id, "readonly": call.auth.readonly, "v": call.version}
    )


@readable.post()
async def echo(call: ApiCall) -> Response[Any]:
    return Response({"body": call.body, "readonly": call.auth.readonly})


@pytest.fixture
async def helper_client(settings, db, clock):
    state = AppState(settings=settings, db=db, clock=clock)
    app = Litestar(route_handlers=[readable.handler], state=State({"cronbeat": state}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


async def test_it_tells_a_read_endpoint_which_key_was_used(helper_client, factory):
    project, keys = await factory.project()
    r = await helper_client.get("/api/v2/whoami/", headers={"X-Api-Key": keys.api_key})
    assert r.json() == {"project_id": project.id, "readonly": False, "v": 2}
    r = await helper_client.get("/api/v1/whoami/", headers={"X-Api-Key": keys.api_key_readonly})
    assert r.json() == {"project_id": project.id, "readonly": True, "v": 1}


async def test_it_finds_the_project_of_each_key(helper_client, factory):
    await factory.project()
    project, keys = await factory.project()
    r = await helper_client.get("/api/v3/whoami/", headers={"X-Api-Key": keys.api_key_readonly})
    assert r.json() == {"project_id": project.id, "readonly": True, "v": 3}


async def test_it_hands_the_view_the_parsed_body(helper_client, factory):
    _, keys = await factory.project()
    payload = {"api_key": keys.api_key, "x": [1, 2]}
    r = await helper_client.post("/api/v3/whoami/", json=payload)
    assert r.status_code == 200, r.text
    assert r.json() == {"body": payload, "readonly": False}


async def test_a_key_with_unprintable_characters_is_a_wrong_key(client):
    for key in ("hcw_" + "\x00" * 28, "hcw_" + "\ud800" * 28, "hcw_" + "é" * 28):
        response = await client.post("/api/v3/channels/", content=json.dumps({"api_key": key}))
        assert (response.status_code, response.json()) == (401, {"error": "wrong api key"})


async def test_deeply_nested_json_is_a_body_that_does_not_parse(client):
    body = "[" * 100_000 + "]" * 100_000
    response = await client.post("/api/v3/channels/", content=body)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "could not parse request body"},
    )
