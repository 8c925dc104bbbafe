"""The public API's JSON bodies as msgspec Structs: what the OpenAPI document describes.

The handlers build their answers as dicts (``check_to_dict`` and friends) and validate
requests with the domain's own rules, whose error messages are part of the wire contract;
these Structs do not take part in that. They are the typed declaration Litestar generates the
schema from (app/web/api/openapi.py), and tests/http/test_openapi.py holds them and the
handlers together: real answers must convert into these Structs with no unknown field, and
the request constraints must equal the domain's validation rules.

A field that an answer leaves out in some cases is ``X | UnsetType = UNSET``: optional in the
schema. ``X | None`` without a default is always present and may be null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from app.domain import checks as check_rules
from app.integrations import registry

# --- shared pieces --------------------------------------------------------------------------

Seconds = Annotated[
    int,
    Meta(ge=check_rules.MIN_SECONDS, le=check_rules.MAX_SECONDS, description="Seconds."),
]
Keywords = Annotated[str, Meta(max_length=200)]
Timestamp = Annotated[datetime, Meta(description="ISO 8601, UTC, whole seconds.")]


class _Body(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Base: an unknown key fails conversion (tests use that to find undocumented fields)."""


class Error(_Body):
    """Every refusal of the management API: ``{"error": "<message>"}``."""

    error: Annotated[str, Meta(examples=["json validation error: timeout is too small"])]


# --- checks ----------------------------------------------------------------------------------

CheckStatus = Literal["new", "up", "grace", "down", "paused", "started"]


class Check(_Body):
    """A check as the management API shows it (``check_to_dict``).

    The read-write key sees ``uuid``, ``ping_url``, ``update_url``, ``pause_url``,
    ``resume_url`` and ``channels``; the read-only key sees ``unique_key`` instead. Simple
    checks have ``timeout``; cron and OnCalendar checks have ``schedule`` and ``tz``.
    """

    name: Annotated[str, Meta(examples=["Backups"])]
    slug: Annotated[str, Meta(examples=["backups"])]
    tags: Annotated[str, Meta(description="Space-separated.", examples=["prod db"])]
    desc: str
    grace: Annotated[int, Meta(description="Grace time, seconds.", examples=[3600])]
    n_pings: int
    status: Annotated[
        CheckStatus,
        Meta(
            description="Displayed status. API v1 shows a running check as `started`; "
            "v2 and v3 show its status, with `started: true`."
        ),
    ]
    started: Annotated[bool, Meta(description="A start signal is waiting for its end.")]
    last_ping: Timestamp | None
    next_ping: Annotated[
        datetime | None, Meta(description="When the next ping is expected (grace start).")
    ]
    manual_resume: bool
    methods: Annotated[Literal["", "POST"], Meta(description='"POST": other methods ignored.')]
    subject: Annotated[str, Meta(description="Deprecated: success_kw when filter_subject.")]
    subject_fail: Annotated[str, Meta(description="Deprecated: failure_kw when filter_subject.")]
    start_kw: str
    success_kw: str
    failure_kw: str
    filter_subject: bool
    filter_body: bool
    filter_http_body: bool
    filter_default_fail: bool
    badge_url: Annotated[
        str,
        Meta(examples=["https://cronbeat.example/b/2/9f3c0e4e-5a0b-4c1e-8f3a-1d2e3f4a5b6c.svg"]),
    ]
    last_duration: (
        Annotated[int, Meta(description="Seconds the last start → end took, when known.")]
        | UnsetType
    ) = UNSET
    unique_key: (
        Annotated[str, Meta(description="Read-only key only: a stable id without ping rights.")]
        | UnsetType
    ) = UNSET
    uuid: UUID | UnsetType = UNSET
    ping_url: Annotated[str, Meta(examples=["https://cronbeat.example/ping/…"])] | UnsetType = UNSET
    update_url: str | UnsetType = UNSET
    pause_url: str | UnsetType = UNSET
    resume_url: str | UnsetType = UNSET
    channels: (
        Annotated[str, Meta(description="Comma-separated uuids of the assigned channels.")]
        | UnsetType
    ) = UNSET
    timeout: Annotated[int, Meta(description="Simple checks: period, seconds.")] | UnsetType = UNSET
    schedule: (
        Annotated[str, Meta(description="Cron and OnCalendar checks.", examples=["0 3 * * *"])]
        | UnsetType
    ) = UNSET
    tz: Annotated[str, Meta(examples=["Europe/Berlin"])] | UnsetType = UNSET


class CheckList(_Body):
    checks: list[Check]


