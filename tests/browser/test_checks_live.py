"""The checks page in a real browser: a ping made with an HTTP client shows within a second,
without a reload; filters work through htmx."""

from __future__ import annotations

import time
from typing import Any

import httpx
from playwright.sync_api import expect

from app.db import models as m
from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.factories import Factory
from tests.ui import PASSWORD

EMAIL = "ann@example.org"
# Records (wall clock, ms) when the row with this id first says "Up".
WATCH_FOR_UP = """id => {
  new MutationObserver((_, observer) => {
    const status = document.querySelector("#" + id + " .status");
    if (status && status.textContent.trim() === "Up") {
      window.upAt = Date.now();
      observer.disconnect();
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def make_project(live_server: LiveServer) -> tuple[m.Project, list[m.Check]]:
    async def build(factory: Factory) -> tuple[m.Project, list[m.Check]]:
        owner = await factory.user(EMAIL, PASSWORD)
        project, _ = await factory.project(owner, name="Nightly jobs")
        backup = await factory.check(project, name="Backup", slug="backup", tags="prod db")
        report = await factory.check(project, name="Report", tags="staging")
        return project, [backup, report]

    return live_server.run(build)


def test_a_ping_shows_up_within_a_second_without_a_reload(
    page: Any, live_server: LiveServer
) -> None:
    project, (backup, _report) = make_project(live_server)
    sign_in(page, EMAIL, PASSWORD)
    page.goto(f"/projects/{project.code}/checks/")
    status = page.locator(f"#check-{backup.code} .status")
    expect(status).to_have_text("New")
    # The stream is open once the browser's EventSource has connected.
    page.wait_for_function(
        "document.querySelector('#checks-list')['htmx-internal-data']"
        "?.sseEventSource?.readyState === 1"
    )
    page.evaluate("window.notReloaded = true")
    page.evaluate(WATCH_FOR_UP, f"check-{backup.code}")

    pinged_at = time.time() * 1000
    assert httpx.post(f"{live_server.url}/ping/{backup.code}").status_code == 200
    expect(status).to_have_text("Up", timeout=1000)
    # Measured in the page (Playwright's own polling would add its interval to the figure).
    shown_at = page.evaluate("window.upAt")
    assert shown_at - pinged_at < 1000, f"shown {shown_at - pinged_at:.0f} ms after the ping"
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "checks-live")

    # A second change to the same (swapped) row arrives too.
    assert httpx.post(f"{live_server.url}/ping/{backup.code}/fail").status_code == 200
    expect(status).to_have_text("Down", timeout=1000)
    assert page.evaluate("window.notReloaded") is True


def test_the_tag_filter_narrows_the_list_in_place(page: Any, live_server: LiveServer) -> None:
    project, (backup, report) = make_project(live_server)
    sign_in(page, EMAIL, PASSWORD)
    page.goto(f"/projects/{project.code}/checks/")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("staging").check()
    expect(page.locator(f"#check-{backup.code}")).to_have_count(0)
    expect(page.locator(f"#check-{report.code}")).to_be_visible()
    assert "tag=staging" in page.url
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "checks-filtered")


def test_an_empty_project_shows_its_first_check_when_it_is_pinged(
    page: Any, live_server: LiveServer
) -> None:
    async def build(factory: Factory) -> tuple[m.Project, str]:
        owner = await factory.user(EMAIL, PASSWORD)
        project, keys = await factory.project(owner, name="Empty")
        return project, keys.ping_key

    project, ping_key = live_server.run(build)
    sign_in(page, EMAIL, PASSWORD)
    page.goto(f"/projects/{project.code}/checks/")
    expect(page.get_by_role("heading", name="No checks yet: send your first ping")).to_be_visible()
    screenshot(page, "checks-empty")
    page.wait_for_function(
        "document.querySelector('#checks-list')['htmx-internal-data']"
        "?.sseEventSource?.readyState === 1"
    )
    url = f"{live_server.url}/ping/{ping_key}/my-first-job?create=1"
    assert httpx.post(url).status_code == 201
    expect(page.get_by_role("cell", name="my-first-job", exact=True)).to_be_visible(timeout=2000)


def test_adding_a_check_through_the_form_opens_its_page(page: Any, live_server: LiveServer) -> None:
    project, _checks = make_project(live_server)
    sign_in(page, EMAIL, PASSWORD)
    page.goto(f"/projects/{project.code}/checks/")
    page.get_by_label("Name", exact=True).fill("Weekly report")
    page.get_by_role("button", name="Add check").click()
    page.wait_for_url(lambda url: "/checks/" in url and "/projects/" not in url)
    page.goto(f"/projects/{project.code}/checks/")
    expect(page.get_by_role("link", name="Weekly report")).to_be_visible()
