"""The SMS channel's setup form."""

from app.config import Settings
from app.integrations.setup import BOOL, Field, SetupForm


def _enabled(settings: Settings) -> bool:
    return bool(settings.twilio_account and settings.twilio_auth and settings.twilio_from)


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
    enabled=_enabled,
    identity="value",
    summary="Send a text message (through Twilio).",
    disabled_reason="SMS notifications are not enabled (no Twilio account).",
)
