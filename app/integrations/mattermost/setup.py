"""The Mattermost channel's setup form: one webhook URL."""

from app.integrations.setup import URL, Field, SetupForm

FORM = SetupForm(
    fields=(Field("url", "Mattermost incoming webhook URL", kind=URL, placeholder="https://"),),
    identity="url",
    summary="Post to a Mattermost channel through an incoming webhook.",
)
