"""The Gotify channel's setup form."""

from app.integrations.setup import INT_CHOICE, URL, Field, SetupForm

PRIORITIES = (
    *((str(n), str(n)) for n in range(10, 0, -1)),
    ("0", "0: do not notify"),
)


FORM = SetupForm(
    fields=(
        Field("url", "Server URL", kind=URL, placeholder="https://gotify.example.org"),
        Field("token", "Application token", help="The token of a Gotify application."),
        Field("priority", 'Priority for "down"', kind=INT_CHOICE, choices=PRIORITIES, default="5"),
        Field("priority_up", 'Priority for "up"', kind=INT_CHOICE, choices=PRIORITIES, default="5"),
    ),
    identity="url",
    summary="Push to your own Gotify server.",
)