class CheckUpdate(_Body):
    """Fields to change; the others stay. Types are strict: ``"60"`` is not a number and
    ``null`` is a type error. Unknown keys are ignored. ``api_key`` may stand in for the
    ``X-Api-Key`` header."""

    name: Annotated[str, Meta(max_length=100, examples=["Backups"])] | UnsetType = UNSET
    slug: (
        Annotated[
            str,
            Meta(
                max_length=100,
                pattern="^[a-z0-9-_]*$",
                description="API v1/v2 derive it from `name` unless given.",
            ),
        ]
        | UnsetType
    ) = UNSET
    tags: (
        Annotated[str, Meta(max_length=500, description="Space-separated.", examples=["prod"])]
        | UnsetType
    ) = UNSET
    desc: str | UnsetType = UNSET
    timeout: (
        Annotated[
            int,
            Meta(
                ge=check_rules.MIN_SECONDS,
                le=check_rules.MAX_SECONDS,
                description="Seconds; makes the check a simple one (unless `schedule` is given).",
                examples=[86400],
            ),
        ]
        | UnsetType
    ) = UNSET
    grace: Seconds | UnsetType = UNSET
    schedule: (
        Annotated[
            str,
            Meta(
                max_length=100,
                description="Cron (5 fields) or OnCalendar expression; sets the check's kind.",
                examples=["*/5 * * * *"],
            ),
        ]
        | UnsetType
    ) = UNSET
    tz: (
        Annotated[str, Meta(description="IANA time zone.", examples=["Europe/Berlin"])] | UnsetType
    ) = UNSET
    manual_resume: bool | UnsetType = UNSET
    methods: Literal["", "POST"] | UnsetType = UNSET
    channels: (
        Annotated[
            str,
            Meta(
                description='"*" every channel, "" none, or comma-separated channel uuids or names.'
            ),
        ]
        | UnsetType
    ) = UNSET
    subject: Keywords | UnsetType = UNSET
    subject_fail: Keywords | UnsetType = UNSET
    start_kw: Keywords | UnsetType = UNSET
    success_kw: Keywords | UnsetType = UNSET
    failure_kw: Keywords | UnsetType = UNSET
    filter_subject: bool | UnsetType = UNSET
    filter_body: bool | UnsetType = UNSET
    filter_http_body: bool | UnsetType = UNSET
    filter_default_fail: bool | UnsetType = UNSET
    api_key: Annotated[str, Meta(description="Instead of the X-Api-Key header.")] | UnsetType = (
        UNSET
    )


class CheckCreate(CheckUpdate):
    """A new check. With ``unique``, an existing check whose listed fields all equal the
    request's is updated instead (answer 200, not 201)."""

    unique: (
        Annotated[
            list[Literal["name", "slug", "tags", "timeout", "grace"]],
            Meta(examples=[["name"]]),
        ]
        | UnsetType
    ) = UNSET


class Ping(_Body):
    type: Literal["success", "start", "fail", "log", "ign"]
    date: Annotated[datetime, Meta(description="With microseconds.")]
    n: Annotated[int, Meta(description="1, 2, 3… per check.")]
    scheme: Annotated[str, Meta(examples=["https", "email"])]
    remote_addr: str | None
    method: str
    ua: str
    rid: UUID | None
    body_url: Annotated[str | None, Meta(description="null when the ping had no body.")]
    duration: (
        Annotated[float, Meta(description="Seconds since the matching start (2 decimals).")]
        | UnsetType
    ) = UNSET


class PingList(_Body):
    pings: Annotated[list[Ping], Meta(description="Newest first, at most 1000.")]


class Flip(_Body):
    timestamp: Timestamp
    up: Annotated[Literal[0, 1], Meta(description="1: went up, 0: went down (or paused).")]


class FlipList(_Body):
    flips: Annotated[list[Flip], Meta(description="Newest first.")]


# --- channels --------------------------------------------------------------------------------

ChannelKind = Annotated[str, Meta(description="One of: " + ", ".join(registry.kinds()) + ".")]


class ChannelSummary(_Body):
    id: UUID
    name: str
    kind: ChannelKind


class ChannelList(_Body):
    channels: list[ChannelSummary]


class Channel(_Body):
    id: UUID
    name: str
    kind: ChannelKind
    value: Annotated[Any, Meta(description="The integration's configuration.")]
    disabled: bool
    last_notify: Timestamp | None
    last_error: str


class ChannelCreate(_Body):
    kind: ChannelKind
    name: Annotated[str, Meta(max_length=100)] | UnsetType = UNSET
    value: (
        Annotated[
            Any,
            Meta(
                description="The integration's configuration (its own fields), e.g. a webhook's.",
                examples=[{"url_down": "https://example.org/down"}],
            ),
        ]
        | UnsetType
    ) = UNSET


