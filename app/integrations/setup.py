"""Setup forms: how a person fills in a channel's config, declared once per integration.

Each ``app/integrations/<kind>/setup.py`` declares ``FORM = SetupForm(...)``: its fields
(named after the config struct's fields, so a config error ``$.url`` lands next to the form
field ``url``) and which field identifies the channel in lists. The generic ``to_config`` /
``from_config`` turn form values into the JSON the API would store and back. The layout is
``app/integrations/<kind>/form.html``. Whether the kind is switched on is not the form's to
say: the integration declares it once (``Integration.enabled``, in its transport module).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Field kinds: how a form string becomes a config value (and which widget shows it).
TEXT = "text"  # a stripped string
URL = "url"  # a stripped string, shown as a URL input
TEXTAREA = "textarea"  # a string as typed (line breaks normalised)
HEADERS = "headers"  # "Name: value" lines -> {"Name": "value"}
BOOL = "bool"  # a checkbox
INT = "int"  # a whole number
INT_OR_TEXT = "int_or_text"  # a whole number when it looks like one, else the text
CHOICE = "choice"  # one of ``choices``, as a string
INT_CHOICE = "int_choice"  # one of ``choices``, as a whole number

_WHOLE_NUMBER = re.compile(r"[+-]?\d{1,18}")


class FormError(Exception):
    """Form values that cannot become a config; ``errors`` maps field name -> message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Field:
    name: str  # the config struct's field, and the form field
    label: str
    kind: str = TEXT
    help: str = ""
    # Left out of the config when empty, so the struct's default (or None) applies.
    optional: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    default: str = ""  # the form's value for a new channel ("on" checks a checkbox)
    placeholder: str = ""

    @property
    def required(self) -> bool:
        return not self.optional and self.kind not in (BOOL, CHOICE, INT_CHOICE)

    def parse(self, raw: str) -> Any:
        """The config value for the form string ``raw``; raises ValueError with the message."""
        if self.kind == BOOL:
            return raw != ""
        if self.kind == TEXTAREA:
            return raw.replace("\r\n", "\n")
        text = raw.strip()
        if self.kind == HEADERS:
            return _parse_headers(raw)
        if self.kind in (CHOICE, INT_CHOICE):
            if text not in {value for value, _ in self.choices}:
                raise ValueError("Choose one of the options.")
            return int(text) if self.kind == INT_CHOICE else text
        if self.kind == INT:
            if not _WHOLE_NUMBER.fullmatch(text):
                raise ValueError("Enter a whole number.")
            return int(text)
        if self.kind == INT_OR_TEXT and _WHOLE_NUMBER.fullmatch(text):
            return int(text)
        return text

    def show(self, value: Any) -> str:
        """The form string for a config value (the inverse of ``parse``)."""
        if self.kind == BOOL:
            return "on" if value else ""
        if value is None:
            return ""
        if self.kind == HEADERS:
            return "\n".join(f"{name}: {text}" for name, text in dict(value).items())
        return str(value)


def _parse_headers(raw: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ValueError(f'Line {number}: write each header as "Name: value".')
        headers[name.strip()] = value.strip()
    return headers


@dataclass(frozen=True)
class SetupForm:
    fields: tuple[Field, ...]
    # The config field that tells channels of this kind apart in lists (an address, a URL).
    identity: str | None = None
    summary: str = ""  # one line for the "add integration" grid

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def initial(self) -> dict[str, str]:
        """Form values for a new channel."""
        return {f.name: f.default for f in self.fields}

    def to_config(self, form: Mapping[str, str]) -> dict[str, Any]:
        """The config JSON for submitted form values; raises FormError per field."""
        config: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for f in self.fields:
            raw = form.get(f.name, "")
            if f.kind in (CHOICE, INT_CHOICE) and not raw:
                raw = f.default  # a form posted without the select (not a browser's)
            if f.optional and not raw.strip():
                continue
            try:
                config[f.name] = f.parse(raw)
            except ValueError as error:
                errors[f.name] = str(error)
        if errors:
            raise FormError(errors)
        return config

    def from_config(self, config: Any) -> dict[str, str]:
        """Form values showing a parsed config struct."""
        return {f.name: f.show(getattr(config, f.name, None)) for f in self.fields}

    def describe(self, config: Any) -> str:
        """The identifying value of a parsed config, for lists ('' when there is none)."""
        if self.identity is None:
            return ""
        return self.field(self.identity).show(getattr(config, self.identity, None))


_ERROR_AT = re.compile(r"(?P<message>.*) - at `\$\.(?P<field>\w+)[^`]*`", re.DOTALL)
_ERROR_NAMED = re.compile(r"(?P<field>\w+): (?P<message>.*)", re.DOTALL)
_MISSING = re.compile(r"Object missing required field `(?P<field>\w+)`")


def config_error_field(message: str) -> tuple[str | None, str]:
    """(field, message) for a msgspec config error: its ``$.field`` path, or the
    ``"<field>: ..."`` prefix our structs' own checks use; field None when neither."""
    if match := _ERROR_AT.fullmatch(message):
        return match["field"], match["message"]
    if match := _MISSING.fullmatch(message):
        return match["field"], "This field is required."
    if match := _ERROR_NAMED.fullmatch(message):
        return match["field"], match["message"]
    return None, message
