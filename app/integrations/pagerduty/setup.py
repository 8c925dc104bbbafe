"""The PagerDuty channel's setup form."""

from app.integrations.setup import Field, SetupForm

FORM = SetupForm(
    fields=(
        Field(
            "service_key",
            "Integration key",
            help="The integration (routing) key of an Events API v2 integration of a service.",
        ),
        Field("account", "Account", optional=True, help="Your PagerDuty subdomain, for reference."),
    ),
    identity="account",
    summary="Open and resolve PagerDuty incidents.",
)
