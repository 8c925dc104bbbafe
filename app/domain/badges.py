"""Status badges: signed URLs, status aggregation, and the svg / json / shields outputs.

Wire-compatible with Healthchecks (reference §4): the same URL forms, the same signature (so
badge URLs copied from a Healthchecks project keep working once the project's badge key and
SECRET_KEY come along), the same statuses, counts, colours and widths.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlalchemy.orm import load_only

from app.db import models as m
from app.db.engine import Database
from app.domain.checks import TIMING_COLUMNS
from app.domain.status import displayed_status

FORMATS = ("svg", "json", "shields")
ALL_TAGS = "*"  # the tag of the project-wide badge
TWO_STATE_SUFFIX = "-2"
SIGNATURE_LENGTH = 8

UP, LATE, DOWN = "up", "late", "down"
COLORS = {UP: "#4c1", LATE: "#fe7d37", DOWN: "#e05d44"}
SHIELDS_COLORS = {UP: "success", LATE: "important", DOWN: "critical"}
LABEL_BACKGROUND = "#555"

# Verdana 11px advance widths, rounded, as Healthchecks measures them. Every other character
# (the other lowercase letters, capitals and digits, and anything else) is 7 px wide.
_NARROW_AND_WIDE = {
    3: "ijlI",
    4: "frJ-",
    5: "t",
    6: "cesx1FLP_",
    8: "ACDHNUV",
    9: "wGOQ",
    10: "mM",
    11: "W",
}
CHAR_WIDTHS = {char: width for width, chars in _NARROW_AND_WIDE.items() for char in chars}
DEFAULT_CHAR_WIDTH = 7
PADDING = 10  # 5 px either side of each text


def text_width(text: str) -> int:
    return sum(CHAR_WIDTHS.get(char, DEFAULT_CHAR_WIDTH) for char in text)


# --- signatures and URLs ---------------------------------------------------------------------


def sign(badge_key: str, tag: str, secret_key: str) -> str:
    """The 8-character signature of ``tag`` for a project's ``badge_key``.

    Django's ``base64_hmac(salt=badge_key, value=tag, key=SECRET_KEY)``: HMAC-SHA1 keyed with
    SHA1(salt + secret), URL-safe base64 without padding; badges use the first 8 chars.
    """
    # SHA-1 is what existing badge URLs were signed with; as an HMAC it is still sound.
    key = hashlib.sha1((badge_key + secret_key).encode()).digest()  # noqa: S324
    digest = hmac.new(key, tag.encode(), hashlib.sha1).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()[:SIGNATURE_LENGTH]


@dataclass(frozen=True)
class Signature:
    valid: bool
    with_late: bool  # three states (up / late / down); a "-2" signature means two


def verify(badge_key: str, tag: str, signature: str, secret_key: str) -> Signature:
    """As Healthchecks: only the first 8 chars are compared; 2-state iff exactly ``sig8-2``."""
    two_state = len(signature) == SIGNATURE_LENGTH + 2 and signature.endswith(TWO_STATE_SUFFIX)
    ours = sign(badge_key, tag, secret_key)
    valid = hmac.compare_digest(ours.encode(), signature[:SIGNATURE_LENGTH].encode())
    return Signature(valid=valid, with_late=not two_state)


def url_tag(tag: str) -> str:
    """The tag as it appears in a badge URL: percent-encoded twice (``db@dc1`` → ``db%2540dc1``).

    The view decodes the path segment once more after the HTTP layer has, so a tag with a
    ``/``, ``?`` or ``#`` survives the trip.
    """
    return quote(tag, safe="").replace("%", "%25")


def badge_url(
    site_root: str, badge_key: str, tag: str, secret_key: str, *, fmt: str, with_late: bool
) -> str:
    signature = sign(badge_key, tag, secret_key)
    if not with_late:
        signature += TWO_STATE_SUFFIX
    if tag == ALL_TAGS:
        return f"{site_root}/badge/{badge_key}/{signature}.{fmt}"
    return f"{site_root}/badge/{badge_key}/{signature}/{url_tag(tag)}.{fmt}"


def badge_urls(site_root: str, badge_key: str, tag: str, secret_key: str) -> dict[str, str]:
    """The six URLs of one tag's badges, as the badges API lists them (reference §3.14)."""
    urls: dict[str, str] = {}
    for fmt in FORMATS:
        for suffix, with_late in (("", False), ("3", True)):
            urls[fmt + suffix] = badge_url(
                site_root, badge_key, tag, secret_key, fmt=fmt, with_late=with_late
            )
    return {key: urls[key] for key in ("svg", "svg3", "json", "json3", "shields", "shields3")}


def tags_list(tags: str) -> list[str]:
    return [tag for tag in tags.split(" ") if tag]


# --- status ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadgeState:
    """What a badge says: up / late / down, and the counts the json format reports."""

    status: str
    total: int
    grace: int
    down: int

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "total": self.total, "grace": self.grace, "down": self.down}


