"""The webhook channel's setup form: a request for "down" and one for "up"."""

from app.integrations.setup import CHOICE, HEADERS, TEXTAREA, URL, Field, SetupForm

METHODS = (("GET", "GET"), ("POST", "POST"), ("PUT", "PUT"))
PLACEHOLDERS = "Placeholders: $CODE, $STATUS, $NOW, $NAME, $SLUG, $TAGS, $JSON, $EXITSTATUS."


def _direction(direction: str, when: str) -> tuple[Field, ...]:
    return (
        Field(
            f"url_{direction}",
            "URL",
            kind=URL,
            optional=True,
            help=f"Called when a check {when}; leave empty to call nothing. {PLACEHOLDERS}",
            placeholder="https://",
        ),
        Field(f"method_{direction}", "Method", kind=CHOICE, choices=METHODS, default="GET"),
        Field(
            f"body_{direction}",
            "Request body",
            kind=TEXTAREA,
            optional=True,
            help="Sent with POST and PUT (at most 1,000 characters); may use $BODY too.",
        ),
        Field(
            f"headers_{direction}",
            "Request headers",
            kind=HEADERS,
            optional=True,
            help='One header a line, as "Name: value".',
        ),
    )


FORM = SetupForm(
    fields=(*_direction("down", "goes down"), *_direction("up", "comes back up")),
    identity="url_down",
    summary="Call a URL of yours when a check goes down or up.",
)
