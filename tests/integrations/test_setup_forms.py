"""Setup forms (app/integrations/<kind>/setup.py) and the channel functions the pages use."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from app.config import Settings, load_settings
from app.db.engine import write_session
from app.domain import channels, delivery
from app.domain.errors import ValidationError
from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.setup import FormError, config_error_field
from tests.http.test_ui_integrations import VALID
from tests.integrations.conftest import make_event

BASE = load_settings({"SECRET_KEY": "x"})


def test_every_kind_has_a_setup_form_and_a_template():
    from pathlib import Path

    integrations = Path(__file__).resolve().parents[2] / "app" / "integrations"
    for kind in registry.kinds():
        form = registry.setup_form(kind)
        assert form.fields, kind
        assert (integrations / kind / "form.html").is_file(), kind


def test_form_fields_are_fields_of_the_config():
    for kind in registry.kinds():
        config_fields = set(registry.get(kind).config_type.__struct_fields__)
        form_fields = {f.name for f in registry.setup_form(kind).fields}
        assert form_fields <= config_fields, kind


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_config_survives_the_round_trip_through_the_form(kind):
    form_values, config = VALID[kind]
    form = registry.setup_form(kind)
    assert form.to_config(form_values) == config
    parsed = registry.parse_config(kind, config)
    assert registry.parse_config(kind, form.to_config(form.from_config(parsed))) == parsed


def test_a_new_form_starts_from_the_declared_defaults():
    assert registry.setup_form("sms").initial() == {"value": "", "down": "on", "up": ""}
    assert registry.setup_form("ntfy").initial()["url"] == "https://ntfy.sh"


def test_unknown_kinds_have_no_form():
    with pytest.raises(registry.UnknownKind):
        registry.setup_form("carrier-pigeon")


def test_to_config_reports_every_field_it_cannot_read():
    form = registry.setup_form("telegram")
    with pytest.raises(FormError) as caught:
        form.to_config({"chat_id": "1", "thread_id": "seven"})
    assert caught.value.errors == {"thread_id": "Enter a whole number."}


def test_a_chat_id_is_a_number_when_it_looks_like_one():
    form = registry.setup_form("telegram")
    assert form.to_config({"chat_id": " -42 "}) == {"chat_id": -42}
    assert form.to_config({"chat_id": "@my_channel"}) == {"chat_id": "@my_channel"}


def test_headers_round_trip_as_lines():
    field = registry.setup_form("webhook").field("headers_down")
    assert field.parse("A: 1\n\nB:two: three\n") == {"A": "1", "B": "two: three"}
    assert field.show({"A": "1", "B": "2"}) == "A: 1\nB: 2"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Expected `int` <= 5 - at `$.priority`", ("priority", "Expected `int` <= 5")),
        ("url: must be an http:// or https:// URL", ("url", "must be an http:// or https:// URL")),
        ("Object missing required field `topic`", ("topic", "This field is required.")),
        ("Expected `object`, got `str`", (None, "Expected `object`, got `str`")),
    ],
)
def test_config_errors_name_their_field(message, expected):
    assert config_error_field(message) == expected


def test_kinds_needing_credentials_are_off_without_them():
    assert "telegram" not in registry.enabled_kinds(BASE)
    assert "sms" not in registry.enabled_kinds(replace(BASE, twilio_account="AC", twilio_auth="x"))
    on = replace(BASE, telegram_token="t", pushover_api_token="p")
    assert {"telegram", "pushover"} <= set(registry.enabled_kinds(on))
    assert "webhook" not in registry.enabled_kinds(replace(BASE, webhooks_enabled=False))


def test_every_kind_is_on_when_configured(settings: Settings):
    everything = replace(
        settings,
        telegram_token="t",
        pushover_api_token="p",
        twilio_account="AC",
        twilio_auth="x",
        twilio_from="+1555",
    )
    assert registry.enabled_kinds(everything) == [
        k for k in registry._MODULES if k in registry.kinds()
    ]


# Every switch off and no vendor credentials (BASE has none): only email is left.
ALL_OFF = replace(
    BASE,
    webhooks_enabled=False,
    slack_enabled=False,
    discord_enabled=False,
    msteams_enabled=False,
    mattermost_enabled=False,
    ntfy_enabled=False,
    gotify_enabled=False,
    pagerduty_enabled=False,
    opsgenie_enabled=False,
)


def test_with_every_switch_off_only_email_is_offered():
    assert registry.enabled_kinds(ALL_OFF) == ["email"]


@pytest.mark.parametrize("kind", sorted(set(VALID) - {"email"}))
async def test_delivery_refuses_a_kind_switched_off_before_calling_it(kind):
    """The kind's own declaration (Integration.enabled) decides, in delivery.send: the same
    one the setup pages read, so a kind that is not offered is not delivered either."""
    calls: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"ok": True})

    settings = replace(ALL_OFF, integrations_allow_private_ips=True)
    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
        with pytest.raises(TransportError) as info:
            await delivery.send(make_event(), kind, VALID[kind][1], DeliveryContext(settings, http))
    assert info.value.permanent is True
    assert info.value.message == registry.get(kind).disabled_reason
    assert "not enabled" in info.value.message
    assert calls == []


# --- channel functions ---------------------------------------------------------------------------


def test_a_config_error_keeps_the_api_message_and_names_the_field():
    with pytest.raises(channels.ConfigError) as caught:
        channels.validate("", "slack", {"url": "ftp://x"})
    error = caught.value
    assert error.field == "value"
    assert error.message == "value: url: must be an http:// or https:// URL with a host"
    assert (error.config_field, error.detail) == (
        "url",
        "must be an http:// or https:// URL with a host",
    )


async def test_update_channel_validates_and_recomputes_directions(factory, db):
    project, _ = await factory.project()
    channel = await factory.channel(project, kind="sms", value={"value": "+15551234567"})
    async with write_session(db) as session:
        await channels.update_channel(
            session, channel, "Pager", {"value": "+15551234567", "down": False, "up": True}
        )
    async with db.sessionmaker() as session:
        saved = await channels.get_channel(session, channel.code)
    assert (saved.name, saved.notify_down, saved.notify_up) == ("Pager", False, True)
    with pytest.raises(ValidationError):
        async with write_session(db) as session:
            await channels.update_channel(session, channel, "", {"value": "nope"})


async def test_set_channel_checks_touches_only_the_project_and_reports_changes(factory, db):
    project, _ = await factory.project()
    a = await factory.check(project)
    b = await factory.check(project)
    foreign = await factory.check()
    channel = await factory.channel(project, kind="slack", value={"url": "https://x.example/"})
    await factory.assign(a, channel)
    async with write_session(db) as session:
        chosen = await channels.set_channel_checks(session, channel, [b.id, foreign.id])
    assert chosen.changed == {a.id, b.id}
    assert chosen.selected == {b.id}
    async with db.sessionmaker() as session:
        assert await channels.channel_check_ids(session, channel) == {b.id}
        assert await channels.check_counts(session, project.id) == {channel.id: 1}
    async with write_session(db) as session:
        assert await channels.assign_all_checks(session, channel) == {a.id}
        chosen = await channels.set_channel_checks(session, channel, [a.id, b.id])
        assert (chosen.selected, chosen.changed) == ({a.id, b.id}, set())
