"""The Discord channel's setup form: one webhook URL."""

from app.integrations.setup import URL, Field, SetupForm

FORM = SetupForm(
    fields=(Field("url", "Discord channel webhook URL", kind=URL, placeholder="https://"),),
    identity="url",
    summary="Post to a Discord channel through its webhook.",
)
