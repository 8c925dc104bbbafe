"""The Slack channel's setup form: one webhook URL."""

from app.config import Settings
from app.integrations.setup import URL, Field, SetupForm


def _enabled(settings: Settings) -> bool:
    return settings.slack_enabled


FORM = SetupForm(
    fields=(Field("url", "Slack incoming webhook URL", kind=URL, placeholder="https://"),),
    enabled=_enabled,
    identity="url",
    summary="Post to a Slack channel through an incoming webhook.",
    disabled_reason="Slack notifications are not enabled.",
)
