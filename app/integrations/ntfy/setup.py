"""The ntfy channel's setup form."""

from app.integrations.setup import INT_CHOICE, TEXT, URL, Field, SetupForm

PRIORITIES = (
    ("5", "Max"),
    ("4", "High"),
    ("3", "Default"),
    ("2", "Low"),
    ("1", "Min"),
    ("0", "Disabled: do not notify"),
)


FORM = SetupForm(
    fields=(
        Field("url", "Server URL", kind=URL, default="https://ntfy.sh"),
        Field("topic", "Topic", help="1-64 letters, digits, dashes or underscores."),
        Field("priority", 'Priority for "down"', kind=INT_CHOICE, choices=PRIORITIES, default="3"),
        Field("priority_up", 'Priority for "up"', kind=INT_CHOICE, choices=PRIORITIES, default="3"),
        Field(
            "token",
            "Access token",
            kind=TEXT,
            optional=True,
            help="For a protected topic; leave empty for a public one.",
        ),
    ),
    identity="topic",
    summary="Push to an ntfy topic (ntfy.sh or your own server).",
)
