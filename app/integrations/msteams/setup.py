"""The MS Teams channel's setup form: one webhook URL."""

from app.integrations.setup import URL, Field, SetupForm

FORM = SetupForm(
    fields=(Field("url", "Teams workflow URL", kind=URL, placeholder="https://"),),
    identity="url",
    summary="Post an adaptive card to Microsoft Teams through a workflow.",
)
