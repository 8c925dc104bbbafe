"""The OpenAPI document (/api/openapi.json) and the reference page (/api/docs).

The document must be structurally sound OpenAPI 3.1, list every served endpoint with exactly
the methods it serves, and describe what the server really answers: the answers of real
requests are validated against the document's own schemas (with a small JSON Schema
validator below that treats undeclared properties as errors) and converted into the msgspec
Structs the document was generated from.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from app.domain import checks as check_rules
from app.domain.checks import check_to_dict
from app.main import create_app
from app.web import badges
from app.web.api import channels, checks, schemas
from app.web.api.auth import ApiEndpoint
from app.web.api.openapi import documented_operations

_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

# What the document must list: Healthchecks' API v3 table, Cronbeat's channel endpoints, the
# service URLs, the ping and badge URLs, Heartbeat Central and django-health-check-job.
EXPECTED = {
    "/api/v3/checks/": {"GET", "POST"},
    "/api/v3/checks/{check}": {"GET", "POST", "DELETE"},
    "/api/v3/checks/{check}/pause": {"POST"},
    "/api/v3/checks/{check}/resume": {"POST"},
    "/api/v3/checks/{check}/pings/": {"GET"},
    "/api/v3/checks/{check}/pings/{n}/body": {"GET"},
    "/api/v3/checks/{check}/flips/": {"GET"},
    "/api/v3/channels/": {"GET", "POST"},
    "/api/v3/channels/{channel}": {"GET", "DELETE"},
    "/api/v3/channels/{channel}/test": {"POST"},
    "/api/v3/badges/": {"GET"},
    "/api/v3/status/": {"GET"},
    "/api/v3/metrics/": {"GET"},
    "/health": {"GET"},
    "/projects/{project}/metrics/{key}": {"GET"},
    "/projects/{project}/metrics": {"GET"},
    "/badge/{badge_key}/{signature}/{filename}": {"GET"},
    "/badge/{badge_key}/{filename}": {"GET"},
    "/b/{states}/{filename}": {"GET"},
    "/ping/{uuid}": {"GET", "POST"},
    "/ping/{uuid}/start": {"GET", "POST"},
    "/ping/{uuid}/fail": {"GET", "POST"},
    "/ping/{uuid}/log": {"GET", "POST"},
    "/ping/{uuid_or_ping_key}/{exit_status_or_slug}": {"GET", "POST"},
    "/ping/{ping_key}/{slug}/start": {"GET", "POST"},
    "/ping/{ping_key}/{slug}/fail": {"GET", "POST"},
    "/ping/{ping_key}/{slug}/log": {"GET", "POST"},
    "/ping/{ping_key}/{slug}/{exit_status}": {"GET", "POST"},
    "/heartbeat/{uuid}": {"POST"},
    "/api/applications": {"GET", "POST"},
    "/api/applications/{application}": {"GET", "PUT", "DELETE"},
    "/api/applications/{application}/heartbeats": {"GET"},
    "/v1/metrics": {"POST"},
}


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/api/openapi.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    result: dict[str, Any] = r.json()
    return result


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in _HTTP_METHODS
    ]


# --- a JSON Schema validator (the subset the document uses), strict about unknown keys -------


class Invalid(AssertionError):
    pass


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TYPES: dict[str, Any] = {
    "string": str,
    "boolean": bool,
    "object": dict,
    "array": list,
    "null": type(None),
}


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _TYPES[kind])


def validate(value: Any, schema: dict[str, Any], document: dict[str, Any], at: str = "$") -> None:
    """Raise Invalid when ``value`` does not match ``schema``; objects may not carry
    properties the schema does not declare (unless it allows additionalProperties)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        validate(value, document["components"]["schemas"][name], document, at)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            matches = 0
            for option in schema[key]:
                try:
                    validate(value, option, document, at)
                    matches += 1
                except Invalid:
                    pass
            if matches == 0 or (key == "oneOf" and matches > 1):
                raise Invalid(f"{at}: {value!r} matches {matches} of {key}")
    if "enum" in schema and value not in schema["enum"]:
        raise Invalid(f"{at}: {value!r} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        raise Invalid(f"{at}: {value!r} != {schema['const']!r}")
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_is_type(value, k) for k in kinds):
            raise Invalid(f"{at}: {value!r} is not {kind}")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise Invalid(f"{at}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise Invalid(f"{at}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") == "uuid" and not _UUID.fullmatch(value):
            raise Invalid(f"{at}: {value!r} is not a uuid")
        if schema.get("format") == "date-time":
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise Invalid(f"{at}: {value!r} is not a date-time") from None
            if parsed.tzinfo is None:
                raise Invalid(f"{at}: {value!r} has no time zone")
    if _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            raise Invalid(f"{at}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise Invalid(f"{at}: {value} > {schema['maximum']}")
    if isinstance(value, dict) and ("properties" in schema or "additionalProperties" in schema):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise Invalid(f"{at}: {name!r} is missing")
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in properties:
                validate(item, properties[name], document, f"{at}.{name}")
            elif isinstance(extra, dict):
                validate(item, extra, document, f"{at}.{name}")
            elif extra is not True:
                raise Invalid(f"{at}: {name!r} is not declared")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            validate(item, schema["items"], document, f"{at}[{index}]")


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def check_answer(
    document: dict[str, Any], path: str, method: str, r: httpx.Response
) -> dict[str, Any] | None:
    """Validate a real answer against the documented operation: its status must be listed,
    and the body must match that status's content. Returns the JSON (if any)."""
    operation = document["paths"][path][method.lower()]
    responses = operation["responses"]
    assert str(r.status_code) in responses, (path, method, r.status_code, list(responses))
    content = responses[str(r.status_code)].get("content")
    if not content:
        assert r.content == b"", r.content
        return None
    media_type = r.headers["content-type"].split(";")[0].strip()
    declared = {key.split(";")[0].strip(): value for key, value in content.items()}
    assert media_type in declared, (media_type, list(declared))
    schema = declared[media_type]["schema"]
    if media_type == "application/json":
        body = r.json()
        validate(body, schema, document)
        return body if isinstance(body, dict) else {"items": body}
    validate(r.text, schema, document)
    return None


# --- the document's structure ------------------------------------------------------------------


async def test_the_document_is_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "Cronbeat API"
    assert document["info"]["version"]
    assert "/api/v1/" in document["info"]["description"]  # the aliases are explained
    assert document["servers"] == [{"url": "http://testserver.local"}]
    tag_names = [tag["name"] for tag in document["tags"]]
    ids = []
    for path, method, operation in operations(document):
        assert path.startswith("/")
        assert operation["responses"], (path, method)
        assert operation["summary"]
        assert operation["tags"][0] in tag_names
        ids.append(operation["operationId"])
        for status, answer in operation["responses"].items():
            assert re.fullmatch(r"[1-5][0-9][0-9]", status)
            assert answer["description"], (path, method, status)
    assert len(ids) == len(set(ids)), "operationIds must be unique"


async def test_every_endpoint_is_listed_with_its_methods(document):
    assert documented_operations(document) == EXPECTED


async def test_every_path_parameter_is_declared(document):
    for path, method, operation in operations(document):
        in_path = set(re.findall(r"\{([^}]+)\}", path))
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert in_path == declared, (path, method)
        for parameter in operation.get("parameters", []):
            assert "schema" in parameter
            if parameter["in"] == "path":
                assert parameter["required"] is True


async def test_every_reference_resolves(document):
    schemas_defined = set(document["components"]["schemas"])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None:
                assert ref.removeprefix("#/components/schemas/") in schemas_defined, ref
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


async def test_the_api_key_scheme_guards_the_management_api(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {
        "type": "apiKey",
        "name": "X-Api-Key",
        "in": "header",
        "description": schemes["apiKey"]["description"],
    }
    assert schemes["metricsKey"]["name"] == "X-Metrics-Key"
    assert schemes["readOnlyKeyBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["readOnlyKeyBearer"]["description"],
    }
    unauthenticated = {"/api/v3/status/", "/api/v3/metrics/"}
    for path, method, operation in operations(document):
        for requirement in operation.get("security", []):
            assert set(requirement) <= set(schemes)
        management = path.startswith("/api/") and path not in unauthenticated
        if management:
            assert operation.get("security") == [{"apiKey": []}], (path, method)
            assert "401" in operation["responses"], (path, method)
            assert ("Read-write key" in operation["description"]) != (
                "Read-only or read-write key" in operation["description"]
            ), (path, method)
        elif path != "/api/v3/metrics/" and not path.startswith("/projects/"):
            assert "security" not in operation, (path, method)
    assert document["paths"]["/api/v3/metrics/"]["get"]["security"] == [{"metricsKey": []}]
    # Read-only versus read-write is stated per operation.
    assert "Read-write key" in document["paths"]["/api/v3/checks/"]["post"]["description"]
    assert "Read-only" in document["paths"]["/api/v3/checks/"]["get"]["description"]


@pytest.mark.parametrize(
    ("path", "method", "schema"),
    [
        ("/api/v3/checks/", "post", "CheckCreate"),
        ("/api/v3/checks/{check}", "post", "CheckUpdate"),
        ("/api/v3/channels/", "post", "ChannelCreate"),
        ("/api/applications", "post", "ApplicationCreate"),
        ("/api/applications/{application}", "put", "ApplicationUpdate"),
        ("/v1/metrics", "post", "MetricsSync"),
    ],
)
async def test_request_bodies_are_described(document, path, method, schema):
    body = document["paths"][path][method]["requestBody"]
    assert body["content"]["application/json"]["schema"] == component(document, schema)
    assert document["components"]["schemas"][schema]["properties"]


async def test_a_ping_takes_an_optional_text_body_on_post(document):
    item = document["paths"]["/ping/{uuid}"]
    assert "requestBody" not in item["get"]
    body = item["post"]["requestBody"]
    assert body["required"] is False
    assert body["content"]["text/plain"]["schema"] == {"type": "string"}
    assert "Ping-Body-Limit" in item["post"]["responses"]["200"]["headers"]


@pytest.mark.parametrize(
    ("path", "method", "status", "schema"),
    [
        ("/api/v3/checks/", "get", "200", "CheckList"),
        ("/api/v3/checks/", "post", "201", "Check"),
        ("/api/v3/checks/", "post", "200", "Check"),
        ("/api/v3/checks/{check}", "get", "200", "Check"),
        ("/api/v3/checks/{check}", "post", "200", "Check"),
        ("/api/v3/checks/{check}", "delete", "200", "Check"),
        ("/api/v3/checks/{check}/pause", "post", "200", "Check"),
        ("/api/v3/checks/{check}/resume", "post", "200", "Check"),
        ("/api/v3/checks/{check}/pings/", "get", "200", "PingList"),
        ("/api/v3/checks/{check}/flips/", "get", "200", "FlipList"),
        ("/api/v3/channels/", "get", "200", "ChannelList"),
        ("/api/v3/channels/", "post", "201", "ChannelSummary"),
        ("/api/v3/channels/{channel}", "get", "200", "Channel"),
        ("/api/v3/channels/{channel}/test", "post", "200", "ChannelTest"),
        ("/api/v3/badges/", "get", "200", "BadgeList"),
        ("/api/applications", "post", "201", "Application"),
        ("/api/applications/{application}", "get", "200", "ApplicationDetail"),
        ("/api/applications/{application}/heartbeats", "get", "200", "HeartbeatPage"),
        ("/v1/metrics", "post", "200", "MetricsSyncResult"),
        ("/health", "get", "200", "Health"),
    ],
)
async def test_json_answers_are_described(document, path, method, status, schema):
    content = document["paths"][path][method]["responses"][status]["content"]
    assert content["application/json"]["schema"] == component(document, schema)


async def test_error_answers_are_described(document):
    for path, method, operation in operations(document):
        if not path.startswith("/api/"):
            continue
        for status, answer in operation["responses"].items():
            if status in {"401", "403", "404", "409"} and answer.get("content"):
                if (path, status) == ("/api/v3/checks/{check}/resume", "409"):
                    assert list(answer["content"]) == ["text/html"]  # Healthchecks' plain text
                    continue
                schema = answer["content"]["application/json"]["schema"]
                assert schema == component(document, "Error"), (path, method, status)
    # Litestar's own validation answer ({"status_code", "detail"}) is never what we send.
    assert "ValidationException" not in str(document)
    assert '"detail"' not in msgspec.json.encode(document).decode()


# --- one source of truth: the declarations, the served routes, the domain's rules --------------


def _endpoints() -> list[ApiEndpoint]:
    found = []
    for module in (checks, channels, badges):
        for value in vars(module).values():
            if isinstance(value, ApiEndpoint):
                found.append(value)
            for attribute in ("by_code", "by_key"):
                endpoint = getattr(value, attribute, None)
                if isinstance(endpoint, ApiEndpoint):
                    found.append(endpoint)
    return found


def _shape(path: str) -> list[str]:
    return ["{}" if segment.startswith("{") else segment for segment in path.split("/")]


def _documented_as(document: dict[str, Any], real: str) -> str | None:
    """The documented path a served path falls under: same length, literal segments equal
    or documented as a parameter."""
    real_shape = _shape(real.rstrip("/"))
    for path in document["paths"]:
        shape = _shape(path.rstrip("/"))
        if len(shape) == len(real_shape) and all(
            d == r or d == "{}" for d, r in zip(shape, real_shape, strict=True)
        ):
            if real_shape[-1] == "{}" and shape[-1] != "{}":
                continue  # a parameter is not documented by a literal
            return path
    return None


async def test_every_management_url_serves_exactly_the_documented_methods(document):
    documented = documented_operations(document)
    served: dict[str, set[str]] = {}
    for endpoint in _endpoints():
        for path in endpoint.handler.paths:
            if path.startswith("/api/v3/"):
                target = _documented_as(document, path)
                assert target is not None, f"{path} is served but not documented"
                served.setdefault(target, set()).update(endpoint.methods)
    assert served
    for path, methods in served.items():
        assert documented[path] == methods, path


async def test_the_key_each_operation_asks_for_is_the_key_it_needs(document):
    checked = 0
    for endpoint in _endpoints():
        for path in endpoint.handler.paths:
            target = _documented_as(document, path) if path.startswith("/api/v3/") else None
            if target is None:
                continue
            for method in endpoint.methods:
                description = document["paths"][target][method.lower()]["description"]
                if method in endpoint.write_methods:
                    assert "Read-write key" in description, (target, method)
                else:
                    assert "Read-only or read-write key" in description, (target, method)
                checked += 1
    assert checked >= 15


async def test_every_served_public_route_is_documented(client, document, settings, db, clock):
    app = create_app(settings, db=db, clock=clock)
    undocumented_aliases = {"/projects/{project_code}/checks/metrics/{key}"}
    public = ("/api/v3/", "/api/applications", "/v1/", "/ping/", "/heartbeat", "/health")
    public += ("/b/", "/badge/", "/projects/")
    seen = 0
    for route in app.routes:
        path = route.path_format
        if path in undocumented_aliases or path.startswith(("/api/v1/", "/api/v2/")):
            continue
        if path.startswith("/projects/") and "/metrics" not in path:
            continue  # the project pages of the UI
        if path.startswith(public):
            seen += 1
            assert _documented_as(document, path) is not None, f"{path} is not documented"
    assert seen >= 20


async def test_check_fields_match_the_domains_validation_rules(document):
    update = document["components"]["schemas"]["CheckUpdate"]["properties"]
    create = document["components"]["schemas"]["CheckCreate"]["properties"]
    rules = check_rules._SCHEMA
    assert set(create) == set(rules) | {"api_key"}
    assert set(update) == set(rules) - {"unique"} | {"api_key"}
    types = {"string": "string", "number": "integer", "boolean": "boolean", "array": "array"}
    for name, rule in rules.items():
        prop = create[name]
        if rule.type == "enum":
            assert prop["enum"] == list(rule.enum), name
            continue
        assert prop["type"] == types[rule.type], name
        assert prop.get("maxLength") == rule.max_length, name
        assert prop.get("minimum") == rule.minimum, name
        assert prop.get("maximum") == rule.maximum, name
        if rule.pattern is not None:
            assert prop["pattern"] == rule.pattern.pattern, name
        if rule.items is not None:
            assert prop["items"]["enum"] == list(rule.items.enum) == list(check_rules.UNIQUE_FIELDS)


def _check_row(**fields: Any) -> Any:
    values = {
        **check_rules.DEFAULTS,
        "code": uuid.uuid4(),
        "badge_key": uuid.uuid4(),
        "last_ping": None,
        "last_start": None,
        "last_duration": None,
        **fields,
    }
    return type("Row", (), values)()


def test_the_check_struct_has_exactly_the_fields_check_to_dict_can_write(settings):
    now = datetime(2026, 1, 15, tzinfo=UTC)
    variants = [
        check_to_dict(_check_row(), settings, now),
        check_to_dict(_check_row(kind="cron", last_duration=12), settings, now, readonly=True),
    ]
    written = set().union(*variants)
    assert written == set(schemas.Check.__struct_fields__)
    required = {f.name for f in msgspec.structs.fields(schemas.Check) if f.required}
    assert required == set.intersection(*(set(v) for v in variants))


# --- real answers match the document ------------------------------------------------------------


async def test_real_check_answers_match_the_document(client, factory, document):
    project, keys = await factory.project()
    rw = {"X-Api-Key": keys.api_key}
    ro = {"X-Api-Key": keys.api_key_readonly}
    channel = await factory.channel(project, name="ops", value={"url_down": "https://x.org/d"})

    r = await client.post(
        "/api/v3/checks/",
        json={"name": "Backups", "tags": "prod db", "channels": "*", "unique": ["name"]},
        headers=rw,
    )
    assert r.status_code == 201
    created = check_answer(document, "/api/v3/checks/", "POST", r)
    msgspec.convert(created, schemas.Check)
    code = created["uuid"]
    assert created["channels"] == str(channel.code)

    r = await client.post(
        "/api/v3/checks/", json={"name": "Backups", "unique": ["name"]}, headers=rw
    )
    assert r.status_code == 200
    check_answer(document, "/api/v3/checks/", "POST", r)

    r = await client.post(
        "/api/v3/checks/",
        json={"name": "Nightly", "schedule": "0 3 * * *", "tz": "UTC"},
        headers=rw,
    )
    cron = check_answer(document, "/api/v3/checks/", "POST", r)
    assert cron["schedule"] == "0 3 * * *"

    for headers in (rw, ro):
        r = await client.get("/api/v3/checks/", params={"tag": "prod"}, headers=headers)
        listed = check_answer(document, "/api/v3/checks/", "GET", r)
        msgspec.convert(listed, schemas.CheckList)
        assert len(listed["checks"]) == 1
    unique_key = listed["checks"][0]["unique_key"]

    for ref, headers in ((code, rw), (unique_key, ro)):
        r = await client.get(f"/api/v3/checks/{ref}", headers=headers)
        msgspec.convert(check_answer(document, "/api/v3/checks/{check}", "GET", r), schemas.Check)

    r = await client.post(f"/api/v3/checks/{code}", json={"timeout": 120}, headers=rw)
    check_answer(document, "/api/v3/checks/{check}", "POST", r)
    r = await client.post(f"/api/v3/checks/{code}", json={"timeout": "60"}, headers=rw)
    assert r.status_code == 400
    check_answer(document, "/api/v3/checks/{check}", "POST", r)

    r = await client.post(f"/api/v3/checks/{code}/resume", headers=rw)
    assert r.status_code == 409
    check_answer(document, "/api/v3/checks/{check}/resume", "POST", r)
    r = await client.post(f"/api/v3/checks/{code}/pause", headers=rw)
    check_answer(document, "/api/v3/checks/{check}/pause", "POST", r)
    r = await client.post(f"/api/v3/checks/{code}/resume", headers=rw)
    check_answer(document, "/api/v3/checks/{check}/resume", "POST", r)

    r = await client.get(f"/api/v3/checks/{code}", headers={"X-Api-Key": "x" * 32})
    assert r.status_code == 401
    check_answer(document, "/api/v3/checks/{check}", "GET", r)
    r = await client.get(f"/api/v3/checks/{uuid.uuid4()}", headers=rw)
    assert r.status_code == 404
    check_answer(document, "/api/v3/checks/{check}", "GET", r)

    r = await client.delete(f"/api/v3/checks/{code}", headers=rw)
    msgspec.convert(check_answer(document, "/api/v3/checks/{check}", "DELETE", r), schemas.Check)


async def test_real_pings_and_flips_match_the_document(client, factory, document, clock):
    project, keys = await factory.project()
    rw = {"X-Api-Key": keys.api_key}
    check = await factory.check(project, name="job")
    rid = str(uuid.uuid4())

    r = await client.post(f"/ping/{check.code}/start", params={"rid": rid})
    check_answer(document, "/ping/{uuid}/start", "POST", r)
    clock.advance(seconds=3)
    r = await client.post(f"/ping/{check.code}", params={"rid": rid}, content=b"all good")
    check_answer(document, "/ping/{uuid}", "POST", r)
    r = await client.get(f"/ping/{check.code}/fail")
    check_answer(document, "/ping/{uuid}/fail", "GET", r)
    r = await client.get(f"/ping/{check.code}/256")
    assert r.status_code == 400
    check_answer(document, "/ping/{uuid_or_ping_key}/{exit_status_or_slug}", "GET", r)
    r = await client.get(f"/ping/{uuid.uuid4()}")
    assert r.status_code == 404
    check_answer(document, "/ping/{uuid}", "GET", r)

    r = await client.get(f"/api/v3/checks/{check.code}/pings/", headers=rw)
    pings = check_answer(document, "/api/v3/checks/{check}/pings/", "GET", r)
    msgspec.convert(pings, schemas.PingList)
    success = next(p for p in pings["pings"] if p["type"] == "success")
    assert success["duration"] == 3.0
    assert success["body_url"] is not None

    r = await client.get(f"/api/v3/checks/{check.code}/pings/{success['n']}/body", headers=rw)
    assert r.text == "all good"
    r = await client.get(f"/api/v3/checks/{check.code}/pings/{success['n']}/body", headers=rw)
    assert r.headers["content-type"] == "text/plain"

    r = await client.get(f"/api/v3/checks/{check.code}/flips/", headers=rw)
    flips = check_answer(document, "/api/v3/checks/{check}/flips/", "GET", r)
    msgspec.convert(flips, schemas.FlipList)
    assert [flip["up"] for flip in flips["flips"]] == [0, 1]
    r = await client.get(f"/api/v3/checks/{check.code}/flips/?start=abc", headers=rw)
    assert r.status_code == 400
    check_answer(document, "/api/v3/checks/{check}/flips/", "GET", r)


async def test_real_slug_pings_match_the_document(client, factory, document):
    _, keys = await factory.project()
    r = await client.post(f"/ping/{keys.ping_key}/new-job?create=1")
    assert r.status_code == 201
    check_answer(document, "/ping/{uuid_or_ping_key}/{exit_status_or_slug}", "POST", r)
    r = await client.get(f"/ping/{keys.ping_key}/new-job/0")
    check_answer(document, "/ping/{ping_key}/{slug}/{exit_status}", "GET", r)
    r = await client.get(f"/ping/{keys.ping_key}/New-Job/start")
    assert r.status_code == 400
    check_answer(document, "/ping/{ping_key}/{slug}/start", "GET", r)


async def test_real_channel_answers_match_the_document(client, factory, document):
    _, keys = await factory.project()
    rw = {"X-Api-Key": keys.api_key}
    payload = {"name": "hook", "kind": "webhook", "value": {"url_down": "https://x.org/d"}}
    r = await client.post("/api/v3/channels/", json=payload, headers=rw)
    created = check_answer(document, "/api/v3/channels/", "POST", r)
    msgspec.convert(created, schemas.ChannelSummary)
    r = await client.post("/api/v3/channels/", json={"kind": "carrier-pigeon"}, headers=rw)
    assert r.status_code == 400
    check_answer(document, "/api/v3/channels/", "POST", r)

    r = await client.get("/api/v3/channels/", headers=rw)
    msgspec.convert(check_answer(document, "/api/v3/channels/", "GET", r), schemas.ChannelList)
    r = await client.get(f"/api/v3/channels/{created['id']}", headers=rw)
    detail = check_answer(document, "/api/v3/channels/{channel}", "GET", r)
    msgspec.convert(detail, schemas.Channel)
    r = await client.delete(f"/api/v3/channels/{created['id']}", headers=rw)
    check_answer(document, "/api/v3/channels/{channel}", "DELETE", r)
    r = await client.get("/api/v3/channels/", headers={"X-Api-Key": keys.api_key_readonly})
    assert r.status_code == 401
    check_answer(document, "/api/v3/channels/", "GET", r)


async def test_real_badges_match_the_document(client, factory, document):
    project, keys = await factory.project()
    check = await factory.check(project, name="db", tags="prod")
    r = await client.get("/api/v3/badges/", headers={"X-Api-Key": keys.api_key_readonly})
    listed = check_answer(document, "/api/v3/badges/", "GET", r)
    msgspec.convert(listed, schemas.BadgeList)
    urls = listed["badges"]["prod"]
    for key in ("svg", "json3", "shields"):
        r = await client.get(urls[key])
        assert r.status_code == 200
        check_answer(document, "/badge/{badge_key}/{signature}/{filename}", "GET", r)
    r = await client.get(listed["badges"]["*"]["json"])
    check_answer(document, "/badge/{badge_key}/{filename}", "GET", r)
    for fmt in ("svg", "json", "shields"):
        r = await client.get(f"/b/3/{check.badge_key}.{fmt}")
        body = check_answer(document, "/b/{states}/{filename}", "GET", r)
        if fmt == "shields":
            msgspec.convert(body, schemas.ShieldsBadge)
        elif fmt == "json":
            msgspec.convert(body, schemas.BadgeState)
    r = await client.get(f"/b/2/{uuid.uuid4()}.svg")
    assert r.status_code == 404
    check_answer(document, "/b/{states}/{filename}", "GET", r)


async def test_real_heartbeat_central_answers_match_the_document(client, factory, document):
    _, keys = await factory.project()
    rw = {"X-Api-Key": keys.api_key}
    r = await client.post(
        "/api/applications", json={"name": "export", "expected_interval": 300}, headers=rw
    )
    created = check_answer(document, "/api/applications", "POST", r)
    msgspec.convert(created, schemas.Application)
    detail_path = "/api/applications/{application}"
    r = await client.post(f"/heartbeat/{created['id']}")
    check_answer(document, "/heartbeat/{uuid}", "POST", r)

    r = await client.get("/api/applications", headers=rw)
    listed = check_answer(document, "/api/applications", "GET", r)
    msgspec.convert(listed["items"], list[schemas.Application])
    r = await client.get(f"/api/applications/{created['id']}", headers=rw)
    msgspec.convert(check_answer(document, detail_path, "GET", r), schemas.ApplicationDetail)
    r = await client.put(
        f"/api/applications/{created['id']}", json={"is_active": False}, headers=rw
    )
    check_answer(document, detail_path, "PUT", r)
    r = await client.put(f"/api/applications/{created['id']}", json={}, headers=rw)
    assert r.status_code == 400
    check_answer(document, detail_path, "PUT", r)
    r = await client.get(f"/api/applications/{created['id']}/heartbeats", headers=rw)
    page = check_answer(document, detail_path + "/heartbeats", "GET", r)
    msgspec.convert(page, schemas.HeartbeatPage)
    assert page["total"] == 1
    r = await client.delete(f"/api/applications/{created['id']}", headers=rw)
    assert r.status_code == 204
    check_answer(document, detail_path, "DELETE", r)
    r = await client.get(f"/api/applications/{created['id']}", headers=rw)
    assert r.status_code == 404
    check_answer(document, detail_path, "GET", r)


async def test_real_service_answers_match_the_document(client, factory, document):
    project, keys = await factory.project()
    payload = {
        "uuid": str(uuid.uuid4()),
        "timestamp": "2026-01-15T12:00:00",
        "sync_app_id": keys.ping_key,
        "checks": [{"name": "Database", "status": 1, "message": "ok"}],
    }
    r = await client.post("/v1/metrics", json=payload)
    msgspec.convert(check_answer(document, "/v1/metrics", "POST", r), schemas.MetricsSyncResult)
    r = await client.post("/v1/metrics", json={**payload, "sync_app_id": "nope"})
    assert r.status_code == 404
    check_answer(document, "/v1/metrics", "POST", r)

    r = await client.get("/health")
    msgspec.convert(check_answer(document, "/health", "GET", r), schemas.Health)
    r = await client.get("/api/v3/status/")
    check_answer(document, "/api/v3/status/", "GET", r)
    r = await client.get("/api/v3/metrics/")
    assert r.status_code == 403
    check_answer(document, "/api/v3/metrics/", "GET", r)
    r = await client.get(f"/projects/{project.code}/metrics/{keys.api_key_readonly}")
    check_answer(document, "/projects/{project}/metrics/{key}", "GET", r)
    r = await client.get(f"/projects/{project.code}/metrics")
    assert r.status_code == 401
    check_answer(document, "/projects/{project}/metrics", "GET", r)


# --- the checks above can fail ------------------------------------------------------------------


def _sample_check(settings: Any) -> dict[str, Any]:
    return check_to_dict(_check_row(), settings, datetime(2026, 1, 15, tzinfo=UTC))


async def test_the_validator_refuses_what_the_document_does_not_say(document, settings):
    good = _sample_check(settings)
    validate(good, component(document, "Check"), document)
    wrong = [
        {**good, "surprise": 1},  # an undocumented field
        {key: value for key, value in good.items() if key != "name"},  # a required one missing
        {**good, "grace": "3600"},  # a wrong type
        {**good, "status": "sleeping"},  # not in the enum
        {**good, "uuid": "not-a-uuid"},
        {**good, "last_ping": "yesterday"},
    ]
    for body in wrong:
        with pytest.raises(Invalid):
            validate(body, component(document, "Check"), document)
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(body, schemas.Check)
    with pytest.raises(Invalid):
        validate({"status": "ok"}, component(document, "MetricsSyncResult"), document)


async def test_an_undocumented_status_fails_the_answer_check(document):
    answer = httpx.Response(418, json={"error": "teapot"})
    with pytest.raises(AssertionError):
        check_answer(document, "/api/v3/checks/", "GET", answer)


# --- the page ------------------------------------------------------------------------------------


async def test_the_docs_page_lists_every_operation(client, document):
    r = await client.get("/api/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    for path, method, operation in operations(document):
        assert f'id="{operation["operationId"]}"' in html, (path, method)
        assert f'<code class="path">{path}</code>' in html.replace("&#34;", '"'), path
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    assert "X-Api-Key" in html
    assert "Example request" in html and "&#34;unique&#34;" in html
    assert '/api/openapi.json"' in html


async def test_the_docs_page_needs_nothing_from_elsewhere(client):
    html = (await client.get("/api/docs")).text
    assert "<script" not in html
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not re.match(r"(https?:)?//", url), url
    r = await client.get("/static/api-docs.css")
    assert r.status_code == 200
