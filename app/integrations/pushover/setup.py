"""The Pushover channel's setup form."""

from app.integrations.setup import INT_CHOICE, Field, SetupForm

PRIORITIES = (
    ("2", "Emergency (repeats until acknowledged)"),
    ("1", "High"),
    ("0", "Normal"),
    ("-1", "Low"),
    ("-2", "Lowest"),
    ("-3", "Disabled: do not notify"),
)


FORM = SetupForm(
    fields=(
        Field("user_key", "User key", help="Your 30-character user (or group) key."),
        Field("priority", 'Priority for "down"', kind=INT_CHOICE, choices=PRIORITIES, default="0"),
        Field("priority_up", 'Priority for "up"', kind=INT_CHOICE, choices=PRIORITIES, default="0"),
    ),
    summary="Push to your phones and desktops through Pushover.",
)
