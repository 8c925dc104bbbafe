"""The check details page in a real browser: the ping log and its bodies, the schedule
preview as the user types, and the layout on a phone."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import insert, update

from app.db import models as m
from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.factories import Factory
from tests.ui import PASSWORD

EMAIL = "ops@example.org"


def _check_with_pings(live_server: LiveServer, count: int = 60) -> uuid.UUID:
    async def make(factory: Factory) -> uuid.UUID:
        owner = await factory.user(EMAIL, PASSWORD)
        project, _ = await factory.project(owner, name="Ops")
        check = await factory.check(
            project, name="Nightly backup", slug="nightly-backup", tags="prod db", status="up"
        )
        now = factory.clock()
        rows = [
            {
                "check_id": check.id,
                "n": n,
                "kind": "fail" if n % 10 == 0 else "success",
                "created": now - timedelta(minutes=count - n),
                "scheme": "http",
                "remote_addr": "192.0.2.7",
                "method": "POST",
                "ua": "curl/8.5.0",
                "exitstatus": 1 if n % 10 == 0 else 0,
                "body": f"backup run {n}: <done>".encode(),
                "duration": 12.5,
            }
            for n in range(1, count + 1)
        ]
        async with factory.db.engine.begin() as conn:
            await conn.execute(insert(m.Ping), rows)
            await conn.execute(
                update(m.Check).where(m.Check.id == check.id).values(n_pings=count, last_ping=now)
            )
        await factory.channel(project, kind="email", name="Ops mail")
        return check.code

    return live_server.run(make)


def test_the_ping_log_pages_and_shows_a_body(page: Any, live_server: LiveServer) -> None:
    code = _check_with_pings(live_server)
    sign_in(page, EMAIL, PASSWORD)
    page.goto(f"/checks/{code}")
    expect(page.get_by_role("heading", name="Nightly backup", level=1)).to_be_visible()
    log = page.locator("#pings")
    expect(log.locator("tbody tr")).to_have_count(50)
    expect(log.locator("tbody tr").first.locator('td[data-label="#"]')).to_have_text("60")

    log.locator("details.ping-body summary").first.click()
    body = log.locator(".ping-body-text").first
    expect(body).to_have_text("backup run 60: <done>")

    page.get_by_role("link", name="Older").click()
    expect(page.locator("#pings tbody tr")).to_have_count(10)
    expect(page.locator('#pings tbody tr td[data-label="#"]').first).to_have_text("10")
    assert f"/checks/{code}" in page.url  # swapped in place by htmx, no navigation
    page.get_by_role("link", name="Newer").click()
    expect(page.locator('#pings tbody tr td[data-label="#"]').first).to_have_text("60")
    screenshot(page, "check-details")


def test_the_schedule_preview_follows_typing(page: Any, live_server: LiveServer) -> None:
    code = _check_with_pings(live_server, count=3)
    sign_in(page, EMAIL, PASSWORD)
    page.goto(f"/checks/{code}")
    page.get_by_label("Cron").check()
    expression = page.get_by_label("Expression")
    expression.fill("61 * * * *")
    error = page.locator("#schedule-preview-error")
    expect(error).to_have_text("schedule is not a valid cron or OnCalendar expression")
    assert page.url.endswith(f"/checks/{code}")  # nothing was submitted

    expression.fill("*/15 * * * *")
    expect(page.locator("#schedule-preview ol.upcoming li")).to_have_count(5)
    expect(error).to_have_count(0)
    screenshot(page, "check-details-schedule-preview")

    page.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_text("Schedule saved.")).to_be_visible()
    expect(page.get_by_label("Expression")).to_have_value("*/15 * * * *")


def test_the_simple_fields_hide_for_a_cron_schedule(page: Any, live_server: LiveServer) -> None:
    code = _check_with_pings(live_server, count=1)
    sign_in(page, EMAIL, PASSWORD)
    page.goto(f"/checks/{code}")
    expect(page.get_by_label("Period", exact=True)).to_be_visible()
    expect(page.get_by_label("Expression")).to_be_hidden()
    page.get_by_label("OnCalendar").check()
    expect(page.get_by_label("Period", exact=True)).to_be_hidden()
    expect(page.get_by_label("Expression")).to_be_visible()


def test_the_page_fits_a_phone(phone_page: Any, live_server: LiveServer) -> None:
    code = _check_with_pings(live_server, count=5)
    sign_in(phone_page, EMAIL, PASSWORD)
    phone_page.goto(f"/checks/{code}")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    screenshot(phone_page, "check-details-phone")
