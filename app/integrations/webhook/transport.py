"""Webhook: one user-defined HTTP request per direction, with ``$PLACEHOLDER`` templates."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote

import msgspec

from app.config import Settings
from app.integrations.base import DeliveryContext, Event, TransportError, check_http_url
from app.integrations.registry import Integration

Method = Literal["GET", "POST", "PUT"]
MAX_URL = 1000
MAX_BODY = 1000
# RFC 9110 token: what a header name may be made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    method_down: Method = "GET"
    url_down: str = ""
    body_down: str = ""
    headers_down: dict[str, str] = {}
    method_up: Method = "GET"
    url_up: str = ""
    body_up: str = ""
    headers_up: dict[str, str] = {}

    def __post_init__(self) -> None:
        if not self.url_down and not self.url_up:
            raise msgspec.ValidationError("url_down: enter a URL for at least one direction")
        for direction in ("down", "up"):
            if url := getattr(self, f"url_{direction}"):
                check_http_url(f"url_{direction}", url, max_length=MAX_URL)
            if len(getattr(self, f"body_{direction}")) > MAX_BODY:
                raise msgspec.ValidationError(f"body_{direction}: at most {MAX_BODY} characters")
            _check_headers(f"headers_{direction}", getattr(self, f"headers_{direction}"))


def _check_headers(field: str, headers: dict[str, str]) -> None:
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise msgspec.ValidationError(f"{field}: {name!r} is not a valid header name")
        # A line break in a value would smuggle in another header.
        if "\r" in value or "\n" in value or "\0" in value:
            raise msgspec.ValidationError(f"{field}: the {name} value has a line break")


def directions(config: Config) -> tuple[bool, bool]:
    return bool(config.url_down), bool(config.url_up)


def expand(template: str, values: dict[str, str]) -> str:
    """Expand ``$NAME``-style placeholders in one pass: a value is never expanded again.

    The template is split on "$"; each piece takes the first placeholder (in ``values``
    order) it starts with. So ``expand("$A", {"$A": "$B", "$B": "x"})`` is ``"$B"``.
    """
    first, *pieces = template.split("$")
    result = [first]
    for piece in pieces:
        piece = "$" + piece
        for placeholder, value in values.items():
            if piece.startswith(placeholder):
                piece = value + piece[len(placeholder) :]
                break
        result.append(piece)
    return "".join(result)


def placeholders(
    event: Event, *, escape: Callable[[str], str] = str, with_body: bool = False
) -> dict[str, str]:
    """Placeholder → value, in matching order; ``escape`` applies to free-text values only."""
    check = event.check
    ping = event.last_ping
    values = {
        "$CODE": str(check.code),
        "$STATUS": event.status,
        "$NOW": escape(event.created.replace(microsecond=0).isoformat()),
        "$NAME_JSON": escape(json.dumps(check.name)),
        "$NAME": escape(check.name),
        "$SLUG": check.slug,
        "$TAGS": escape(check.tags),
        "$JSON": escape(json.dumps(dict(check.as_json))),
    }
    if with_body:
        body = ping.body if ping else ""
        values["$BODY_JSON"] = json.dumps(body)
        values["$BODY"] = body
    exitstatus = ping.exitstatus if ping and ping.exitstatus is not None else -1
    values["$EXITSTATUS"] = str(exitstatus)
    # Highest number first, so "$TAG12" is tag 12 rather than tag 1 followed by "2".
    tags = check.tags_list
    for number in range(len(tags), 0, -1):
        values[f"$TAG{number}"] = escape(tags[number - 1])
    return values


def _url_escape(value: str) -> str:
    return quote(value, safe="")


_LINE_BREAKS = re.compile(r"[\r\n]+")


def _header_value(value: str) -> bytes:
    # Header values travel as Latin-1 bytes (httpx would encode a str as ASCII): anything
    # outside Latin-1 becomes an HTML character reference. A line break (from a check's
    # name, say) cannot be in a header: it becomes a space, and the alert still goes out.
    return _LINE_BREAKS.sub(" ", value).encode("latin-1", "xmlcharrefreplace")


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    if event.status == "up":
        method, url, body, headers = (
            config.method_up,
            config.url_up,
            config.body_up,
            config.headers_up,
        )
    else:
        method, url, body, headers = (
            config.method_down,
            config.url_down,
            config.body_down,
            config.headers_down,
        )
    if not url:
        raise TransportError("Empty webhook URL")

    def filled(template: str, **kwargs: Any) -> str:
        # Most URLs and headers have no placeholder: skip building (and URL-quoting) them all.
        return expand(template, placeholders(event, **kwargs)) if "$" in template else template

    content = None
    if body and method in ("POST", "PUT"):
        content = filled(body, with_body=True).encode()
    header_bytes = {_header_name(name): _header_value(filled(v)) for name, v in headers.items()}
    await ctx.request(
        method,
        filled(url, escape=_url_escape),
        content=content,
        headers=header_bytes,
    )


def _header_name(name: str) -> str:
    # The context adds its own User-Agent; spelling ours the same way lets the user's win.
    return "User-Agent" if name.lower() == "user-agent" else name


def enabled(settings: Settings) -> bool:
    return settings.webhooks_enabled


INTEGRATION = Integration(
    kind="webhook",
    label="Webhook",
    config_type=Config,
    notify=notify,
    directions=directions,
    enabled=enabled,
    disabled_reason="Webhook notifications are not enabled.",
)
