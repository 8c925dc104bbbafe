"""Opsgenie Alert API v2: create on down, close on up, both addressed by the check's alias."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import quote

import msgspec

from app.config import Settings
from app.integrations.base import (
    DeliveryContext,
    Event,
    describe_ping,
    format_duration,
)
from app.integrations.registry import Integration

MESSAGE_LIMIT = 130
_API_KEY = re.compile(r"\S{1,100}")


class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    key: str  # an API integration key
    region: Literal["us", "eu"] = "us"

    def __post_init__(self) -> None:
        if not _API_KEY.fullmatch(self.key):
            raise msgspec.ValidationError("key: must be an Opsgenie API key")


def details(event: Event) -> dict[str, str]:
    """Opsgenie shows these as a key/value table; its values must be strings."""
    check = event.check
    rows = {"Project": check.project_name, "Tags": check.tags}
    if check.kind == "simple":
        rows["Period"] = format_duration(check.timeout)
    else:
        rows["Schedule"] = f"{check.schedule} ({check.tz})"
    rows["Grace time"] = format_duration(check.grace)
    rows["Total pings"] = str(check.n_pings)
    rows["Last ping"] = describe_ping(event.last_ping)
    rows["Details"] = check.details_url
    return {name: value for name, value in rows.items() if value}


def message(event: Event) -> str:
    """The alert's title: the headline, its check name shortened to fit 130 characters."""
    excess = len(event.headline) - MESSAGE_LIMIT
    if excess <= 0:
        return event.headline
    name = event.check.display_name
    short = replace(event, check=replace(event.check, name=name[: -excess - 1] + "…"))
    return short.headline[:MESSAGE_LIMIT]


def create_payload(event: Event) -> dict[str, Any]:
    lines = event.summary_lines()
    return {
        "alias": event.check.unique_key,
        "message": message(event),
        "description": "\n".join(lines[1:]),
        "note": event.cause,
        "source": event.site_name,
        "tags": event.check.tags_list,
        "details": details(event),
    }


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    settings = ctx.settings
    base = settings.opsgenie_eu_api_url if config.region == "eu" else settings.opsgenie_api_url
    headers = {"Authorization": f"GenieKey {config.key}"}
    if event.status == "down":
        await ctx.post(f"{base}/v2/alerts", json_body=create_payload(event), headers=headers)
    else:
        alias = quote(event.check.unique_key, safe="")
        url = f"{base}/v2/alerts/{alias}/close?identifierType=alias"
        await ctx.post(url, json_body={"source": event.site_name}, headers=headers)


def directions(config: Config) -> tuple[bool, bool]:
    return True, True


def enabled(settings: Settings) -> bool:
    return settings.opsgenie_enabled


INTEGRATION = Integration(
    kind="opsgenie",
    label="Opsgenie",
    config_type=Config,
    notify=notify,
    directions=directions,
    enabled=enabled,
    disabled_reason="Opsgenie notifications are not enabled.",
)
