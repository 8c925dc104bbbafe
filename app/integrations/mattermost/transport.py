"""Mattermost incoming webhook: a Slack-style attachment (Mattermost renders these, not blocks)."""

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
    """The Mattermost incoming webhook URL."""


def directions(config: Config) -> tuple[bool, bool]:
    return True, True


def _code(text: str) -> str:
    # Field values are Markdown; a backtick inside inline code would end it early.
    return "`" + text.replace("`", "'") + "`"


def payload(event: Event) -> dict[str, Any]:
    check = event.check
    fields: list[dict[str, Any]] = []

    def field(title: str, value: str, short: bool = True) -> None:
        fields.append({"title": title, "value": value, "short": short})

    if check.desc:
        field("Description", check.desc, short=False)
    if check.project_name:
        field("Project", check.project_name)
    if check.tags:
        field("Tags", " ".join(_code(tag) for tag in check.tags_list))
    if check.kind == "simple":
        field("Period", format_duration(check.timeout))
    else:
        field("Schedule", _code(check.schedule))
        field("Time zone", check.tz)
    field("Grace time", format_duration(check.grace))
    field("Total pings", str(check.n_pings))
    field("Last ping", describe_ping(event.last_ping), short=False)
    if event.last_ping and event.last_ping.body:
        # A zero-width space keeps "```" inside the body from closing the block early.
        body = event.last_ping.body[:MAX_BODY].replace("```", "`\u200b``")
        field("Last ping body", f"```\n{body}\n```", short=False)
    return {
        "attachments": [
            {
                "fallback": event.headline,
                "color": "good" if event.status == "up" else "danger",
                "title": event.headline,
                "title_link": check.details_url,
                "text": f"{event.cause} Time: {event.created:%Y-%m-%d %H:%M:%S} UTC",
                "fields": fields,
                "footer": event.site_name,
                "ts": int(event.created.timestamp()),
            }
        ]
    }


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    await ctx.post(config.url, json_body=payload(event))


def enabled(settings: Settings) -> bool:
    return settings.mattermost_enabled


INTEGRATION = Integration(
    kind="mattermost",
    label="Mattermost",
    config_type=Config,
    notify=notify,
    directions=directions,
    enabled=enabled,
    disabled_reason="Mattermost notifications are not enabled.",
)
