"""A real SMTP server on 127.0.0.1 for the tests that send mail (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TypeVar
from urllib.parse import urlsplit

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Inbox:
    """An SMTP handler that keeps every message it accepts, with its recipients."""

    port: int = 0
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [message for _, message in self.received]

    def recipients(self) -> list[str]:
        return sorted(to for rcpt_tos, _ in self.received for to in rcpt_tos)

    def link(self, path_prefix: str, host: str = "testserver.local") -> str:
        """The path of the one link the last message's text carries."""
        body = self.messages[-1].get_body(("plain",))
        assert body is not None
        [url] = re.findall(r"https?://\S+", body.get_content())
        parts = urlsplit(url)
        assert parts.netloc == host
        assert parts.path.startswith(path_prefix)
        return parts.path


InboxT = TypeVar("InboxT", bound=Inbox)


@asynccontextmanager
async def smtp_server(handler: InboxT) -> AsyncIterator[InboxT]:
    """Serve ``handler`` on a free port of 127.0.0.1 (its ``port`` is set) until exit."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mx.example.org"), host="127.0.0.1", port=0
    )
    handler.port = server.sockets[0].getsockname()[1]
    try:
        yield handler
    finally:
        server.close()
        await server.wait_closed()
