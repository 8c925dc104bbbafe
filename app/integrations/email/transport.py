"""Email: one message per event, plain text and HTML, sent through ``app.mail``."""

from __future__ import annotations

import re
from html import escape

import msgspec

from app import mail
from app.integrations.base import (
    DeliveryContext,
    Event,
    TransportError,
    describe_ping,
    format_duration,
)
from app.integrations.registry import Integration

MAX_ADDRESS = 254
# Deliberately loose (one "@", a dotted domain, nothing that breaks a header); the mail
# server has the final word, and a refused recipient disables the channel.
_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\.]+")


class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    value: str
    up: bool = True
    down: bool = True

    def __post_init__(self) -> None:
        if len(self.value) > MAX_ADDRESS or not _ADDRESS.fullmatch(self.value):
            raise msgspec.ValidationError("value: must be an email address")


def directions(config: Config) -> tuple[bool, bool]:
    return config.down, config.up


def subject(event: Event) -> str:
    name = " ".join(event.check.display_name.split())  # a line break cannot go in a header
    suffix = " (repeat notification)" if event.repeat else ""
    return f"{event.status.upper()} | {name}{suffix}"


def render_html(event: Event) -> str:
    check = event.check
    rows = [("Time", f"{event.created:%Y-%m-%d %H:%M:%S} UTC")]
    if check.project_name:
        rows.append(("Project", check.project_name))
    if check.tags:
        rows.append(("Tags", check.tags))
    if check.desc:
        rows.append(("Description", check.desc))
    if check.kind == "simple":
        rows.append(("Period", format_duration(check.timeout)))
    else:
        rows.append(("Schedule", check.schedule))
        rows.append(("Time zone", check.tz))
    rows.append(("Grace time", format_duration(check.grace)))
    rows.append(("Total pings", str(check.n_pings)))
    rows.append(("Last ping", describe_ping(event.last_ping)))
    table = "\n".join(
        f'<tr><th scope="row" align="left">{escape(label)}</th><td>{escape(value)}</td></tr>'
        for label, value in rows
    )
    body = ""
    if event.last_ping and event.last_ping.body:
        body = f"<h2>Last ping body</h2>\n<pre>{escape(event.last_ping.body[:1000])}</pre>\n"
    color = "#22bb33" if event.status == "up" else "#dd3322"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        f'<head><meta charset="utf-8" /><title>{escape(subject(event))}</title></head>\n'
        "<body>\n"
        f'<h1 style="color: {color}">{escape(event.headline)}</h1>\n'
        f"<p>{escape(event.cause)}</p>\n"
        f"<table>\n{table}\n</table>\n"
        f"{body}"
        f'<p><a href="{escape(check.details_url)}">View details on '
        f"{escape(event.site_name)}</a></p>\n"
        f"{_html_footer(event)}"
        "</body>\n"
        "</html>\n"
    )


def _html_footer(event: Event) -> str:
    if not event.unsubscribe_url:
        return ""
    link = f'<a href="{escape(event.unsubscribe_url)}">Stop these alerts</a>'
    return f'<p style="font-size: small; color: #666">{link} (for this address only).</p>\n'


def render_text(event: Event) -> str:
    lines = event.summary_lines()
    if event.unsubscribe_url:
        lines += ["", f"Stop these alerts (for this address only): {event.unsubscribe_url}"]
    return "\n".join(lines) + "\n"


def unsubscribe_headers(event: Event) -> dict[str, str]:
    """RFC 2369 and RFC 8058: mail clients offer one-click unsubscribe (a POST to the URL)."""
    if not event.unsubscribe_url:
        return {}
    return {
        "List-Unsubscribe": f"<{event.unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


async def notify(event: Event, config: Config, ctx: DeliveryContext) -> None:
    message = mail.build_message(
        ctx.settings,
        to=config.value,
        subject=subject(event),
        text=render_text(event),
        html=render_html(event),
        headers=unsubscribe_headers(event),
    )
    try:
        await mail.send(ctx.settings, message)
    except mail.MailError as error:
        raise TransportError(error.message, permanent=error.permanent) from None


INTEGRATION = Integration(
    kind="email",
    label="Email",
    config_type=Config,
    notify=notify,
    directions=directions,
)
