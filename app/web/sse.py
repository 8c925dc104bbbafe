"""Live updates of the checks page over Server-Sent Events.

One stream per open checks page. It subscribes to ``app.live.hub`` *before* reading the
project's checks (so no change falls between the two), then for each coalesced set of
changed check ids re-reads just those rows in one short query and sends:

- ``event: check-<uuid>`` with the row's HTML, which the row swaps in (``sse-swap``);
- ``event: checks-changed`` when the list itself changed (a check was added or deleted, or
  a change made a check enter or leave the page's filter): the table body reloads itself
  with the page's current filter. A row keeps its place in the sort order until then.

Status changes made by the passing of time alone (up → late → down) publish nothing, so the
stream keeps a timer on its project's next deadline (``dashboard.next_change``) and
re-renders the rows due. A comment goes out every ``KEEPALIVE`` seconds so proxies keep the
connection open, and a stream ends after ``MAX_STREAM_SECONDS``; the browser's EventSource
reconnects by itself. The stream holds no database connection while it waits. Litestar ends
the generator when the client goes away, which leaves the hub (``subscribe``'s finally).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

from litestar import Request, get
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from app import live
from app.domain import dashboard
from app.domain.dashboard import CheckFilter, LiveRows, LiveUpdate
from app.domain.permissions import Right
from app.web.state import AppState
from app.web.ui.base import ProjectAccess, project_access
from app.web.ui.checks import RowLinks, filter_from_query, render_row, row_links

KEEPALIVE = 15.0  # seconds between comments on a quiet stream
MAX_STREAM_SECONDS = 3600.0  # then the browser reconnects (and re-checks access)
# Tests lower this to end the stream after a few messages (the ASGI test client buffers).
MAX_MESSAGES: int | None = None
RELOAD_EVENT = "checks-changed"
_MIN_WAIT = 0.05  # never spin on a deadline that is due right now


def row_event(code: uuid.UUID) -> str:
    return f"check-{code}"


def seconds_until(deadline: datetime | None, now: datetime, keepalive: float) -> float:
    """How long to wait for the hub: until the next deadline, at most ``keepalive``."""
    if deadline is None:
        return keepalive
    return max(_MIN_WAIT, min(keepalive, (deadline - now).total_seconds()))


class _Stream:
    def __init__(
        self, request: Request[Any, Any, Any], access: ProjectAccess, wanted: CheckFilter
    ) -> None:
        self.request = request
        self.state = AppState.of(request)
        self.project_id = access.project.id
        self.links: RowLinks = row_links(request, access)
        self.known = LiveRows(wanted)

    async def _read(self, ids: set[int] | None = None) -> list[dashboard.CheckRow]:
        # A connection only for the query: none is held while the stream waits.
        async with self.state.db.engine.connect() as conn:
            return await dashboard.load_rows(conn, self.project_id, ids)

    def _messages(self, update: LiveUpdate, now: datetime) -> list[ServerSentEventMessage]:
        messages = [
            ServerSentEventMessage(
                data=render_row(self.request, self.links, row, now), event=row_event(row.code)
            )
            for row in update.rows
        ]
        if update.reload:
            messages.append(ServerSentEventMessage(data="reload", event=RELOAD_EVENT))
        return messages

    async def events(self) -> AsyncGenerator[ServerSentEventMessage, None]:
        began = time.monotonic()
        sent = 0
        async with live.hub.subscribe() as inbox:
            self.known.track(await self._read(), self.state.clock())
            yield ServerSentEventMessage(comment="live")
            while time.monotonic() - began < MAX_STREAM_SECONDS:
                now = self.state.clock()
                wait = seconds_until(self.known.next_deadline(), now, KEEPALIVE)
                changed = await inbox.next(wait)
                now = self.state.clock()
                update = self.known.expire(now)
                if changed:
                    fresh = self.known.update(changed, await self._read(changed), now)
                    update.rows = _merge(update.rows, fresh.rows)
                    update.reload |= fresh.reload
                messages = self._messages(update, now)
                if not messages and not changed:
                    messages = [ServerSentEventMessage(comment="keepalive")]
                for message in messages:
                    yield message
                sent += len(messages)
                if MAX_MESSAGES is not None and sent >= MAX_MESSAGES:
                    return


def _merge(first: list[dashboard.CheckRow], second: list[dashboard.CheckRow]) -> list[Any]:
    """Rows to send once each, the freshest version winning."""
    by_id = {row.id: row for row in first}
    by_id.update((row.id, row) for row in second)
    return list(by_id.values())


@get("/projects/{code:uuid}/checks/events", name="checks-events")
async def checks_events(request: Request[Any, Any, Any], code: uuid.UUID) -> ServerSentEvent:
    # Access is decided once, here: a stream outlives no more than MAX_STREAM_SECONDS.
    access = await project_access(request, code, Right.VIEW)
    stream = _Stream(request, access, filter_from_query(request))
    return ServerSentEvent(stream.events(), headers={"Cache-Control": "no-cache"})


route_handlers = [checks_events]
