"""The Mattermost channel's setup form: one webhook URL."""

from app.config import Settings
from app.integrations.setup import URL, Field, SetupForm


def _enabled(settings: Settings) -> bool:
    return settings.mattermost_enabled


FORM = SetupForm(
    fields=(Field("url", "Mattermost incoming webhook URL", kind=URL, placeholder="https://"),),
    enabled=_enabled,
    identity="url",
    summary="Post to a Mattermost channel through an incoming webhook.",
    disabled_reason="Mattermost notifications are not enabled.",
)
