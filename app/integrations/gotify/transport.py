"""Gotify: POST one Markdown message to ``<server>/message``, priority per direction."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import msgspec

from app.config import Settings
from app.integrations.base import DeliveryContext, Event
from app.integrations.registry import Integration

# Gotify priorities run 0..10; 0 here means "do not notify" for that direction.
Priority = Annotated[int, msgspec.Meta(ge=0, le=10)]
_TOKEN = re.compile(r"[!-~]{1,100}")  # printable ASCII, no spaces
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~])")
_BACKTICKS = re.compile(r"`+")


class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    url: str
    token: str
    priority: Priority = 5
    priority_up: Priority = 5

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise msgspec.ValidationError("url: must be an http:// or https:// server URL")
        if not _TOKEN.fullmatch(self.token):
            raise msgspec.ValidationError("token: must be a Gotify application token")


def _escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def message(event: Event) -> str:
    """Markdown: the summary (the headline is the title), the ping body verbatim, a link."""
    ping = event.last_ping
    body = ping.body[:1000] if ping else ""
    if ping:
        event = replace(event, last_ping=replace(ping, body=""))
    lines = event.summary_lines()[1:]
    if lines[-1].startswith("Details: "):
        lines.pop()  # becomes the link below
    parts = ["  \n".join(_escape(line) for line in lines)]
    if body:
        # A fence longer than any run of backticks inside keeps the body verbatim.
        fence = "`" * max([3, *(len(run) + 1 for run in _BACKTICKS.findall(body))])
        parts.append(f"Last ping body:\n\n{fence}\n{body}\n{fence}")
    parts.append(f"[View on {_escape(event.site_name)}]({event.check.details_url})")
    return "\n\n".join(parts)


def payload(event: Event, config: Config) -> dict[str, Any]:
    return {
        "title": event.headline,
        "message": message(event),
        "priority": config.priority if event.status == "down" else config.priority_up,
        "extras": {
            "client::display": {"contentType": "text/markdown"},
            "client::notification": {"click": {"url": event.check.details_url}},
        },
    }


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    down, up = directions(config)
    if not (down if event.status == "down" else up):
        return
    url = f"{config.url.rstrip('/')}/message?{urlencode({'token': config.token})}"
    await ctx.post(url, json_body=payload(event, config))


def directions(config: Config) -> tuple[bool, bool]:
    return config.priority > 0, config.priority_up > 0


def enabled(settings: Settings) -> bool:
    return settings.gotify_enabled


INTEGRATION = Integration(
    kind="gotify",
    label="Gotify",
    config_type=Config,
    notify=notify,
    directions=directions,
    enabled=enabled,
    disabled_reason="Gotify notifications are not enabled.",
)
