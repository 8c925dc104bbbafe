"""The checks page's live stream (Server-Sent Events) over the ASGI test client.

The test client buffers a response until it ends, so each test makes the stream finite
(``sse.MAX_MESSAGES``), opens it in a task, waits until it has subscribed to the hub, makes
a change, and reads the messages once the stream has ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, update

from app import live
from app.db import models as m
from app.db.engine import Database
from app.domain import dashboard
from app.web import sse
from tests.conftest import FakeClock
from tests.factories import Factory
from tests.ui import PASSWORD, sign_in

OWNER = "owner@example.org"


@dataclass
class Message:
    event: str
    data: str
    comment: str


def parse(body: str) -> list[Message]:
    messages = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event, data, comment = "", [], []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data.append(line.removeprefix("data: "))
            elif line.startswith(": "):
                comment.append(line.removeprefix(": "))
        messages.append(Message(event, "\n".join(data), "\n".join(comment)))
    return messages


@pytest.fixture
async def project(factory: Factory, client: httpx.AsyncClient) -> m.Project:
    owner = await factory.user(OWNER, PASSWORD)
    found, _ = await factory.project(owner, name="Live")
    await sign_in(client, OWNER)
    return found


def events_url(project: m.Project, query: str = "") -> str:
    return f"/projects/{project.code}/checks/events{query}"


@pytest.fixture
def stream(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str, Callable[[], Awaitable[object]]], Awaitable[list[Message]]]:
    """``await stream(url, change)``: open the stream, make ``change`` once it has read its
    rows (so the change reaches it through the hub, not that read), and return the first
    message it sent after its opening comment."""
    ready = asyncio.Event()
    track = dashboard.LiveRows.track

    def track_then_signal(self: dashboard.LiveRows, *args: Any, **kwargs: Any) -> None:
        track(self, *args, **kwargs)
        ready.set()

    monkeypatch.setattr(dashboard.LiveRows, "track", track_then_signal)
    monkeypatch.setattr(sse, "MAX_MESSAGES", 1)

    async def run(url: str, change: Callable[[], Awaitable[object]]) -> list[Message]:
        ready.clear()
        response = asyncio.create_task(client.get(url))
        async with asyncio.timeout(10):
            await asyncio.wait(
                [response, asyncio.create_task(ready.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
            await change()
            answer = await response
        return _sent(answer)

    return run


def _sent(answer: httpx.Response) -> list[Message]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    sent = parse(answer.text)
    assert sent[0].comment == "live"
    return sent[1:]


Stream = Callable[[str, Callable[[], Awaitable[object]]], Awaitable[list[Message]]]


async def publish(*checks: m.Check) -> None:
    live.hub.publish([check.id for check in checks])


async def test_a_changed_check_sends_its_new_row(
    stream: Stream, client: httpx.AsyncClient, factory: Factory, db: Database, project: m.Project
) -> None:
    check = await factory.check(project, name="nightly")

    async def ping() -> None:
        async with db.engine.begin() as conn:
            await conn.execute(
                update(m.Check)
                .where(m.Check.id == check.id)
                .values(status="up", last_ping=factory.clock())
            )
        await publish(check)

    [message] = await stream(events_url(project), ping)
    assert message.event == f"check-{check.code}"
    assert message.data.startswith(f'<tr id="check-{check.code}"')
    assert f'sse-swap="check-{check.code}"' in message.data
    assert ">Up</span>" in message.data and "just now" in message.data


async def test_a_real_ping_reaches_the_stream(
    stream: Stream, client: httpx.AsyncClient, factory: Factory, project: m.Project
) -> None:
    check = await factory.check(project, name="pinged")

    async def ping() -> None:
        assert (await client.post(f"/ping/{check.code}")).status_code == 200

    [message] = await stream(events_url(project), ping)
    assert message.event == f"check-{check.code}"
    assert ">Up</span>" in message.data


async def test_other_projects_checks_send_nothing(
    stream: Stream, client: httpx.AsyncClient, factory: Factory, project: m.Project
) -> None:
    ours = await factory.check(project, name="ours")
    theirs = await factory.check(name="theirs")

    async def both() -> None:
        await publish(theirs)
        await asyncio.sleep(0.05)  # let the stream handle it alone
        await publish(ours)

    [message] = await stream(events_url(project), both)
    assert message.event == f"check-{ours.code}"


async def test_a_new_check_reloads_the_list(
    stream: Stream, client: httpx.AsyncClient, factory: Factory, project: m.Project
) -> None:
    async def create() -> None:
        await publish(await factory.check(project, name="first"))

    [message] = await stream(events_url(project), create)
    assert (message.event, message.data) == ("checks-changed", "reload")


async def test_a_deleted_check_reloads_the_list(
    stream: Stream, client: httpx.AsyncClient, factory: Factory, db: Database, project: m.Project
) -> None:
    check = await factory.check(project, name="doomed")

    async def remove() -> None:
        async with db.engine.begin() as conn:
            await conn.execute(delete(m.Check).where(m.Check.id == check.id))
        await publish(check)

    [message] = await stream(events_url(project), remove)
    assert message.event == "checks-changed"


async def test_a_check_leaving_the_filter_reloads_the_list(
    stream: Stream, client: httpx.AsyncClient, factory: Factory, db: Database, project: m.Project
) -> None:
    check = await factory.check(project, name="x", status="up", last_ping=factory.clock())
    hidden = await factory.check(project, name="y", status="paused")

    async def go_down() -> None:
        async with db.engine.begin() as conn:
            await conn.execute(update(m.Check).values(status="down"))
        await publish(hidden)  # not shown before or after: nothing to say
        await asyncio.sleep(0.05)
        await publish(check)

    [message] = await stream(events_url(project, "?status=up"), go_down)
    assert message.event == "checks-changed"


async def test_time_alone_turns_a_row_late(
    stream: Stream,
    client: httpx.AsyncClient,
    factory: Factory,
    clock: FakeClock,
    project: m.Project,
) -> None:
    # Up, with its grace period starting in one minute: no one publishes when it starts.
    last_ping = clock() - timedelta(seconds=86400 - 60)
    check = await factory.check(project, name="due", status="up", last_ping=last_ping)
    elsewhere = await factory.check(name="elsewhere")

    async def let_time_pass() -> None:
        clock.advance(minutes=2)
        await publish(elsewhere)  # wakes the stream now, rather than at its real-time timer

    [message] = await stream(events_url(project), let_time_pass)
    assert message.event == f"check-{check.code}"
    assert ">Late</span>" in message.data


async def test_a_quiet_stream_sends_keepalive_comments(
    stream: Stream, client: httpx.AsyncClient, project: m.Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sse, "KEEPALIVE", 0.01)

    async def nothing() -> None:
        pass

    [message] = await stream(events_url(project), nothing)
    assert (message.comment, message.event, message.data) == ("keepalive", "", "")


async def test_the_stream_leaves_the_hub_when_it_ends(
    stream: Stream, client: httpx.AsyncClient, factory: Factory, project: m.Project
) -> None:
    check = await factory.check(project)
    before = live.hub.subscriber_count
    await stream(events_url(project), lambda: publish(check))
    assert live.hub.subscriber_count == before


async def test_anonymous_visitors_are_sent_to_sign_in(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    other, _ = await factory.project()
    response = await client.get(events_url(other))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/accounts/login")


async def test_strangers_get_404(
    client: httpx.AsyncClient, factory: Factory, project: m.Project
) -> None:
    other, _ = await factory.project()
    assert (await client.get(events_url(other))).status_code == 404


async def test_a_bad_filter_answers_400(client: httpx.AsyncClient, project: m.Project) -> None:
    response = await client.get(events_url(project, "?sort=size"))
    assert response.status_code == 400
    assert "unknown sort order: size" in response.text
