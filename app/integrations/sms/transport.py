"""Twilio Messages API: one form POST per event, the text short enough for a phone screen."""

from __future__ import annotations

import re

import httpx
import msgspec

from app.config import Settings
from app.integrations.base import DeliveryContext, Event, TransportError, describe_ping
from app.integrations.registry import Integration

BODY_LIMIT = 1600  # Twilio's maximum message length
PING_BODY_LIMIT = 160  # every extra segment is paid for: one segment's worth of ping body
INVALID_NUMBER = 21211  # Twilio error code: "The 'To' number is not a valid phone number"

_E164 = re.compile(r"\+\d{5,15}")


class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    value: str  # the phone number, E.164
    up: bool = False
    down: bool = True

    def __post_init__(self) -> None:
        if not _E164.fullmatch(self.value):
            raise msgspec.ValidationError(
                "value: must be a phone number in international format, e.g. +15551234567"
            )


def text(event: Event) -> str:
    lines = [event.cause, f"Time: {event.created:%Y-%m-%d %H:%M:%S} UTC"]
    lines.append(f"Last ping: {describe_ping(event.last_ping)}")
    if event.last_ping and event.last_ping.body:
        body = event.last_ping.body
        if len(body) > PING_BODY_LIMIT:
            body = body[:PING_BODY_LIMIT] + "…"
        lines.append(f"Last ping body: {body}")
    lines.append(f"Details: {event.check.details_url}")
    rest = "\n".join(lines)
    headline = event.headline
    room = BODY_LIMIT - len(rest) - 1
    if len(headline) > room:  # only a very long check name: keep the link, cut the name
        headline = headline[: room - 1] + "…"
    return f"{headline}\n{rest}"


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    settings = ctx.settings
    # All three are set: delivery.send calls only an enabled kind.
    account, auth = settings.twilio_account or "", settings.twilio_auth or ""
    sender = settings.twilio_from or ""
    if not (config.down if event.status == "down" else config.up):
        return
    url = f"{settings.twilio_api_url}/2010-04-01/Accounts/{account}/Messages.json"
    form = {"From": sender, "To": config.value, "Body": text(event)}
    try:
        await ctx.post(url, data=form, auth=(account, auth))
    except TransportError as error:
        # Twilio's error code in the body says whether the number is invalid (permanent).
        if error.response is None:
            raise
        raise _error(error.response) from None


def _error(response: httpx.Response) -> TransportError:
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        code = None
    if code == INVALID_NUMBER:
        return TransportError("Invalid phone number", permanent=True, response=response)
    return TransportError(f"Received status code {response.status_code}", response=response)


def directions(config: Config) -> tuple[bool, bool]:
    return config.down, config.up


def enabled(settings: Settings) -> bool:
    return bool(settings.twilio_account and settings.twilio_auth and settings.twilio_from)


INTEGRATION = Integration(
    kind="sms",
    label="SMS",
    config_type=Config,
    notify=notify,
    directions=directions,
    enabled=enabled,
    disabled_reason="SMS notifications are not enabled (no Twilio account).",
)
