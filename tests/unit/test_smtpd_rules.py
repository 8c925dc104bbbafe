"""Email ping rules that need no server: which mailbox an address names, which text is filtered."""

from __future__ import annotations

import email
import email.policy
import uuid
from email.message import EmailMessage

import pytest

from app.smtpd import (
    INVALID_MAILBOX,
    RECIPIENT_REJECTED,
    KeywordFilters,
    Mailbox,
    RecipientRefused,
    email_action,
    html_to_text,
    message_text,
    parse_recipient,
)

DOMAIN = "hc.example.org"
CODE = uuid.UUID("0b1e4b6a-3f7e-4c51-9a57-2f1b0c9e8d7a")
PING_KEY = "abcdefghij0123456789kl"


def refusal(address: str) -> str:
    with pytest.raises(RecipientRefused) as refused:
        parse_recipient(address, DOMAIN)
    return refused.value.reply


class TestRecipients:
    def test_a_uuid_mailbox_names_the_check_with_that_code(self) -> None:
        assert parse_recipient(f"{CODE}@{DOMAIN}", DOMAIN) == Mailbox(code=CODE)

    def test_the_uuid_and_the_domain_are_case_insensitive(self) -> None:
        address = f"{str(CODE).upper()}@{DOMAIN.upper()}"
        assert parse_recipient(address, DOMAIN) == Mailbox(code=CODE)

    def test_a_uuid_of_any_version_is_accepted(self) -> None:
        v1 = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
        assert parse_recipient(f"{v1}@{DOMAIN}", DOMAIN) == Mailbox(code=v1)

    def test_a_plus_tag_after_the_uuid_is_ignored(self) -> None:
        assert parse_recipient(f"{CODE}+nightly.backup@{DOMAIN}", DOMAIN) == Mailbox(code=CODE)

    def test_a_ping_key_plus_slug_mailbox_names_a_check_by_slug(self) -> None:
        assert parse_recipient(f"{PING_KEY}+db-backup_2@{DOMAIN}", DOMAIN) == Mailbox(
            ping_key=PING_KEY, slug="db-backup_2"
        )

    @pytest.mark.parametrize(
        "address",
        [f"{CODE}@example.org", f"{CODE}@sub.{DOMAIN}", str(CODE), f"{CODE}@{DOMAIN}.evil"],
    )
    def test_another_domain_is_rejected(self, address: str) -> None:
        assert refusal(address) == RECIPIENT_REJECTED

    @pytest.mark.parametrize(
        "local",
        [
            "",
            "hello",
            str(CODE)[:-1],
            str(CODE) + "x",
            str(CODE).replace("-", ""),
            PING_KEY,
            f"{PING_KEY}+",
            f"{PING_KEY}+Upper",
            f"{PING_KEY}+with.dot",
            f"{PING_KEY[:-1]}+slug",
            f"{PING_KEY.upper()}+slug",
            f'"{CODE}"',
        ],
    )
    def test_a_malformed_local_part_is_an_invalid_mailbox(self, local: str) -> None:
        assert refusal(f"{local}@{DOMAIN}") == INVALID_MAILBOX


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


PLAIN = b"Subject: Backup OK\r\nFrom: cron@example.org\r\n\r\nall 12 files copied\r\n"
HTML_ONLY = (
    b"Subject: Report\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    b"<html><head><style>p { color: red }</style></head>"
    b"<body><p>Status: <b>FAIL</b>ED &amp; retried</p><script>var ok = 1;</script></body></html>"
    b"\r\n"
)
ALTERNATIVE = (
    b"Subject: =?utf-8?q?Sauvegarde_r=C3=A9ussie?=\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain words\r\n"
    b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html&nbsp;words</p>\r\n"
    b"--b--\r\n"
)


class TestMessageText:
    def test_html_loses_its_tags_scripts_and_styles_and_its_entities_are_unescaped(self) -> None:
        text = html_to_text("<style>x{}</style><p>a &lt;b&gt; &amp; c</p><script>1</script>")
        assert text.strip() == "a <b> & c"

    def test_html_blocks_are_separated_so_their_words_do_not_run_together(self) -> None:
        assert html_to_text("<p>ok</p><p>done</p>").split() == ["ok", "done"]

    def test_only_the_subject_is_searched_when_only_the_subject_is_filtered(self) -> None:
        assert message_text(parse(PLAIN), subject=True, body=False).strip() == "Backup OK"

    def test_only_the_body_is_searched_when_only_the_body_is_filtered(self) -> None:
        text = message_text(parse(PLAIN), subject=False, body=True)
        assert "all 12 files copied" in text
        assert "Backup OK" not in text

    def test_an_encoded_subject_is_decoded(self) -> None:
        assert "Sauvegarde réussie" in message_text(parse(ALTERNATIVE), subject=True, body=False)

    def test_both_the_plain_and_the_html_alternative_are_searched(self) -> None:
        text = message_text(parse(ALTERNATIVE), subject=False, body=True)
        assert "plain words" in text
        assert "html\xa0words" in text

    def test_an_html_only_body_is_searched_as_text(self) -> None:
        text = message_text(parse(HTML_ONLY), subject=False, body=True)
        assert "Status: FAILED & retried" in text
        assert "color" not in text
        assert "var ok" not in text

    def test_an_unknown_charset_does_not_stop_the_ping(self) -> None:
        raw = b"Subject: x\r\nContent-Type: text/plain; charset=klingon\r\n\r\nFAIL\r\n"
        assert "FAIL" in message_text(parse(raw), subject=False, body=True)


class TestAction:
    def test_an_email_is_a_success_when_the_check_has_no_filters(self) -> None:
        assert email_action(HTML_ONLY, KeywordFilters(failure_kw="FAIL")) == "success"

    @pytest.mark.parametrize(
        ("filters", "action"),
        [
            (KeywordFilters(subject=True, failure_kw="OK"), "fail"),
            (KeywordFilters(subject=True, success_kw="Backup"), "success"),
            (KeywordFilters(subject=True, start_kw="Backup,Other"), "start"),
            (KeywordFilters(subject=True, success_kw="copied"), "ign"),
            (KeywordFilters(subject=True, success_kw="copied", default_fail=True), "fail"),
            (KeywordFilters(body=True, success_kw="copied"), "success"),
        ],
    )
    def test_keywords_in_the_filtered_text_decide_the_action(
        self, filters: KeywordFilters, action: str
    ) -> None:
        assert email_action(PLAIN, filters) == action

    def test_keywords_are_case_sensitive(self) -> None:
        assert email_action(PLAIN, KeywordFilters(subject=True, failure_kw="backup")) == "ign"
