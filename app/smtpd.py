"""Email pings: mail to ``<uuid>@PING_EMAIL_DOMAIN`` (or ``<ping_key>+<slug>@…``) is a ping.

Healthchecks accepts any well-formed recipient and drops unknown ones after DATA. We look
the check up at RCPT and refuse unknown recipients there, so the sending MTA bounces the
mail and its owner learns the address is wrong instead of the ping vanishing.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import re
import signal
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage, MIMEPart
from html.parser import HTMLParser
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app import live
from app.config import Settings
from app.db import models as m
from app.db.engine import Database
from app.domain import pings
from app.domain.clock import Clock, utcnow
from app.domain.pings import PingRequest

log = logging.getLogger("cronbeat.smtpd")

OK = "250 OK"
RECIPIENT_REJECTED = "550 5.1.1 Recipient rejected"
INVALID_MAILBOX = "550 5.1.1 Invalid mailbox"
UNKNOWN_MAILBOX = "550 5.1.1 Unknown mailbox"
AMBIGUOUS_MAILBOX = "550 5.1.1 Ambiguous mailbox"
TRY_AGAIN_LATER = "451 4.3.0 Temporary failure, try again later"

_UUID_LOCAL = re.compile(
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\+.*)?", re.IGNORECASE
)
_SLUG_LOCAL = re.compile(r"([a-z0-9]{22})\+([a-z0-9_-]+)")


# --- recipients -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mailbox:
    """The check an address names: by its code, or by its project's ping key and its slug."""

    code: uuid.UUID | None = None
    ping_key: str = ""
    slug: str = ""


class RecipientRefused(Exception):
    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


def parse_recipient(address: str, domain: str) -> Mailbox:
    """The mailbox of a RCPT TO address; raise RecipientRefused with the SMTP reply."""
    local, at, rcpt_domain = address.rpartition("@")
    if not at or rcpt_domain.lower() != domain.lower():
        raise RecipientRefused(RECIPIENT_REJECTED)
    if by_code := _UUID_LOCAL.fullmatch(local):
        return Mailbox(code=uuid.UUID(by_code.group(1)))
    if by_slug := _SLUG_LOCAL.fullmatch(local):
        return Mailbox(ping_key=by_slug.group(1), slug=by_slug.group(2))
    raise RecipientRefused(INVALID_MAILBOX)


@dataclass(frozen=True, slots=True)
class KeywordFilters:
    """A check's email keyword settings (the only check fields an email ping reads here)."""

    subject: bool = False
    body: bool = False
    default_fail: bool = False
    failure_kw: str = ""
    success_kw: str = ""
    start_kw: str = ""


_FILTER_COLUMNS = (
    m.Check.filter_subject,
    m.Check.filter_body,
    m.Check.filter_default_fail,
    m.Check.failure_kw,
    m.Check.success_kw,
    m.Check.start_kw,
)


async def find_check(db: Database, mailbox: Mailbox) -> KeywordFilters:
    """The keyword filters of the check ``mailbox`` names; raise CheckNotFound/AmbiguousSlug."""
    if mailbox.code is not None:
        query = select(*_FILTER_COLUMNS).where(m.Check.code == mailbox.code)
    else:
        query = (
            select(*_FILTER_COLUMNS)
            .join(m.Project, m.Project.id == m.Check.project_id)
            .where(m.Project.ping_key == mailbox.ping_key, m.Check.slug == mailbox.slug)
            .limit(2)
        )
    async with db.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    if not rows:
        raise pings.CheckNotFound
    if len(rows) > 1:
        raise pings.AmbiguousSlug
    return KeywordFilters(*rows[0])


# --- message text -----------------------------------------------------------------------------

