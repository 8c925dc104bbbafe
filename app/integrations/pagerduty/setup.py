"""The PagerDuty channel's setup form."""

from app.config import Settings
from app.integrations.setup import Field, SetupForm


def _enabled(settings: Settings) -> bool:
    return settings.pagerduty_enabled


FORM = SetupForm(
    fields=(
        Field(
            "service_key",
            "Integration key",
            help="The integration (routing) key of an Events API v2 integration of a service.",
        ),
        Field("account", "Account", optional=True, help="Your PagerDuty subdomain, for reference."),
    ),
    enabled=_enabled,
    identity="account",
    summary="Open and resolve PagerDuty incidents.",
    disabled_reason="PagerDuty notifications are not enabled.",
)
