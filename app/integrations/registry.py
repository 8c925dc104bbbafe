"""Integration kinds: one line each. Adding a kind means adding a package and a line here."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from app.config import Settings
from app.integrations.base import DeliveryContext, Event
from app.integrations.setup import SetupForm


def _always(_settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class Integration:
    kind: str
    label: str
    config_type: type[msgspec.Struct]
    notify: Callable[[Event, Any, DeliveryContext], Awaitable[None]]
    # (down, up): which directions a config delivers; False means "skip, no record".
    directions: Callable[[Any], tuple[bool, bool]]
    # Whether the operator switched the kind on (settings name the switch or credentials).
    # The one place this is decided: the "add" grid and setup forms offer only enabled kinds,
    # and delivery.send refuses (permanently, with ``disabled_reason``) to call a disabled one.
    enabled: Callable[[Settings], bool] = _always
    disabled_reason: str = ""


# kind -> module under app.integrations; each module exposes INTEGRATION.
_MODULES = {
    "email": "email",
    "webhook": "webhook",
    "slack": "slack",
    "discord": "discord",
    "mattermost": "mattermost",
    "msteams": "msteams",
    "telegram": "telegram",
    "ntfy": "ntfy",
    "pushover": "pushover",
    "pagerduty": "pagerduty",
    "opsgenie": "opsgenie",
    "gotify": "gotify",
    "sms": "sms",
}


class UnknownKind(KeyError):
    pass


def kinds() -> list[str]:
    return sorted(k for k in _MODULES if _load(k) is not None)


def _load(kind: str) -> Integration | None:
    module_name = _MODULES.get(kind)
    if module_name is None:
        return None
    try:
        module = importlib.import_module(f"app.integrations.{module_name}.transport")
    except ModuleNotFoundError:
        return None
    integration: Integration = module.INTEGRATION
    return integration


def get(kind: str) -> Integration:
    integration = _load(kind)
    if integration is None:
        raise UnknownKind(kind)
    return integration


def setup_form(kind: str) -> SetupForm:
    """The kind's setup form (``app/integrations/<kind>/setup.py``); raises UnknownKind."""
    module_name = _MODULES.get(kind)
    if module_name is None or _load(kind) is None:
        raise UnknownKind(kind)
    form: SetupForm = importlib.import_module(f"app.integrations.{module_name}.setup").FORM
    return form


def enabled_kinds(settings: Settings) -> list[str]:
    """The kinds the operator switched on, in registry order (the "add" grid's order)."""
    return [
        kind
        for kind in _MODULES
        if (integration := _load(kind)) is not None and integration.enabled(settings)
    ]


def parse_config(kind: str, value: Any) -> Any:
    """Validate a channel's JSON config; raises msgspec.ValidationError naming the field."""
    if kind == "email" and isinstance(value, str):
        # Healthchecks also stores an email channel's value as the bare address.
        value = {"value": value}
    return msgspec.convert(value, get(kind).config_type, strict=True)
