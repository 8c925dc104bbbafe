"""The email channel's setup form."""

from app.integrations.setup import BOOL, Field, SetupForm

FORM = SetupForm(
    fields=(
        Field("value", "Email address", help="Alerts are sent to this address."),
        Field("down", "Notify when a check goes down", kind=BOOL, default="on"),
        Field("up", "Notify when a check comes back up", kind=BOOL, default="on"),
    ),
    identity="value",
    summary="Send an email to an address.",
)