def aggregate(statuses: Iterable[str], *, with_late: bool) -> BadgeState:
    """Checks' displayed statuses → one badge: any down → down; else any grace → late (only
    with three states); else up. No checks at all → up."""
    total = grace = down = 0
    for status in statuses:
        total += 1
        if status == "down":
            down += 1
        elif status == "grace":
            grace += 1
    if down:
        status = DOWN
    elif grace and with_late:
        status = LATE
    else:
        status = UP
    return BadgeState(status=status, total=total, grace=grace, down=down)


# --- outputs ---------------------------------------------------------------------------------


def shields(label: str, state: BadgeState) -> dict[str, Any]:
    """shields.io's endpoint-badge JSON."""
    return {
        "schemaVersion": 1,
        "label": label,
        "message": state.status,
        "color": SHIELDS_COLORS[state.status],
    }


def svg(label: str, status: str) -> str:
    """A 20 px high flat badge: the label on grey, the status on its colour."""
    w1 = text_width(label) + PADDING
    w2 = text_width(status) + PADDING
    width = w1 + w2
    # Centres are floats written with a dot, e.g. "23.5" (Healthchecks had a bug where the
    # locale turned it into "23,5").
    x1 = repr(w1 / 2)
    x2 = repr(w1 + w2 / 2)
    label_text = escape(label)
    color = COLORS[status]
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20">
    <linearGradient id="smooth" x2="0" y2="100%">
        <stop offset="0" stop-color="#bbb" stop-opacity=".1"/>
        <stop offset="1" stop-opacity=".1"/>
    </linearGradient>
    <mask id="round">
        <rect width="{width}" height="20" rx="3" fill="#fff"/>
    </mask>
    <g mask="url(#round)">
        <rect width="{w1}" height="20" fill="{LABEL_BACKGROUND}"/>
        <rect x="{w1}" width="{w2}" height="20" fill="{color}"/>
        <rect width="{width}" height="20" fill="url(#smooth)"/>
    </g>
    <g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
        <text x="{x1}" y="15" fill="#010101" fill-opacity=".3">{label_text}</text>
        <text x="{x1}" y="14">{label_text}</text>
        <text x="{x2}" y="15" fill="#010101" fill-opacity=".3">{status}</text>
        <text x="{x2}" y="14">{status}</text>
    </g>
</svg>
"""  # noqa: E501


# --- reading the database --------------------------------------------------------------------

_STATUS_COLUMNS = (
    m.Check.name,
    m.Check.tags,
    *TIMING_COLUMNS,
    m.Check.badge_key,
)


async def project_badge(
    db: Database, badge_key: str, tag: str, now: datetime, *, with_late: bool
) -> BadgeState:
    """The badge of every check of the project with ``tag`` (a whole tag), or of all its checks
    for ``*``. An unknown badge key is a project without checks (the signature has already
    proved the URL was made by us)."""
    query = (
        select(m.Check)
        .join(m.Project, m.Project.id == m.Check.project_id)
        .where(m.Project.badge_key == badge_key)
        .options(load_only(*_STATUS_COLUMNS))
    )
    if tag != ALL_TAGS:
        query = query.where(m.Check.tags.contains(tag, autoescape=True))
    async with db.sessionmaker() as session:
        checks = (await session.scalars(query)).all()
    statuses = (
        displayed_status(check, now)
        for check in checks
        if tag == ALL_TAGS or tag in tags_list(check.tags)
    )
    return aggregate(statuses, with_late=with_late)


@dataclass(frozen=True)
class CheckBadge:
    label: str
    state: BadgeState


async def check_badge(
    db: Database, badge_key: uuid.UUID, now: datetime, *, with_late: bool
) -> CheckBadge | None:
    """One check's badge, by the check's badge key; None if there is no such check.

    The label is the check's name, else its badge key. (Healthchecks falls back to the check's
    uuid, but that is its ping URL: a public badge must not let readers ping the check.)
    """
    async with db.sessionmaker() as session:
        check = await session.scalar(
            select(m.Check)
            .where(m.Check.badge_key == badge_key)
            .options(load_only(*_STATUS_COLUMNS))
        )
    if check is None:
        return None
    state = aggregate([displayed_status(check, now)], with_late=with_late)
    return CheckBadge(label=check.name or str(check.badge_key), state=state)


async def project_badge_urls(
    db: Database, project_id: int, site_root: str, secret_key: str
) -> dict[str, dict[str, str]]:
    """``{tag: urls}`` for ``*`` and every tag any check of the project has (sorted)."""
    async with db.engine.connect() as conn:
        project_key = (
            await conn.execute(select(m.Project.badge_key).where(m.Project.id == project_id))
        ).scalar_one()
        all_tags = (
            (await conn.execute(select(m.Check.tags).where(m.Check.project_id == project_id)))
            .scalars()
            .all()
        )
    tags = {ALL_TAGS}
    for value in all_tags:
        tags.update(tags_list(value))
    return {tag: badge_urls(site_root, project_key, tag, secret_key) for tag in sorted(tags)}
