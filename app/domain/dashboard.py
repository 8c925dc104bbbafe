"""What the checks page reads: one query for a project's checks, filters, sorting, and when a
check's displayed status next changes on its own (the live stream's timer).

Filtering and sorting run in Python on purpose: the status people filter and sort by is the
*displayed* status (grace, started), which only app.domain.status can compute, and a project's
checks are read whole anyway (1,000 rows cost a few milliseconds).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import models as m
from app.domain import status as status_rules
from app.domain.checks import TIMING_COLUMNS, tags_list
from app.domain.errors import ValidationError

STATUSES = ("new", "up", "grace", "down", "paused", "started")
SORT_KEYS = ("name", "status", "last_ping", "created")
DEFAULT_SORT = "created"
# Most urgent first when sorting by status.
_STATUS_RANK = {"down": 0, "grace": 1, "started": 2, "up": 3, "new": 4, "paused": 5}

_ROW_COLUMNS = (
    m.Check.id,
    m.Check.code,
    m.Check.project_id,
    m.Check.name,
    m.Check.slug,
    m.Check.tags,
    m.Check.desc,
    m.Check.created,
    *TIMING_COLUMNS,
)


@dataclass(slots=True)
class CheckRow:
    """One line of the checks page: what it shows and what status rules read.

    Fields in the order of ``_ROW_COLUMNS`` (rows are built positionally: 1,000 of them per
    page view, so construction cost matters)."""

    id: int
    code: uuid.UUID
    project_id: int
    name: str
    slug: str
    tags: str
    desc: str
    created: datetime
    kind: str
    timeout: int
    grace: int
    schedule: str
    tz: str
    status: str
    last_ping: datetime | None
    last_start: datetime | None

    @property
    def tag_list(self) -> list[str]:
        return tags_list(self.tags)

    def displayed(self, now: datetime) -> str:
        return status_rules.displayed_status(self, now, with_started=True)


@dataclass(frozen=True)
class CheckFilter:
    """The page's query: text, tags (all must match), statuses (any), and the order."""

    q: str = ""
    tags: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    sort: str = DEFAULT_SORT
    descending: bool = False

    @property
    def active(self) -> bool:
        return bool(self.q or self.tags or self.statuses)

    def matches(self, row: CheckRow, now: datetime) -> bool:
        if self.tags and not set(self.tags).issubset(row.tag_list):
            return False
        if self.statuses and row.displayed(now) not in self.statuses:
            return False
        if self.q:
            needle = self.q.casefold()
            haystacks = (row.name, row.slug, row.tags, row.desc)
            return any(needle in text.casefold() for text in haystacks)
        return True

    @property
    def sort_param(self) -> str:
        """``name`` or ``-name``: the query parameter value of this order."""
        return f"-{self.sort}" if self.descending else self.sort


def parse_filter(
    q: str | None, tags: Iterable[str], statuses: Iterable[str], sort: str | None
) -> CheckFilter:
    """The filter from query parameters; raises ValidationError for unknown values."""
    wanted_statuses = tuple(dict.fromkeys(s for s in statuses if s))
    for value in wanted_statuses:
        if value not in STATUSES:
            raise ValidationError("status", f"unknown status: {value}")
    sort = sort or DEFAULT_SORT
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    if key not in SORT_KEYS:
        raise ValidationError("sort", f"unknown sort order: {sort}")
    return CheckFilter(
        q=(q or "").strip(),
        tags=tuple(dict.fromkeys(t.strip() for t in tags if t.strip())),
        statuses=wanted_statuses,
        sort=key,
        descending=descending,
    )


def apply_filter(rows: Iterable[CheckRow], wanted: CheckFilter, now: datetime) -> list[CheckRow]:
    """The rows that match, in the filter's order (ties: creation order)."""
    found = [row for row in rows if wanted.matches(row, now)]
    found.sort(key=lambda row: row.id)  # the tie-breaker, kept by the stable sort below
    if wanted.sort == "name":
        found.sort(key=lambda row: row.name.casefold(), reverse=wanted.descending)
    elif wanted.sort == "status":
        found.sort(key=lambda row: _STATUS_RANK[row.displayed(now)], reverse=wanted.descending)
    elif wanted.sort == "last_ping":
        # Never pinged sorts as the oldest.
        found.sort(key=lambda row: (row.last_ping is not None, row.last_ping or row.created))
        if wanted.descending:
            found.reverse()
    elif wanted.descending:
        found.sort(key=lambda row: row.created, reverse=True)
    else:
        found.sort(key=lambda row: row.created)
    return found