_INVISIBLE_TAGS = frozenset({"script", "style", "head"})
_BREAK_TAGS = frozenset(
    {"br", "p", "div", "tr", "li", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden += 1
        elif tag in _BREAK_TAGS:
            # Without a break, "<p>ok</p><p>done</p>" would read "okdone".
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The visible text of an HTML body: tags stripped, entities unescaped."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return "".join(collector.parts)


def _part_text(part: MIMEPart | None) -> str:
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown or lying charset
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def message_text(message: EmailMessage, *, subject: bool, body: bool) -> str:
    """What the keyword filters search: the subject, then the plain and the HTML body."""
    parts = [str(message.get("subject", "")) if subject else ""]
    if body:
        parts.append(_part_text(message.get_body(preferencelist=("plain",))))
        parts.append(html_to_text(_part_text(message.get_body(preferencelist=("html",)))))
    return "\n".join(parts)


def email_action(raw: bytes, filters: KeywordFilters) -> str:
    """success, unless the check filters its emails by keywords."""
    if not (filters.subject or filters.body):
        return pings.SUCCESS
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return pings.classify_by_keywords(
        message_text(message, subject=filters.subject, body=filters.body),
        failure_kw=filters.failure_kw,
        success_kw=filters.success_kw,
        start_kw=filters.start_kw,
        default_fail=filters.default_fail,
    )


# --- the SMTP handler -------------------------------------------------------------------------


def _peer_ip(session: Session) -> str | None:
    peer: Any = session.peer  # typed str, but a socket address tuple for TCP
    if isinstance(peer, tuple):
        return str(peer[0]) if peer else None
    return str(peer) if peer else None


async def record_email_ping(
    db: Database, mailbox: Mailbox, ping: PingRequest, now: datetime
) -> pings.PingResult:
    if mailbox.code is not None:
        result = await pings.record_ping(db, mailbox.code, ping, now)
    else:
        result = await pings.record_slug_ping(db, mailbox.ping_key, mailbox.slug, ping, now)
    live.hub.publish((result.check_id,))
    return result


class EmailPingHandler:
    """aiosmtpd hooks: check recipients at RCPT, record one ping per recipient at DATA."""

    def __init__(self, settings: Settings, db: Database, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            await find_check(self.db, parse_recipient(address, self.settings.ping_email_domain))
        except RecipientRefused as refused:
            return refused.reply
        except pings.CheckNotFound:
            return UNKNOWN_MAILBOX
        except pings.AmbiguousSlug:
            return AMBIGUOUS_MAILBOX
        except (SQLAlchemyError, OSError):
            log.exception("Could not look up the recipient %s", address)
            return TRY_AGAIN_LATER
        envelope.rcpt_tos.append(address)
        return OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        now = self.clock()
        try:
            for address in envelope.rcpt_tos:
                await self._ping(address, session, envelope, now)
        except (SQLAlchemyError, OSError):
            # No 250, so the sender retries: a ping is durable once we say OK.
            log.exception("Could not record an email ping")
            return TRY_AGAIN_LATER
        return OK

    async def _ping(
        self, address: str, session: Session, envelope: Envelope, now: datetime
    ) -> None:
        mailbox = parse_recipient(address, self.settings.ping_email_domain)
        raw = envelope.original_content or b""
        check = str(mailbox.code) if mailbox.code else f"{mailbox.ping_key}/{mailbox.slug}"
        with structlog.contextvars.bound_contextvars(check=check):
            await self._record(address, mailbox, session, envelope, raw, now)

    async def _record(
        self,
        address: str,
        mailbox: Mailbox,
        session: Session,
        envelope: Envelope,
        raw: bytes,
        now: datetime,
    ) -> None:
        try:
            # Read the filters again: the check may have changed, or gone, since RCPT.
            filters = await find_check(self.db, mailbox)
            ping = self._ping_request(session, envelope, email_action(raw, filters))
            await record_email_ping(self.db, mailbox, ping, now)
        except pings.PingError as error:
            log.warning("Email ping to %s not recorded: %s", address, error.message)

    def _ping_request(self, session: Session, envelope: Envelope, action: str) -> PingRequest:
        raw = envelope.original_content or b""
        limit = self.settings.ping_body_limit
        return PingRequest(
            action=action,
            http=False,
            scheme="email",
            method="",
            ua=f"Email from {envelope.mail_from or ''}"[:200],
            remote_addr=_peer_ip(session),
            body=raw if limit is None else raw[:limit],
            rid=None,
        )


# --- the server -------------------------------------------------------------------------------


class EmailPingServer:
    """An SMTP listener in the running event loop, so it can live inside `cronbeat serve`."""

    def __init__(
        self,
        settings: Settings,
        *,
        host: str,
        port: int,
        db: Database | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.host = host
        self.port = port  # the bound port once started (useful with port 0)
        self.clock = clock
        self._db = db
        self._owns_db = db is None
        self._server: asyncio.Server | None = None
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    async def start(self) -> None:
        _quiet_aiosmtpd()
        if self._db is None:
            self._db = Database(self.settings.database_url, pool_size=self.settings.db_pool_size)
        handler = EmailPingHandler(self.settings, self._db, self.clock)
        loop = asyncio.get_running_loop()

        def new_session() -> SMTP:
            session = SMTP(handler, hostname=self.settings.ping_email_domain, loop=loop)
            self._sessions.add(session)
            return session

        self._server = await loop.create_server(new_session, host=self.host, port=self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            # Python 3.11's Server.close() leaves open connections alone; end them too.
            for session in list(self._sessions):
                if session.transport is not None:
                    session.transport.close()
            await self._server.wait_closed()
            self._server = None
        if self._owns_db and self._db is not None:
            await self._db.dispose()
            self._db = None


def _quiet_aiosmtpd() -> None:
    # aiosmtpd logs every SMTP command at INFO: a few lines per ping would flood the log.
    mail_log = logging.getLogger("mail.log")
    if mail_log.level == logging.NOTSET:
        mail_log.setLevel(logging.WARNING)


async def serve_smtpd(settings: Settings, *, host: str, port: int) -> None:
    """Listen for email pings until SIGTERM or SIGINT."""
    stopping = _stop_on_signals()  # before saying we listen: a stop may follow at once
    server = EmailPingServer(settings, host=host, port=port)
    if settings.redis_url:
        live.ensure_outbox(settings.redis_url)  # open dashboards show email pings too
    await server.start()
    log.info("Email pings on smtp://%s:%s for *@%s", host, server.port, settings.ping_email_domain)
    try:
        await stopping.wait()
    finally:
        await server.stop()
        log.info("Email pings stopped")


def _stop_on_signals() -> asyncio.Event:
    """An event set by the first SIGTERM or SIGINT; repeats are ignored from then on (process
    managers that signal the whole group, supervisors passing it on), so they cannot cut the
    clean shutdown short."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def stop(signum: signal.Signals) -> None:
        stopping.set()
        loop.remove_signal_handler(signum)
        signal.signal(signum, signal.SIG_IGN)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    return stopping


def run_smtpd(settings: Settings, *, host: str, port: int) -> None:
    """The `cronbeat smtpd` process (its logging is configured by the CLI)."""
    asyncio.run(serve_smtpd(settings, host=host, port=port))
