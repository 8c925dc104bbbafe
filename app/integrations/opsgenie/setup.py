"""The Opsgenie channel's setup form."""

from app.config import Settings
from app.integrations.setup import CHOICE, Field, SetupForm

REGIONS = (("us", "US (api.opsgenie.com)"), ("eu", "EU (api.eu.opsgenie.com)"))


def _enabled(settings: Settings) -> bool:
    return settings.opsgenie_enabled


FORM = SetupForm(
    fields=(
        Field("key", "API key", help="The key of an API integration in Opsgenie."),
        Field("region", "Region", kind=CHOICE, choices=REGIONS, default="us"),
    ),
    enabled=_enabled,
    identity="region",
    summary="Create and close Opsgenie alerts.",
    disabled_reason="Opsgenie notifications are not enabled.",
)
