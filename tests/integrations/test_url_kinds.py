"""What every incoming-webhook kind (Slack, Discord, Mattermost, Teams) shares: the private
address guard and the on/off switch. Each kind's own file tests its payload and errors."""

from dataclasses import replace

import pytest
from pytest_httpserver import HTTPServer

from app.domain import delivery
from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from tests.integrations.conftest import make_event

KINDS = [
    ("slack", "slack_enabled", "Slack notifications are not enabled."),
    ("discord", "discord_enabled", "Discord notifications are not enabled."),
    ("mattermost", "mattermost_enabled", "Mattermost notifications are not enabled."),
    ("msteams", "msteams_enabled", "MS Teams notifications are not enabled."),
]


async def notify(kind: str, url: str, ctx: DeliveryContext) -> None:
    await registry.get(kind).notify(make_event(), registry.parse_config(kind, {"url": url}), ctx)


@pytest.mark.parametrize(("kind", "switch", "message"), KINDS)
async def test_it_refuses_private_addresses(
    httpserver: HTTPServer, ctx: DeliveryContext, kind: str, switch: str, message: str
) -> None:
    guarded = DeliveryContext(
        settings=replace(ctx.settings, integrations_allow_private_ips=False), http=ctx.http
    )
    with pytest.raises(TransportError) as info:
        await notify(kind, f"http://127.0.0.1:{httpserver.port}/hook", guarded)
    assert info.value.message == "Connections to private IP addresses are not allowed"
    assert info.value.permanent is True
    assert httpserver.log == []


@pytest.mark.parametrize(("kind", "switch", "message"), KINDS)
async def test_it_fails_permanently_when_the_kind_is_disabled(
    httpserver: HTTPServer, ctx: DeliveryContext, kind: str, switch: str, message: str
) -> None:
    disabled = DeliveryContext(settings=replace(ctx.settings, **{switch: False}), http=ctx.http)
    with pytest.raises(TransportError) as info:
        await delivery.send(make_event(), kind, {"url": httpserver.url_for("/hook")}, disabled)
    assert info.value.message == message
    assert info.value.permanent is True
    assert httpserver.log == []
