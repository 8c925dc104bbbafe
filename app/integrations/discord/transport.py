"""Discord channel webhook: one embed per event."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from app.config import Settings
from app.integrations.base import (
    DeliveryContext,
    Event,
    TransportError,
    UrlConfig,
    describe_ping,
    format_duration,
)
from app.integrations.registry import Integration

MAX_BODY = 1000
# Discord's limits: embed title 256 characters, field value 1024, message content 2000.
MAX_TITLE = 256
MAX_VALUE = 1024
MAX_CONTENT = 2000
GREEN = 0x2ECC71
RED = 0xE74C3C


class Config(UrlConfig, frozen=True):
    """The Discord channel webhook URL."""


def directions(config: Config) -> tuple[bool, bool]:
    return True, True


def webhook_url(url: str) -> str:
    """The same webhook on discord.com: Discord retired the discordapp.com domain."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host == "discordapp.com" or host.endswith(".discordapp.com"):
        netloc = parts.netloc.lower().replace("discordapp.com", "discord.com")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def payload(event: Event) -> dict[str, Any]:
    check = event.check
    fields: list[dict[str, Any]] = []

    def field(name: str, value: str, inline: bool = True) -> None:
        fields.append({"name": name, "value": _cut(value, MAX_VALUE), "inline": inline})

    if check.desc:
        field("Description", check.desc, inline=False)
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
    field("Last ping", describe_ping(event.last_ping), inline=False)
    if event.last_ping and event.last_ping.body:
        # A zero-width space keeps "```" inside the body from closing the block early.
        body = event.last_ping.body[:MAX_BODY].replace("```", "`\u200b``")
        field("Last ping body", f"```\n{body}\n```", inline=False)
    return {
        "content": _cut(event.headline, MAX_CONTENT),
        "embeds": [
            {
                "title": _cut(event.headline, MAX_TITLE),
                "url": check.details_url,
                "description": f"{event.cause}\n[View details]({check.details_url})",
                "color": GREEN if event.status == "up" else RED,
                "fields": fields,
                "timestamp": event.created.isoformat(),
                "footer": {"text": event.site_name},
            }
        ],
        # A check named "@everyone" must not ping the whole server.
        "allowed_mentions": {"parse": []},
    }


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    # Native embeds, not the "<url>/slack" shim: mentions can be switched off, ?thread_id= works.
    try:
        await ctx.post(webhook_url(config.url), json_body=payload(event))
    except TransportError as error:
        # 404: the webhook was deleted; it will not come back.
        if error.response is None or error.response.status_code != 404:
            raise
        raise TransportError(error.message, permanent=True, response=error.response) from None


def enabled(settings: Settings) -> bool:
    return settings.discord_enabled


INTEGRATION = Integration(
    kind="discord",
    label="Discord",
    config_type=Config,
    notify=notify,
    directions=directions,
    enabled=enabled,
    disabled_reason="Discord notifications are not enabled.",
)
