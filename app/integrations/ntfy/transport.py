"""ntfy: publish one JSON message to the server's root URL, naming the topic in the body."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec

from app.config import Settings
from app.integrations.base import DeliveryContext, Event
from app.integrations.registry import Integration

_TOPIC = re.compile(r"[-_A-Za-z0-9]{1,64}")

# ntfy priorities: 1 min, 2 low, 3 default, 4 high, 5 max; 0 here means "do not notify".
Priority = Annotated[int, msgspec.Meta(ge=0, le=5)]


class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    topic: str
    url: str = "https://ntfy.sh"
    priority: Priority = 3
    priority_up: Priority = 3
    token: str | None = None

    def __post_init__(self) -> None:
        if not _TOPIC.fullmatch(self.topic):
            raise msgspec.ValidationError(
                "topic: must be 1-64 letters, digits, dashes or underscores"
            )
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise msgspec.ValidationError("url: must be an http:// or https:// URL")
        if self.token is not None and (not self.token or self.token != self.token.strip()):
            raise msgspec.ValidationError("token: must be a non-empty access token")


def payload(event: Event, config: Config) -> dict[str, Any]:
    lines = event.summary_lines()
    return {
        "topic": config.topic,
        "title": lines[0],
        "message": "\n".join(lines[1:]),
        "priority": config.priority if event.status == "down" else config.priority_up,
        "tags": ["red_circle" if event.status == "down" else "green_circle"],
        "actions": [
            {
                "action": "view",
                "label": f"View on {event.site_name}",
                "url": event.check.details_url,
            }
        ],
    }


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    down, up = directions(config)
    if not (down if event.status == "down" else up):
        return
    headers = {"Authorization": f"Bearer {config.token}"} if config.token else None
    await ctx.post(config.url, json_body=payload(event, config), headers=headers)


def directions(config: Config) -> tuple[bool, bool]:
    return config.priority > 0, config.priority_up > 0


def enabled(settings: Settings) -> bool:
    return settings.ntfy_enabled


INTEGRATION = Integration(
    kind="ntfy",
    label="ntfy",
    config_type=Config,
    notify=notify,
    directions=directions,
    enabled=enabled,
    disabled_reason="ntfy notifications are not enabled.",
)
