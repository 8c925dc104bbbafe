"""Outgoing mail over SMTP (EMAIL_* settings); without EMAIL_HOST it goes to the log."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from app.config import Settings

log = logging.getLogger("cronbeat.mail")

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class MailError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def render(name: str, context: dict[str, Any]) -> tuple[str, str]:
    """An email's text and HTML bodies: ``templates/emails/<name>.txt`` and ``.html``."""
    env = _templates()
    text = env.get_template(f"emails/{name}.txt").render(context)
    html = env.get_template(f"emails/{name}.html").render(context)
    return text, html


def build_message(
    settings: Settings,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.default_from_email
    message["To"] = to
    message["Subject"] = subject
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def _send_sync(settings: Settings, message: EmailMessage) -> None:
    assert settings.email_host is not None
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.email_use_ssl:
        smtp = smtplib.SMTP_SSL(
            settings.email_host, settings.email_port, timeout=30, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.email_host, settings.email_port, timeout=30)
    with smtp:
        if settings.email_use_tls and not settings.email_use_ssl:
            smtp.starttls(context=context)
        if settings.email_host_user:
            smtp.login(settings.email_host_user, settings.email_host_password)
        smtp.send_message(message)


async def send(settings: Settings, message: EmailMessage) -> None:
    """Send, or log when no EMAIL_HOST is configured. Raises MailError on failure."""
    if not settings.email_host:
        log.info(
            "email (EMAIL_HOST not set, not sent) to=%s subject=%s\n%s",
            message["To"],
            message["Subject"],
            message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            if message.get_body(("plain",))
            else "",
        )
        return
    try:
        await asyncio.to_thread(_send_sync, settings, message)
    except smtplib.SMTPRecipientsRefused as error:
        raise MailError(f"Recipient refused: {error.recipients}", permanent=True) from None
    except smtplib.SMTPResponseException as error:
        permanent = 500 <= error.smtp_code < 600
        raise MailError(
            f"SMTP error {error.smtp_code}: {error.smtp_error!r}", permanent=permanent
        ) from None
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"Could not send email: {error}") from None