def all_tags(rows: Iterable[CheckRow]) -> list[str]:
    return sorted({tag for row in rows for tag in row.tag_list}, key=str.casefold)


async def load_rows(
    conn: AsyncConnection, project_id: int, ids: Collection[int] | None = None
) -> list[CheckRow]:
    """The project's checks (or those of ``ids`` still in it), only the columns the page
    shows: one query."""
    query = select(*_ROW_COLUMNS).where(m.Check.project_id == project_id)
    if ids is not None:
        query = query.where(m.Check.id.in_(list(ids)))
    result = await conn.execute(query.order_by(m.Check.id))
    return [CheckRow(*row) for row in result]  # type: ignore[call-arg]


# --- when a row changes without a ping --------------------------------------------------------


def next_change(row: CheckRow, now: datetime) -> datetime | None:
    """The first moment after ``now`` at which the row's displayed status changes by the
    passing of time alone (up → late → down, running → down); None if it never will."""
    moments: list[datetime] = []
    grace = timedelta(seconds=row.grace)
    if row.last_start is not None:
        moments.append(row.last_start + grace)
    if row.status == "up":
        start = status_rules.grace_start(row, with_started=False)
        if start is not None:
            moments += [start, start + grace]
    later = [moment for moment in moments if moment > now]
    return min(later) if later else None


@dataclass
class LiveRows:
    """What one live stream knows of its project: each check's row, whether the page shows it
    (per the filter), and when each next changes on its own."""

    wanted: CheckFilter
    rows: dict[int, CheckRow] = field(default_factory=dict)
    shown: dict[int, bool] = field(default_factory=dict)
    statuses: dict[int, str] = field(default_factory=dict)
    changes_at: dict[int, datetime] = field(default_factory=dict)

    def track(self, rows: Iterable[CheckRow], now: datetime) -> None:
        for row in rows:
            self._remember(row, now)

    def _remember(self, row: CheckRow, now: datetime) -> None:
        self.rows[row.id] = row
        self.shown[row.id] = self.wanted.matches(row, now)
        self.statuses[row.id] = row.displayed(now)
        when = next_change(row, now)
        if when is None:
            self.changes_at.pop(row.id, None)
        else:
            self.changes_at[row.id] = when

    def forget(self, check_id: int) -> None:
        self.rows.pop(check_id, None)
        self.shown.pop(check_id, None)
        self.statuses.pop(check_id, None)
        self.changes_at.pop(check_id, None)

    def next_deadline(self) -> datetime | None:
        return min(self.changes_at.values(), default=None)

    def due(self, now: datetime) -> list[int]:
        """Checks whose status may have changed by now through time alone."""
        return [check_id for check_id, when in self.changes_at.items() if when <= now]

    def update(
        self, changed_ids: Collection[int], fresh: Sequence[CheckRow], now: datetime
    ) -> LiveUpdate:
        """Fold re-read rows in: which rows to re-render, and whether the list as a whole
        must reload (a check appeared, disappeared, or entered or left the filter)."""
        by_id: Mapping[int, CheckRow] = {row.id: row for row in fresh}
        update = LiveUpdate()
        for check_id in sorted(changed_ids):
            was_shown = self.shown.get(check_id)
            row = by_id.get(check_id)
            if row is None:
                if check_id in self.rows:  # deleted (or moved away)
                    self.forget(check_id)
                    update.reload |= bool(was_shown)
                continue
            self._remember(row, now)
            now_shown = self.shown[check_id]
            if was_shown is None or was_shown != now_shown:
                update.reload |= now_shown or bool(was_shown)
            elif now_shown:
                update.rows.append(row)
        return update

    def expire(self, now: datetime) -> LiveUpdate:
        """Rows whose time-driven deadline passed: re-render those whose status moved."""
        update = LiveUpdate()
        for check_id in self.due(now):
            row = self.rows[check_id]
            before = self.statuses[check_id]
            was_shown = self.shown[check_id]
            self._remember(row, now)
            if self.shown[check_id] != was_shown:
                update.reload = True
            elif was_shown and self.statuses[check_id] != before:
                update.rows.append(row)
        return update


@dataclass
class LiveUpdate:
    rows: list[CheckRow] = field(default_factory=list)
    reload: bool = False
