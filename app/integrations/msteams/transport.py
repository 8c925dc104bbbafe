"""Microsoft Teams workflow webhook: an Adaptive Card 1.2 message."""

from __future__ import annotations

from typing import Any

from app.config import Settings
from app.integrations.base import (
    DeliveryContext,
    Event,
    UrlConfig,
    describe_ping,
    format_duration,
)
from app.integrations.registry import Integration

MAX_BODY = 1000


class Config(UrlConfig, frozen=True):
    """The Teams workflow webhook URL."""


def directions(config: Config) -> tuple[bool, bool]:
    return True, True


def plain(text: str) -> str:
    """Teams reads card text as Markdown; a combining grapheme joiner defuses "*" and "_"."""
    return text.replace("*", "\u034f*").replace("_", "\u034f_")


def card(event: Event) -> dict[str, Any]:
    check = event.check
    facts = [("Time", f"{event.created:%Y-%m-%d %H:%M:%S} UTC")]
    if check.project_name:
        facts.append(("Project", check.project_name))
    if check.tags:
        facts.append(("Tags", check.tags))
    if check.kind == "simple":
        facts.append(("Period", format_duration(check.timeout)))
    else:
        facts.append(("Schedule", check.schedule))
        facts.append(("Time zone", check.tz))
    facts.append(("Grace time", format_duration(check.grace)))
    facts.append(("Total pings", str(check.n_pings)))
    facts.append(("Last ping", describe_ping(event.last_ping)))

    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": plain(event.headline),
            "weight": "Bolder",
            "size": "Medium",
            "color": "Good" if event.status == "up" else "Attention",
            "wrap": True,
        },
        {"type": "TextBlock", "text": plain(event.cause), "wrap": True},
    ]
    if check.desc:
        body.append({"type": "TextBlock", "text": plain(check.desc), "wrap": True})
    body.append(
        {
            "type": "FactSet",
            "facts": [{"title": title, "value": plain(value)} for title, value in facts],
        }
    )
    if event.last_ping and event.last_ping.body:
        body.append({"type": "TextBlock", "text": "Last ping body", "weight": "Bolder"})
        body.append(
            {
                "type": "TextBlock",
                "text": plain(event.last_ping.body[:MAX_BODY]),
                "fontType": "Monospace",
                "wrap": True,
            }
        )
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.2",
                    "body": body,
                    "actions": [
                        {
                            "type": "Action.OpenUrl",
                            "title": "View Details",
                            "url": check.details_url,
                        }
                    ],
                },
            }
        ],
    }


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    await ctx.post(config.url, json_body=card(event))


def enabled(settings: Settings) -> bool:
    return settings.msteams_enabled


INTEGRATION = Integration(
    kind="msteams",
    label="Microsoft Teams",
    config_type=Config,
    notify=notify,
    directions=directions,
    enabled=enabled,
    disabled_reason="MS Teams notifications are not enabled.",
)
