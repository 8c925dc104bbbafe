"""The MS Teams channel's setup form: one webhook URL."""

from app.config import Settings
from app.integrations.setup import URL, Field, SetupForm


def _enabled(settings: Settings) -> bool:
    return settings.msteams_enabled


FORM = SetupForm(
    fields=(Field("url", "Teams workflow URL", kind=URL, placeholder="https://"),),
    enabled=_enabled,
    identity="url",
    summary="Post an adaptive card to Microsoft Teams through a workflow.",
    disabled_reason="MS Teams notifications are not enabled.",
)
