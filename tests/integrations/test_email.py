"""Email: messages delivered to a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import replace
from email.message import EmailMessage
from typing import Any

import msgspec
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from app.integrations import registry
from app.integrations.base import DeliveryContext, TransportError
from app.integrations.email.transport import INTEGRATION, Config, directions, notify
from tests.integrations.conftest import make_event
from tests.smtp import Inbox, smtp_server

REFUSED = "gone@example.org"


class RefusingInbox(Inbox):
    """Keeps what it accepts and refuses one address at RCPT."""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
async def inbox() -> AsyncIterator[RefusingInbox]:
    async with smtp_server(RefusingInbox()) as handler:
        yield handler


@pytest.fixture
def smtp_ctx(ctx: DeliveryContext, inbox: Inbox) -> DeliveryContext:
    settings = replace(
        ctx.settings,
        email_host="127.0.0.1",
        email_port=inbox.port,
        email_use_tls=False,
        default_from_email="alerts@cronbeat.test",
    )
    return DeliveryContext(settings=settings, http=ctx.http)


def config(**fields: Any) -> Config:
    return msgspec.convert({"value": "alice@example.org", **fields}, Config, strict=True)


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    # SMTP carries CRLF line endings; compare with the text as it was written.
    return (
        plain.get_content().replace("\r\n", "\n"),
        html.get_content().replace("\r\n", "\n"),
    )


UNSUB = "http://cronbeat.test/integrations/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/unsub/tok/"


async def test_an_alert_offers_one_click_unsubscribe(
    smtp_ctx: DeliveryContext, inbox: Inbox
) -> None:
    event = replace(make_event("down", "fail"), unsubscribe_url=UNSUB)
    await notify(event, config(), smtp_ctx)

    [(_, message)] = inbox.received
    assert message["List-Unsubscribe"] == f"<{UNSUB}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts(message)
    assert text.endswith(f"\nStop these alerts (for this address only): {UNSUB}\n")
    assert f'<a href="{UNSUB}">Stop these alerts</a>' in html


async def test_an_alert_without_an_unsubscribe_link_has_no_such_headers(
    smtp_ctx: DeliveryContext, inbox: Inbox
) -> None:
    await notify(make_event("down", "fail"), config(), smtp_ctx)

    [(_, message)] = inbox.received
    assert message["List-Unsubscribe"] is None
    assert "Stop these alerts" not in parts(message)[0]


async def test_it_sends_a_down_alert_with_text_and_html_parts(
    smtp_ctx: DeliveryContext, inbox: Inbox
) -> None:
    await notify(make_event("down", "fail"), config(), smtp_ctx)

    [(recipients, message)] = inbox.received
    assert recipients == ["alice@example.org"]
    assert message["To"] == "alice@example.org"
    assert message["From"] == "alerts@cronbeat.test"
    assert message["Subject"] == "DOWN | DB Backup"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert text == (
        '"DB Backup" is DOWN\n'
        "It received a failure ping.\n"
        "Time: 2026-01-15 12:30:05 UTC\n"
        "Project: Acme\n"
        "Tags: prod db\n"
        "Period: 1 day, grace: 1 hour\n"
        "Total pings: 42\n"
        "Last ping: fail #42 at 2026-01-15 12:30:05 UTC, exit status 1"
        " from 203.0.113.9 (https POST)\n"
        "Last ping body: exit 1: disk full\n"
        "Details: http://cronbeat.test/checks/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/\n"
    )
    root = ET.fromstring(html)  # well-formed, or this raises
    assert root.findtext("head/title") == "DOWN | DB Backup"
    assert root.findtext("body/h1") == '"DB Backup" is DOWN'
    assert root.findtext("body/p") == "It received a failure ping."
    rows = {row.findtext("th"): row.findtext("td") for row in root.iterfind("body/table/tr")}
    assert rows == {
        "Time": "2026-01-15 12:30:05 UTC",
        "Project": "Acme",
        "Tags": "prod db",
        "Description": "Nightly pg_dump",
        "Period": "1 day",
        "Grace time": "1 hour",
        "Total pings": "42",
        "Last ping": "fail #42 at 2026-01-15 12:30:05 UTC, exit status 1"
        " from 203.0.113.9 (https POST)",
    }
    assert root.findtext("body/pre") == "exit 1: disk full"
    link = root.find("body/p/a")
    assert link is not None
    assert link.get("href") == ("http://cronbeat.test/checks/0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d/")
    assert link.text == "View details on Cronbeat"


async def test_it_sends_an_up_alert(smtp_ctx: DeliveryContext, inbox: Inbox) -> None:
    await notify(make_event("up", ""), config(), smtp_ctx)

    [(_, message)] = inbox.received
    assert message["Subject"] == "UP | DB Backup"
    text, html = parts(message)
    assert text.startswith('"DB Backup" is UP\nIt received a success ping.\n')
    assert '<h1 style="color: #22bb33">&quot;DB Backup&quot; is UP</h1>' in html


async def test_it_marks_a_nag_as_a_repeat_notification(
    smtp_ctx: DeliveryContext, inbox: Inbox
) -> None:
    await notify(make_event("down", "nag"), config(), smtp_ctx)

    [(_, message)] = inbox.received
    assert message["Subject"] == "DOWN | DB Backup (repeat notification)"
    text, _html = parts(message)
    assert text.startswith('"DB Backup" is DOWN (repeat notification)\nIt is still down.\n')


async def test_it_names_an_unnamed_check_by_its_uuid(
    smtp_ctx: DeliveryContext, inbox: Inbox
) -> None:
    await notify(make_event(name=""), config(), smtp_ctx)

    [(_, message)] = inbox.received
    assert message["Subject"] == "DOWN | 0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d"


async def test_it_keeps_line_breaks_out_of_the_subject(
    smtp_ctx: DeliveryContext, inbox: Inbox
) -> None:
    await notify(make_event(name="Backup\r\nBcc: eve@example.org"), config(), smtp_ctx)

    [(recipients, message)] = inbox.received
    assert recipients == ["alice@example.org"]
    assert message["Subject"] == "DOWN | Backup Bcc: eve@example.org"
    assert message["Bcc"] is None


async def test_it_escapes_everything_in_the_html_part(
    smtp_ctx: DeliveryContext, inbox: Inbox
) -> None:
    event = make_event(name="<script>alert(1)</script> & co", tags="<b>", project_name='"P"')
    event = replace(event, last_ping=replace(event.last_ping, body="</pre><img src=x>"))

    await notify(event, config(), smtp_ctx)

    [(_, message)] = inbox.received
    _text, html = parts(message)
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    root = ET.fromstring(html)
    assert root.findtext("body/h1") == '"<script>alert(1)</script> & co" is DOWN'
    assert root.findtext("body/pre") == "</pre><img src=x>"


async def test_it_shows_the_schedule_of_a_cron_check(
    smtp_ctx: DeliveryContext, inbox: Inbox
) -> None:
    event = make_event(kind="cron", schedule="0 3 * * *", tz="Europe/Riga")

    await notify(event, config(), smtp_ctx)

    [(_, message)] = inbox.received
    text, html = parts(message)
    assert "Schedule: 0 3 * * * (Europe/Riga), grace: 1 hour\n" in text
    rows = {r.findtext("th"): r.findtext("td") for r in ET.fromstring(html).iterfind(".//tr")}
    assert (rows["Schedule"], rows["Time zone"]) == ("0 3 * * *", "Europe/Riga")
    assert "Period" not in rows


async def test_it_says_never_without_a_last_ping(smtp_ctx: DeliveryContext, inbox: Inbox) -> None:
    await notify(replace(make_event(), last_ping=None), config(), smtp_ctx)

    [(_, message)] = inbox.received
    text, html = parts(message)
    assert "Last ping: never\n" in text
    assert "Last ping body" not in text
    root = ET.fromstring(html)
    assert root.find("body/pre") is None


async def test_a_refused_recipient_is_a_permanent_error(
    smtp_ctx: DeliveryContext, inbox: Inbox
) -> None:
    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(value=REFUSED), smtp_ctx)

    assert info.value.permanent is True
    assert REFUSED in info.value.message
    assert inbox.received == []


async def test_an_unreachable_server_is_a_retryable_error(
    smtp_ctx: DeliveryContext, inbox: Inbox
) -> None:
    closed = DeliveryContext(settings=replace(smtp_ctx.settings, email_port=1), http=smtp_ctx.http)

    with pytest.raises(TransportError) as info:
        await notify(make_event(), config(), closed)

    assert info.value.permanent is False
    assert info.value.message.startswith("Could not send email")


async def test_without_email_host_it_logs_instead_of_sending(
    ctx: DeliveryContext, caplog: pytest.LogCaptureFixture
) -> None:
    assert ctx.settings.email_host is None
    caplog.set_level(logging.INFO, logger="cronbeat.mail")

    await notify(make_event(), config(), ctx)

    [record] = caplog.records
    assert record.name == "cronbeat.mail"
    assert "to=alice@example.org subject=DOWN | DB Backup" in record.getMessage()
    assert '"DB Backup" is DOWN' in record.getMessage()


def test_directions_follow_the_up_and_down_flags() -> None:
    assert directions(config()) == (True, True)
    assert directions(config(up=False)) == (True, False)
    assert directions(config(down=False)) == (False, True)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "alice",
        "alice@",
        "@example.org",
        "alice@example",
        "alice@@example.org",
        "alice smith@example.org",
        "alice@example.org\r\nBcc: eve@example.org",
        "<alice@example.org>",
        "a" * 250 + "@example.org",
    ],
)
def test_config_rejects_a_bad_address_naming_the_field(value: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=r"^value: "):
        config(value=value)


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"up": "yes"}, "up"), ({"down": 0}, "down"), ({"verified": True}, "verified")],
)
def test_config_is_strict_about_types_and_fields(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        config(**fields)


def test_config_accepts_ordinary_addresses() -> None:
    assert config(value="ops+cron@mail.example.co.uk").value == "ops+cron@mail.example.co.uk"


def test_it_is_registered() -> None:
    assert registry.get("email") is INTEGRATION
    assert registry.parse_config("email", {"value": "a@example.org", "up": False}) == Config(
        value="a@example.org", up=False
    )


def test_it_accepts_a_plain_address_string_as_healthchecks_stores_it() -> None:
    assert registry.parse_config("email", "a@example.org") == Config(value="a@example.org")
    with pytest.raises(msgspec.ValidationError, match=r"^value: "):
        registry.parse_config("email", "not an address")
