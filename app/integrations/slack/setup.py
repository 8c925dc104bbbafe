"""The Slack channel's setup form: one webhook URL."""

from app.integrations.setup import URL, Field, SetupForm

FORM = SetupForm(
    fields=(Field("url", "Slack incoming webhook URL", kind=URL, placeholder="https://"),),
    identity="url",
    summary="Post to a Slack channel through an incoming webhook.",
)
