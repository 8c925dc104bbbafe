"""The dashboard as a new user meets it (issue 5, "done means"): sign up, create a project and
a check, ping it from a terminal, watch it turn up live, pause it, read its ping log — then
the same pages on a phone."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.factories import Factory
from tests.ui import PASSWORD

EMAIL = "new.user@example.org"
SSE_OPEN = (
    "document.querySelector('[sse-connect]')['htmx-internal-data']"
    "?.sseEventSource?.readyState === 1"
)


def test_a_new_user_watches_their_first_check_go_live(page: Any, live_server: LiveServer) -> None:
    # Sign up: lands in a first project.
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/projects/[0-9a-f-]+/checks/$"))

    # A project of their own, its keys shown once.
    page.get_by_role("link", name="Projects").first.click()
    page.get_by_role("link", name="New project").click()
    page.get_by_label("Project name").fill("Nightly jobs")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="“Nightly jobs” is ready")).to_be_visible()
    page.get_by_role("link", name="Go to the project's checks").click()

    # A check, through the form.
    page.get_by_label("Name", exact=True).fill("Database backup")
    page.get_by_role("button", name="Add check").click()
    details_url = page.url
    assert "/checks/" in details_url
    check_code = details_url.rstrip("/").rsplit("/", 1)[1]

    # The checks page, live: a ping from "a terminal" turns the row Up without a reload.
    page.get_by_role("link", name="Checks", exact=True).click()
    row = page.locator(f"#check-{check_code}")
    expect(row.locator(".status")).to_have_text("New")
    page.wait_for_function(SSE_OPEN)
    page.evaluate("window.notReloaded = true")
    assert httpx.get(f"{live_server.url}/ping/{check_code}").text == "OK"
    expect(row.locator(".status")).to_have_text("Up", timeout=1000)
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "journey-checks-up")

    # Pause it on its details page, and see it paused there and in the list.
    row.get_by_role("link", name="Database backup").click()
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("h1 + * .status, .check-header .status").first).to_have_text("Paused")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()

    # The ping it received is in the log.
    log = page.locator("#pings")
    expect(log.locator("tbody tr")).to_have_count(1)
    expect(log.locator("tbody tr").first).to_contain_text("success")
    expect(log.locator("tbody tr").first).to_contain_text("GET")
    screenshot(page, "journey-check-details")

    page.get_by_role("link", name="Checks", exact=True).click()
    expect(page.locator(f"#check-{check_code} .status")).to_have_text("Paused")


def test_the_main_pages_fit_a_phone_screen(phone_page: Any, live_server: LiveServer) -> None:
    async def build(factory: Factory) -> tuple[str, str, str]:
        owner = await factory.user(EMAIL, PASSWORD)
        project, _ = await factory.project(owner, name="Nightly jobs")
        check = await factory.check(project, name="Database backup", tags="prod db")
        return str(project.code), str(check.code), owner.email

    project_code, check_code, email = live_server.run(build)
    sign_in(phone_page, email, PASSWORD)
    pages = {
        "projects": "/projects/",
        "checks": f"/projects/{project_code}/checks/",
        "check-details": f"/checks/{check_code}/",
        "integrations": f"/projects/{project_code}/integrations/",
        "project-settings": f"/projects/{project_code}/settings/",
        "profile": "/accounts/profile/",
    }
    for name, path in pages.items():
        phone_page.goto(path)
        # Nothing wider than the screen: no sideways scrolling to reach a control.
        overflow = phone_page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} is {overflow}px wider than a phone screen"
        screenshot(phone_page, f"phone-{name}")
