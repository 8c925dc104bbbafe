"""Property: no JSON body makes create or update fail with a server error (5xx)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.http.test_api_checks import LIST_URL, check_url

FIELDS = [
    "name",
    "slug",
    "tags",
    "desc",
    "timeout",
    "grace",
    "schedule",
    "tz",
    "manual_resume",
    "methods",
    "channels",
    "subject",
    "subject_fail",
    "start_kw",
    "success_kw",
    "failure_kw",
    "filter_subject",
    "filter_body",
    "filter_http_body",
    "filter_default_fail",
    "unique",
    "api_key",
    "status",
]
# Values that pass some validation, so that the deeper paths run too.
INTERESTING = st.sampled_from(
    [
        "",
        "*",
        ",",
        "hook",
        "hook,hook",
        "POST",
        "5 * * * *",
        "12:34",
        "Mon *-*-* 00:00",
        "0 0 30 2 *",
        "Europe/Kiev",
        "UTC",
        "backups",
        "Foo Bar",
        "\u216b" * 100,
        "a\x00b",
        "\ud800",
        "x" * 101,
        "x" * 501,
        60,
        31536000,
        2**63,
        -(2**63),
        1e308,
        float("nan"),
        float("inf"),
    ]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
UNIQUE = st.lists(st.sampled_from(["name", "slug", "tags", "timeout", "grace", "status"]))
VALUES = st.one_of(INTERESTING, JSON, UNIQUE, st.integers(min_value=-100, max_value=40_000_000))
BODIES = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), VALUES, max_size=8)


def encoded(body: Any) -> bytes:
    # json.dumps escapes lone surrogates and writes NaN/Infinity, which Python's parser reads.
    return json.dumps(body).encode()


def assert_no_server_error(r: Any) -> None:
    assert r.status_code < 500, r.text
    if r.status_code == 400:
        assert set(r.json()) == {"error"}


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODIES)
async def test_no_json_body_makes_create_or_update_fail_with_a_server_error(client, factory, body):
    project, keys = await factory.project()
    await factory.channel(project, name="hook")
    check = await factory.check(project, name="Target")
    headers = {"X-Api-Key": keys.api_key, "Content-Type": "application/json"}

    created = await client.post(LIST_URL, content=encoded(body), headers=headers)
    updated = await client.post(check_url(check), content=encoded(body), headers=headers)

    assert_no_server_error(created)
    assert_no_server_error(updated)
    assert created.status_code in (200, 201, 400, 403)
    assert updated.status_code in (200, 400)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=JSON, version=st.sampled_from([1, 2, 3]))
async def test_no_json_document_of_any_shape_makes_create_fail(client, factory, body, version):
    _, keys = await factory.project()
    headers = {"X-Api-Key": keys.api_key, "Content-Type": "application/json"}
    r = await client.post(f"/api/v{version}/checks/", content=encoded(body), headers=headers)
    assert_no_server_error(r)
