"""The integrations page in a real browser: add a webhook, send it a test, see the result."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from pytest_httpserver import HTTPServer

from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.factories import Factory
from tests.ui import PASSWORD


def test_add_a_webhook_and_send_it_a_test(
    page: Any, live_server: LiveServer, httpserver: HTTPServer
) -> None:
    async def make_project(factory: Factory) -> str:
        user = await factory.user("ann@example.org", PASSWORD)
        project, _ = await factory.project(user, name="Acme")
        await factory.check(project, name="nightly backup")
        return str(project.code)

    code = live_server.run(make_project)
    httpserver.expect_request("/hook/down", method="POST").respond_with_data("OK")
    sign_in(page, "ann@example.org", PASSWORD)

    page.goto(f"/projects/{code}/integrations/")
    expect(page.get_by_text("has no integrations yet")).to_be_visible()
    page.get_by_role("link", name="Webhook", exact=True).click()
    down = page.get_by_role("group", name="When a check goes down")
    down.get_by_label("URL").fill(httpserver.url_for("/hook/$STATUS"))
    down.get_by_label("Method").select_option("POST")
    down.get_by_label("Request body").fill("$NAME is $STATUS")
    page.get_by_label("Name (optional)").fill("My hook")
    screenshot(page, "integrations-webhook-form")
    page.get_by_role("button", name="Add integration").click()

    expect(page.get_by_text("Webhook integration added.")).to_be_visible()
    row = page.locator("table.integrations tbody tr")
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").nth(2)).to_have_text("1")  # used by the one check

    row.get_by_role("button", name="Send test").click()
    expect(page.get_by_text("Test notification sent.")).to_be_visible()
    result = page.locator("table.integrations tbody tr").get_by_text("OK", exact=True)
    expect(result).to_be_visible()
    screenshot(page, "integrations-list")
    assert len(httpserver.log) == 1
    assert httpserver.log[0][0].get_data(as_text=True).endswith("is down")


def test_a_wrong_url_is_told_next_to_the_field(page: Any, live_server: LiveServer) -> None:
    async def make_project(factory: Factory) -> str:
        user = await factory.user("ann@example.org", PASSWORD)
        project, _ = await factory.project(user, name="Acme")
        return str(project.code)

    code = live_server.run(make_project)
    sign_in(page, "ann@example.org", PASSWORD)
    page.goto(f"/projects/{code}/integrations/add/slack/")
    url = page.get_by_label("Slack incoming webhook URL")
    url.fill("ftp://example.org/")
    page.get_by_role("button", name="Add integration").click()
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_have_accessible_description("must be an http:// or https:// URL with a host")
