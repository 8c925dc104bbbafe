"""Slack incoming webhook: a Block Kit message, with ``text`` as the notification fallback."""

from __future__ import annotations

from typing import Any

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
# Slack's limits: header text 150 characters, a field 2000, a section text 3000.
MAX_HEADER = 150
MAX_FIELD = 2000


class Config(UrlConfig, frozen=True):
    """The Slack incoming webhook URL."""


def directions(config: Config) -> tuple[bool, bool]:
    return True, True


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as markup; everything shown must escape them."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code_block(text: str) -> str:
    # A zero-width space keeps "```" inside the body from closing the block early.
    return "```" + escape(text).replace("```", "`\u200b``") + "```"


def payload(event: Event) -> dict[str, Any]:
    check = event.check
    emoji = ":large_green_circle:" if event.status == "up" else ":red_circle:"
    timestamp = int(event.created.timestamp())
    when = (
        f"<!date^{timestamp}^{{date_short_pretty}} at {{time_secs}}"
        f"|{event.created:%Y-%m-%d %H:%M:%S} UTC>"
    )
    facts: list[tuple[str, str]] = []
    if check.desc:
        facts.append(("Description", escape(check.desc)))
    if check.project_name:
        facts.append(("Project", escape(check.project_name)))
    if check.tags:
        facts.append(("Tags", " ".join(f"`{escape(tag)}`" for tag in check.tags_list)))
    if check.kind == "simple":
        facts.append(("Period", format_duration(check.timeout)))
    else:
        facts.append(("Schedule", f"`{escape(check.schedule)}`"))
        facts.append(("Time zone", escape(check.tz)))
    facts.append(("Grace time", format_duration(check.grace)))
    facts.append(("Total pings", str(check.n_pings)))
    facts.append(("Last ping", escape(describe_ping(event.last_ping))))

    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _cut(f"{emoji} {event.headline}", MAX_HEADER),
                "emoji": True,
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{event.cause}\n{when}"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _cut(f"*{label}*\n{value}", MAX_FIELD)}
                for label, value in facts
            ],
        },
    ]
    if event.last_ping and event.last_ping.body:
        body = _code_block(event.last_ping.body[:MAX_BODY])
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Last ping body*\n{body}"}}
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "View details"},
                    "url": check.details_url,
                }
            ],
        }
    )
    return {"text": escape(event.headline), "blocks": blocks}


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    try:
        await ctx.post(config.url, json_body=payload(event))
    except TransportError as error:
        response = error.response
        if response is None:
            raise
        # Slack answers with a plain-text error code. 404/410: the webhook or its channel is
        # gone; "invalid_token": its installing user was deactivated. Neither comes back.
        permanent = response.status_code in (404, 410) or (
            response.status_code in (400, 403) and response.text.strip() == "invalid_token"
        )
        raise TransportError(error.message, permanent=permanent, response=response) from None


def enabled(settings: Settings) -> bool:
    return settings.slack_enabled


INTEGRATION = Integration(
    kind="slack",
    label="Slack",
    config_type=Config,
    notify=notify,
    directions=directions,
    enabled=enabled,
    disabled_reason="Slack notifications are not enabled.",
)
