"""Pushover Messages API: one form POST per event; emergency alerts are cancelled on recovery."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from typing import Annotated

import httpx
import msgspec

from app.config import Settings
from app.integrations.base import DeliveryContext, Event, TransportError
from app.integrations.registry import Integration

DISABLED = -3  # "do not notify" for this direction
EMERGENCY = 2  # repeats until acknowledged, so needs retry/expire and a cancel on recovery
EMERGENCY_RETRY = 300
EMERGENCY_EXPIRE = 3600
TITLE_LIMIT = 250
MESSAGE_LIMIT = 1024
BODY_CUTS = (1000, 400, 100, 0)  # the ping body shrinks until the message fits

_USER_KEY = re.compile(r"[A-Za-z0-9]{30}")
Priority = Annotated[int, msgspec.Meta(ge=DISABLED, le=EMERGENCY)]


class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    user_key: str
    priority: Priority = 0
    priority_up: Priority = 0

    def __post_init__(self) -> None:
        if not _USER_KEY.fullmatch(self.user_key):
            raise msgspec.ValidationError("user_key: must be 30 letters and digits")


def message(event: Event) -> str:
    """Pushover's HTML body: everything but the headline (the title), within 1024 characters."""
    text = ""
    for size in BODY_CUTS:
        lines = _cut_body(event, size).summary_lines()[1:]
        text = "\n".join(html.escape(line, quote=False) for line in lines)
        if len(text) <= MESSAGE_LIMIT:
            return text
    return re.sub(r"&[#a-z0-9]*$", "", text[:MESSAGE_LIMIT])  # never half an entity


def _cut_body(event: Event, size: int) -> Event:
    ping = event.last_ping
    if ping is None or len(ping.body) <= size:
        return event
    body = ping.body[:size] + "…" if size else ""
    return replace(event, last_ping=replace(ping, body=body))


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    token = ctx.settings.pushover_api_token or ""  # set: delivery.send calls only an enabled kind
    api = ctx.settings.pushover_api_url
    tag = event.check.unique_key
    if event.status == "up" and config.priority == EMERGENCY:
        # The down alert keeps sounding until acknowledged or expired: stop it first, even
        # when no up message follows.
        await ctx.post(f"{api}/1/receipts/cancel_by_tag/{tag}.json", data={"token": token})
    priority = config.priority if event.status == "down" else config.priority_up
    if priority == DISABLED:
        return
    form = {
        "token": token,
        "user": config.user_key,
        "title": event.headline[:TITLE_LIMIT],
        "message": message(event),
        "html": "1",
        "priority": str(priority),
        "url": event.check.details_url,
        "url_title": f"View on {event.site_name}",
    }
    if priority == EMERGENCY:
        form["tags"] = tag
        form["retry"] = str(EMERGENCY_RETRY)
        form["expire"] = str(EMERGENCY_EXPIRE)
    try:
        await ctx.post(f"{api}/1/messages.json", data=form)
    except TransportError as error:
        # Pushover says in the body whether the user key is invalid (permanent).
        if error.response is None:
            raise
        raise _error(error.response) from None


def _error(response: httpx.Response) -> TransportError:
    text = f"Received status code {response.status_code}"
    try:
        doc = response.json()
        invalid_user = response.status_code == 400 and doc.get("user") == "invalid"
        errors = "; ".join(str(error) for error in doc.get("errors", []))
    except (ValueError, AttributeError, TypeError):
        return TransportError(text, response=response)
    if errors:
        text += f' with a message: "{errors}"'
    return TransportError(text, permanent=invalid_user, response=response)


def directions(config: Config) -> tuple[bool, bool]:
    # Recovering from an emergency alert always has work to do: cancelling that alert.
    up = config.priority_up != DISABLED or config.priority == EMERGENCY
    return config.priority != DISABLED, up


def enabled(settings: Settings) -> bool:
    return bool(settings.pushover_api_token)


INTEGRATION = Integration(
    kind="pushover",
    label="Pushover",
    config_type=Config,
    notify=notify,
    directions=directions,
    enabled=enabled,
    disabled_reason="Pushover notifications are not enabled (no PUSHOVER_API_TOKEN).",
)