class ChannelTest(_Body):
    ok: bool
    error: Annotated[str, Meta(description='"" when the notification was delivered.')]


# --- badges ----------------------------------------------------------------------------------


class BadgeUrls(_Body):
    """Signed badge URLs: two states (up/down) and three (up/late/down, the ``3`` keys)."""

    svg: str
    svg3: str
    json: str
    json3: str
    shields: str
    shields3: str


class BadgeList(_Body):
    badges: Annotated[
        dict[str, BadgeUrls], Meta(description='Per tag, and "*" for all the checks.')
    ]


class BadgeState(_Body):
    """A ``.json`` badge."""

    status: Literal["up", "late", "down"]
    total: int
    grace: int
    down: int


class ShieldsBadge(_Body, rename={"schema_version": "schemaVersion"}):
    """A ``.shields`` badge: shields.io's endpoint-badge JSON."""

    schema_version: Literal[1]
    label: str
    message: Literal["up", "late", "down"]
    color: Literal["success", "important", "critical"]


# --- Heartbeat Central -----------------------------------------------------------------------


class Application(_Body):
    """A Heartbeat Central application: a simple check."""

    id: Annotated[UUID, Meta(description="The check's uuid (the same as `uuid`).")]
    uuid: UUID
    name: str
    expected_interval: Annotated[int, Meta(description="Seconds (the check's timeout).")]
    grace_period: Annotated[int, Meta(description="Seconds (the check's grace).")]
    last_heartbeat: Timestamp | None
    is_active: Annotated[bool, Meta(description="Not paused.")]
    created_at: Timestamp
    updated_at: Timestamp


class Heartbeat(_Body):
    id: Annotated[int, Meta(description="The ping's number.")]
    application_id: UUID
    received_at: Timestamp
    kind: Literal["success", "start", "fail", "log", "ign"]


class ApplicationDetail(Application):
    is_overdue: bool
    recent_heartbeats: Annotated[list[Heartbeat], Meta(description="The last 10, newest first.")]


class ApplicationCreate(_Body):
    name: Annotated[str, Meta(max_length=100, examples=["nightly-export"])]
    expected_interval: Annotated[
        int, Meta(ge=1, description="Seconds; below 60 counts as 60.", examples=[3600])
    ]
    grace_period: (
        Annotated[int, Meta(ge=0, description="Seconds; below 60 counts as 60.")] | UnsetType
    ) = UNSET
    is_active: bool | UnsetType = UNSET


class ApplicationUpdate(_Body):
    name: Annotated[str, Meta(max_length=100)] | UnsetType = UNSET
    expected_interval: Annotated[int, Meta(ge=1)] | UnsetType = UNSET
    grace_period: Annotated[int, Meta(ge=0)] | UnsetType = UNSET
    is_active: Annotated[bool, Meta(description="false pauses, true resumes.")] | UnsetType = UNSET


class HeartbeatPage(_Body):
    heartbeats: list[Heartbeat]
    total: int
    pages: int
    current_page: int


# --- django-health-check-job and liveness ----------------------------------------------------


class HealthResult(_Body):
    name: Annotated[
        str,
        Meta(max_length=100, description="Names the check (its slug).", examples=["Database"]),
    ]
    status: Annotated[Literal[0, 1], Meta(description="1: success ping, 0: fail ping.")]
    message: Annotated[str, Meta(description="Stored as the ping's body.")]


class MetricsSync(_Body):
    uuid: Annotated[str, Meta(description="The run's id (validated, not stored).")]
    timestamp: Annotated[
        datetime | float, Meta(description="ISO 8601 (naive means UTC) or a unix time.")
    ]
    sync_app_id: Annotated[str, Meta(description="The project's ping key.")]
    checks: list[HealthResult]


class MetricsSyncResult(_Body):
    status: Literal["ok"]
    applied: int
    created: Annotated[list[str], Meta(description="Slugs of the checks created by this call.")]


class Health(_Body):
    status: Literal["ok", "error"]
    database: Annotated[str, Meta(description='"ok", or the error\'s type.')]


__all__ = [
    "Application",
    "ApplicationCreate",
    "ApplicationDetail",
    "ApplicationUpdate",
    "BadgeList",
    "BadgeState",
    "BadgeUrls",
    "Channel",
    "ChannelCreate",
    "ChannelList",
    "ChannelSummary",
    "ChannelTest",
    "Check",
    "CheckCreate",
    "CheckList",
    "CheckUpdate",
    "Error",
    "Flip",
    "FlipList",
    "Health",
    "HealthResult",
    "Heartbeat",
    "HeartbeatPage",
    "MetricsSync",
    "MetricsSyncResult",
    "Ping",
    "PingList",
    "ShieldsBadge",
]
