"""The Telegram channel's setup form: which chat (and topic) the bot writes to."""

from app.config import Settings
from app.integrations.setup import INT, INT_OR_TEXT, Field, SetupForm


def _enabled(settings: Settings) -> bool:
    return bool(settings.telegram_token)


FORM = SetupForm(
    fields=(
        Field(
            "chat_id",
            "Chat ID",
            kind=INT_OR_TEXT,
            help="The numeric chat id (groups are negative), or a public @channelname.",
        ),
        Field(
            "thread_id",
            "Topic ID",
            kind=INT,
            optional=True,
            help="For a group with topics: the topic's numeric id. Leave empty otherwise.",
        ),
    ),
    enabled=_enabled,
    identity="chat_id",
    summary="Message a Telegram chat, group or channel through our bot.",
    disabled_reason="Telegram notifications are not enabled (no TELEGRAM_TOKEN).",
)
