"""The Opsgenie channel's setup form."""

from app.integrations.setup import CHOICE, Field, SetupForm

REGIONS = (("us", "US (api.opsgenie.com)"), ("eu", "EU (api.eu.opsgenie.com)"))


FORM = SetupForm(
    fields=(
        Field("key", "API key", help="The key of an API integration in Opsgenie."),
        Field("region", "Region", kind=CHOICE, choices=REGIONS, default="us"),
    ),
    identity="region",
    summary="Create and close Opsgenie alerts.",
)
