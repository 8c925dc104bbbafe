"""The Discord channel's setup form: one webhook URL."""

from app.config import Settings
from app.integrations.setup import URL, Field, SetupForm


def _enabled(settings: Settings) -> bool:
    return settings.discord_enabled


FORM = SetupForm(
    fields=(Field("url", "Discord channel webhook URL", kind=URL, placeholder="https://"),),
    enabled=_enabled,
    identity="url",
    summary="Post to a Discord channel through its webhook.",
    disabled_reason="Discord notifications are not enabled.",
)
