"""Email pings over real SMTP: smtplib (in a thread) talking to EmailPingServer on 127.0.0.1."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import delete

from app.config import Settings
from app.db import models as m
from app.db.engine import Database
from app.smtpd import EmailPingServer
from tests.conftest import FakeClock
from tests.factories import Factory

DOMAIN = "hc.example.org"
SENDER = "cron@example.org"


def message(
    subject: str = "Nightly backup", body: str = "all files copied", html: bool = False
) -> bytes:
    content_type = "text/html" if html else "text/plain"
    return (
        f"From: {SENDER}\r\nTo: someone@{DOMAIN}\r\nSubject: {subject}\r\n"
        f"Content-Type: {content_type}; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


class Mailer:
    """A real SMTP client; smtplib blocks, so every exchange runs in a thread."""

    def __init__(self, port: int) -> None:
        self.port = port

    def connect(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.example.org", timeout=10)

    async def send(self, to: str | list[str], raw: bytes | None = None) -> None:
        def exchange() -> None:
            with self.connect() as smtp:
                smtp.sendmail(SENDER, to, raw or message())

        await asyncio.to_thread(exchange)

    async def rcpt(self, to: str) -> tuple[int, str]:
        def exchange() -> tuple[int, bytes]:
            with self.connect() as smtp:
                smtp.ehlo()
                smtp.mail(SENDER)
                return smtp.rcpt(to)

        code, reply = await asyncio.to_thread(exchange)
        return code, reply.decode()


@asynccontextmanager
async def serving(settings: Settings, db: Database, clock: FakeClock) -> AsyncIterator[Mailer]:
    server = EmailPingServer(settings, host="127.0.0.1", port=0, db=db, clock=clock)
    await server.start()
    try:
        yield Mailer(server.port)
    finally:
        await server.stop()


@pytest.fixture
def mail_settings(settings: Settings) -> Settings:
    return replace(settings, ping_email_domain=DOMAIN)


@pytest.fixture
async def mailer(mail_settings: Settings, db: Database, clock: FakeClock) -> AsyncIterator[Mailer]:
    async with serving(mail_settings, db, clock) as client:
        yield client


def address(check: m.Check, tag: str = "") -> str:
    return f"{check.code}{tag}@{DOMAIN}"


# --- recipients that are accepted -------------------------------------------------------------


async def test_an_email_to_a_checks_uuid_is_a_success_ping_recorded_with_the_raw_message(
    mailer: Mailer, factory: Factory, clock: FakeClock
) -> None:
    check = await factory.check()
    raw = message()

    await mailer.send(address(check), raw)

    check = await factory.reload(check)
    assert check.status == "up"
    assert check.last_ping == clock.now
    [ping] = await factory.pings(check)
    assert (ping.n, ping.kind, ping.scheme, ping.method) == (1, "success", "email", "")
    assert ping.ua == f"Email from {SENDER}"
    assert ping.remote_addr == "127.0.0.1"
    assert ping.body == raw
    assert ping.rid is None
    assert ping.exitstatus is None
    assert ping.created == clock.now


async def test_a_plus_tag_after_the_uuid_reaches_the_same_check(
    mailer: Mailer, factory: Factory
) -> None:
    check = await factory.check()

    await mailer.send(address(check, "+weekly"))

    assert (await factory.reload(check)).status == "up"


async def test_the_uuid_and_domain_of_an_address_are_case_insensitive(
    mailer: Mailer, factory: Factory
) -> None:
    check = await factory.check()

    await mailer.send(f"{str(check.code).upper()}@{DOMAIN.upper()}")

    assert (await factory.reload(check)).status == "up"


async def test_an_email_to_ping_key_plus_slug_pings_the_check_with_that_slug(
    mailer: Mailer, factory: Factory
) -> None:
    project, keys = await factory.project()
    check = await factory.check(project, slug="db-backup")
    other = await factory.check(project, slug="db-backup-2")

    await mailer.send(f"{keys.ping_key}+db-backup@{DOMAIN}")

    assert (await factory.reload(check)).status == "up"
    assert (await factory.reload(other)).status == "new"
    [ping] = await factory.pings(check)
    assert ping.scheme == "email"


async def test_one_email_to_two_checks_pings_both(mailer: Mailer, factory: Factory) -> None:
    first, second = await factory.check(), await factory.check()

    await mailer.send([address(first), address(second)])

    assert [len(await factory.pings(c)) for c in (first, second)] == [1, 1]


async def test_the_greeting_names_the_ping_email_domain(mailer: Mailer) -> None:
    def greeting() -> bytes:
        with mailer.connect() as smtp:
            return smtp.ehlo()[1]

    assert (await asyncio.to_thread(greeting)).startswith(DOMAIN.encode())


# --- recipients that are refused at RCPT ------------------------------------------------------


async def test_a_recipient_in_another_domain_is_rejected(mailer: Mailer, factory: Factory) -> None:
    check = await factory.check()

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await mailer.send(f"{check.code}@example.org")

    assert refused.value.recipients == {
        f"{check.code}@example.org": (550, b"5.1.1 Recipient rejected")
    }
    assert await factory.pings(check) == []


@pytest.mark.parametrize("local", ["hello", "not-a-uuid+tag", "abc+Slug"])
async def test_a_malformed_mailbox_is_refused(mailer: Mailer, local: str) -> None:
    assert await mailer.rcpt(f"{local}@{DOMAIN}") == (550, "5.1.1 Invalid mailbox")


async def test_a_uuid_that_is_no_check_is_refused_as_unknown(mailer: Mailer) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await mailer.send(f"{uuid.uuid4()}@{DOMAIN}")

    assert await mailer.rcpt(f"{uuid.uuid4()}@{DOMAIN}") == (550, "5.1.1 Unknown mailbox")


async def test_a_slug_that_is_no_check_of_the_project_is_refused_as_unknown(
    mailer: Mailer, factory: Factory
) -> None:
    _, keys = await factory.project()
    other_project, _ = await factory.project()
    await factory.check(other_project, slug="backup")

    assert await mailer.rcpt(f"{keys.ping_key}+backup@{DOMAIN}") == (550, "5.1.1 Unknown mailbox")
    assert await mailer.rcpt(f"{'x' * 22}+backup@{DOMAIN}") == (550, "5.1.1 Unknown mailbox")


async def test_an_ambiguous_slug_is_refused(mailer: Mailer, factory: Factory) -> None:
    project, keys = await factory.project()
    twins = [await factory.check(project, slug="twin") for _ in range(2)]

    assert await mailer.rcpt(f"{keys.ping_key}+twin@{DOMAIN}") == (
        550,
        "5.1.1 Ambiguous mailbox",
    )
    assert [await factory.pings(c) for c in twins] == [[], []]


async def test_a_refused_recipient_does_not_stop_the_others(
    mailer: Mailer, factory: Factory
) -> None:
    check = await factory.check()

    await mailer.send([f"{uuid.uuid4()}@{DOMAIN}", address(check)])

    assert len(await factory.pings(check)) == 1


async def test_a_check_deleted_between_rcpt_and_data_is_skipped_and_the_mail_accepted(
    mailer: Mailer, factory: Factory, db: Database
) -> None:
    gone, kept = await factory.check(), await factory.check()
    smtp = await asyncio.to_thread(mailer.connect)
    try:
        await asyncio.to_thread(smtp.ehlo)
        await asyncio.to_thread(smtp.mail, SENDER)
        assert (await asyncio.to_thread(smtp.rcpt, address(gone)))[0] == 250
        assert (await asyncio.to_thread(smtp.rcpt, address(kept)))[0] == 250
        async with db.engine.begin() as conn:
            await conn.execute(delete(m.Check).where(m.Check.id == gone.id))

        code, _ = await asyncio.to_thread(smtp.data, message())
    finally:
        await asyncio.to_thread(smtp.quit)

    assert code == 250
    assert len(await factory.pings(kept)) == 1


# --- keyword filters --------------------------------------------------------------------------


async def subject_filtered(factory: Factory, **fields: object) -> m.Check:
    return await factory.check(
        filter_subject=True, success_kw="SUCCESS", failure_kw="FAIL, ERROR", **fields
    )


async def test_a_failure_keyword_in_the_subject_takes_the_check_down(
    mailer: Mailer, factory: Factory
) -> None:
    check = await subject_filtered(factory, status="up")

    await mailer.send(address(check), message(subject="Backup ERROR: disk full"))

    assert (await factory.reload(check)).status == "down"
    [ping] = await factory.pings(check)
    assert ping.kind == "fail"
    [flip] = await factory.flips(check)
    assert (flip.old_status, flip.new_status, flip.reason) == ("up", "down", "fail")


async def test_a_success_keyword_in_the_subject_brings_the_check_up(
    mailer: Mailer, factory: Factory
) -> None:
    check = await subject_filtered(factory, status="down")

    await mailer.send(address(check), message(subject="Backup SUCCESS"))

    assert (await factory.reload(check)).status == "up"
    assert [p.kind for p in await factory.pings(check)] == ["success"]


async def test_a_subject_without_keywords_is_ignored(mailer: Mailer, factory: Factory) -> None:
    check = await subject_filtered(factory)

    await mailer.send(address(check), message(subject="Backup finished", body="FAIL"))

    check = await factory.reload(check)
    assert check.status == "new"
    assert check.last_ping is None
    assert [p.kind for p in await factory.pings(check)] == ["ign"]


async def test_a_subject_without_keywords_is_a_failure_when_the_check_says_so(
    mailer: Mailer, factory: Factory
) -> None:
    check = await subject_filtered(factory, filter_default_fail=True)

    await mailer.send(address(check), message(subject="Backup finished"))

    assert (await factory.reload(check)).status == "down"
    assert [p.kind for p in await factory.pings(check)] == ["fail"]


async def test_the_body_filter_reads_the_text_of_an_html_only_message(
    mailer: Mailer, factory: Factory
) -> None:
    check = await factory.check(filter_body=True, success_kw="Completed OK", failure_kw="FAIL")
    html = "<html><body><p>Job <b>Completed</b>&#32;OK</p><!-- FAIL --></body></html>"

    await mailer.send(address(check), message(subject="FAIL", body=html, html=True))

    assert (await factory.reload(check)).status == "up"
    assert [p.kind for p in await factory.pings(check)] == ["success"]


async def test_a_start_keyword_starts_the_check(mailer: Mailer, factory: Factory) -> None:
    check = await factory.check(filter_body=True, start_kw="started")

    await mailer.send(address(check), message(body="backup started"))

    check = await factory.reload(check)
    assert check.last_start is not None
    assert [p.kind for p in await factory.pings(check)] == ["start"]


# --- the rest of the ping rules ---------------------------------------------------------------


async def test_a_paused_check_with_manual_resume_ignores_the_email_and_stays_paused(
    mailer: Mailer, factory: Factory
) -> None:
    check = await factory.check(status="paused", manual_resume=True)

    await mailer.send(address(check))

    assert (await factory.reload(check)).status == "paused"
    assert [p.kind for p in await factory.pings(check)] == ["ign"]


async def test_a_message_longer_than_the_body_limit_is_stored_cut(
    mail_settings: Settings, db: Database, clock: FakeClock, factory: Factory
) -> None:
    check = await factory.check()
    raw = message(body="x" * 500)

    async with serving(replace(mail_settings, ping_body_limit=100), db, clock) as mailer:
        await mailer.send(address(check), raw)

    [ping] = await factory.pings(check)
    assert ping.body == raw[:100]
    assert (await factory.reload(check)).status == "up"


async def test_a_database_that_does_not_answer_makes_the_sender_try_again_later(
    mail_settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    broken = Database(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/cronbeat.db")
    try:
        async with serving(mail_settings, broken, clock) as mailer:
            code, reply = await mailer.rcpt(f"{uuid.uuid4()}@{DOMAIN}")
    finally:
        await broken.dispose()

    assert code == 451
    assert reply.startswith("4.3.0")
