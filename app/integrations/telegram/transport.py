"""Telegram Bot API ``sendMessage``: one HTML message per event."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import msgspec

from app.config import Settings
from app.integrations.base import DeliveryContext, Event, TransportError
from app.integrations.registry import Integration

# A public channel or group is addressed by its @username (5-32 letters, digits, underscores).
_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{4,31}")


class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    chat_id: int | str
    thread_id: int | None = None

    def __post_init__(self) -> None:
        if self.chat_id == 0 or (
            isinstance(self.chat_id, str) and not _USERNAME.fullmatch(self.chat_id)
        ):
            raise msgspec.ValidationError("chat_id: must be a numeric chat id or a @username")
        if self.thread_id is not None and self.thread_id <= 0:
            raise msgspec.ValidationError("thread_id: must be a positive integer")


def render(event: Event) -> str:
    """The message in Telegram's HTML parse mode: the headline in bold, the rest escaped."""
    lines = [html.escape(line, quote=False) for line in event.summary_lines()]
    lines[0] = f"<b>{lines[0]}</b>"
    return "\n".join(lines)


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    token = ctx.settings.telegram_token or ""  # set: delivery.send calls only an enabled kind
    payload: dict[str, Any] = {
        "chat_id": config.chat_id,
        "text": render(event),
        "parse_mode": "HTML",
        "disable_web_page_preview": True,
    }
    if config.thread_id is not None:
        payload["message_thread_id"] = config.thread_id
    url = f"{ctx.settings.telegram_api_url}/bot{token}/sendMessage"
    try:
        await ctx.post(url, json_body=payload)
    except TransportError as error:
        # Telegram explains the error (and whether it is permanent) in the body.
        if error.response is None:
            raise
        raise _error(error.response) from None


def _error(response: httpx.Response) -> TransportError:
    message = f"Received status code {response.status_code}"
    try:
        description = str(response.json()["description"])
    except (ValueError, KeyError, TypeError):
        return TransportError(message, response=response)
    # 403: the bot was blocked, kicked or the user deactivated; retrying cannot help, and
    # neither can it when the chat is gone. Anything else (429, 5xx) may pass on a retry.
    permanent = response.status_code == 403 or (
        response.status_code == 400 and "chat not found" in description.lower()
    )
    return TransportError(
        f'{message} with a message: "{description}"', permanent=permanent, response=response
    )


def directions(config: Config) -> tuple[bool, bool]:
    return True, True


def enabled(settings: Settings) -> bool:
    return bool(settings.telegram_token)


INTEGRATION = Integration(
    kind="telegram",
    label="Telegram",
    config_type=Config,
    notify=notify,
    directions=directions,
    enabled=enabled,
    disabled_reason="Telegram notifications are not enabled (no TELEGRAM_TOKEN).",
)
