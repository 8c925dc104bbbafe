"""PagerDuty Events API v2: trigger on down, resolve on up, deduplicated by the check's key."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from app.config import Settings
from app.integrations.base import (
    DeliveryContext,
    Event,
    describe_ping,
    format_duration,
)
from app.integrations.registry import Integration

SUMMARY_LIMIT = 1024
_ROUTING_KEY = re.compile(r"\S{1,100}")


class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    service_key: str  # the integration ("routing") key of an Events API v2 integration
    account: str | None = None  # shown in the channel list only

    def __post_init__(self) -> None:
        if not _ROUTING_KEY.fullmatch(self.service_key):
            raise msgspec.ValidationError("service_key: must be a PagerDuty integration key")


def custom_details(event: Event) -> dict[str, str | int]:
    check = event.check
    details: dict[str, str | int] = {
        "Cause": event.cause,
        "Time": f"{event.created:%Y-%m-%d %H:%M:%S} UTC",
    }
    if check.desc:
        details["Description"] = check.desc
    if check.project_name:
        details["Project"] = check.project_name
    if check.tags:
        details["Tags"] = check.tags
    if check.kind == "simple":
        details["Period"] = format_duration(check.timeout)
    else:
        details["Schedule"] = check.schedule
        details["Time zone"] = check.tz
    details["Grace time"] = format_duration(check.grace)
    details["Total pings"] = check.n_pings
    details["Last ping"] = describe_ping(event.last_ping)
    if event.last_ping and event.last_ping.body:
        details["Last ping body"] = event.last_ping.body[:1000]
    return details


def payload(event: Event, config: Config) -> dict[str, Any]:
    check = event.check
    if event.status == "up":
        return {
            "routing_key": config.service_key,
            "event_action": "resolve",
            "dedup_key": check.unique_key,
        }
    return {
        "routing_key": config.service_key,
        "event_action": "trigger",
        "dedup_key": check.unique_key,
        "payload": {
            "summary": event.headline[:SUMMARY_LIMIT],
            "source": event.site_name,
            "severity": "critical",
            "timestamp": event.created.isoformat(),
            "custom_details": custom_details(event),
        },
        "links": [{"href": check.details_url, "text": "View details"}],
    }


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    url = f"{ctx.settings.pagerduty_api_url}/v2/enqueue"
    await ctx.post(url, json_body=payload(event, config))


def directions(config: Config) -> tuple[bool, bool]:
    return True, True


def enabled(settings: Settings) -> bool:
    return settings.pagerduty_enabled


INTEGRATION = Integration(
    kind="pagerduty",
    label="PagerDuty",
    config_type=Config,
    notify=notify,
    directions=directions,
    enabled=enabled,
    disabled_reason="PagerDuty notifications are not enabled.",
)
