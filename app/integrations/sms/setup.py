"""The SMS channel's setup form."""

from app.integrations.setup import BOOL, Field, SetupForm

FORM = SetupForm(
    fields=(
        Field(
            "value",
            "Phone number",
            help="In international format, e.g. +15551234567.",
            placeholder="+",
        ),
        Field("down", "Notify when a check goes down", kind=BOOL, default="on"),
        Field("up", "Notify when a check comes back up", kind=BOOL),
    ),
    identity="value",
    summary="Send a text message (through Twilio).",
)
