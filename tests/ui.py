"""Helpers for page tests over the ASGI test client: sign in, post forms with the CSRF token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event

from app.db.engine import Database

CSRF_COOKIE = "cronbeat_csrf"
PASSWORD = "correct horse battery"


async def csrf_token(client: httpx.AsyncClient) -> str:
    """The double-submit token: any GET of a page sets the cookie."""
    token = client.cookies.get(CSRF_COOKIE)
    if token is None:
        await client.get("/accounts/login/")
        token = client.cookies[CSRF_COOKIE]
    return token


async def post_form(
    client: httpx.AsyncClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> httpx.Response:
    """POST a form as a browser would, CSRF token included. Lists become repeated fields."""
    fields = dict(data or {})
    fields["_csrf_token"] = await csrf_token(client)
    return await client.post(url, data=fields, **kwargs)


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> None:
    response = await post_form(client, "/accounts/login/", {"email": email, "password": password})
    assert response.status_code == 303, response.text


@contextmanager
def recorded_statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements sent to the database meanwhile, one per round trip (SQLite's
    explicit BEGIN is left out: PostgreSQL sends none of its own)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.strip().upper() != "BEGIN":
            statements.append(" ".join(statement.split()))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
