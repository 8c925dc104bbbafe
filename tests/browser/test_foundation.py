"""The layout every page shares, in a real browser: assets load, sign-in works, focus shows."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, screenshot
from tests.factories import Factory
from tests.ui import PASSWORD


def test_the_vendored_scripts_load_without_a_cdn(page: Any) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto("/accounts/login/")
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("htmx.version").startswith("2.")
    assert all(url.startswith(page.url.split("/accounts")[0]) for url in requests)


def test_a_wrong_password_is_told_on_the_form(page: Any, live_server: LiveServer) -> None:
    async def make_user(factory: Factory) -> None:
        await factory.user("ann@example.org", PASSWORD)

    live_server.run(make_user)
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("ann@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")
    screenshot(page, "sign-in-error")


def test_keyboard_users_can_skip_to_the_content(page: Any) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"
