"""Accounts in a real browser: sign up, land on the first project, sign out, sign in again;
the profile's forms."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.factories import Factory
from tests.ui import PASSWORD


def test_sign_up_sign_out_and_sign_in_again(page: Any) -> None:
    page.goto("/accounts/login/")
    screenshot(page, "accounts-sign-in")
    page.get_by_role("link", name="Sign up").first.click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    page.get_by_label("Email").fill("carol@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    page.wait_for_url(re.compile(r"/projects/[0-9a-f-]{36}/checks/?$"))
    expect(page.get_by_text("Your first check is ready.")).to_be_visible()
    expect(page.get_by_text("My First Check").first).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/accounts/login/?$"))
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/accounts/profile/")
    page.wait_for_url(re.compile(r"/accounts/login"))  # no longer signed in

    sign_in(page, "carol@example.org", PASSWORD)
    page.goto("/accounts/profile/")
    expect(page.get_by_text("Signed in as carol@example.org")).to_be_visible()


def test_the_profile_saves_preferences_and_shows_errors_by_their_field(
    page: Any, live_server: LiveServer
) -> None:
    async def make_user(factory: Factory) -> None:
        user = await factory.user("dan@example.org", PASSWORD)
        await factory.project(user, "Dan's services")

    live_server.run(make_user)
    sign_in(page, "dan@example.org", PASSWORD)
    page.goto("/accounts/profile/")
    screenshot(page, "accounts-profile")

    page.get_by_label("Time zone", exact=True).select_option("Europe/Riga")
    page.get_by_label("Status reports by email").select_option("weekly")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Your preferences are saved.")).to_be_visible()
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("Europe/Riga")

    page.get_by_label("Repeat alerts for Dan's services").select_option("0")
    page.get_by_role("button", name="Save for Dan's services").click()
    expect(page.get_by_text("Repeat alerts saved for Dan's services.")).to_be_visible()
    expect(page.get_by_label("Repeat alerts for Dan's services")).to_have_value("0")

    page.get_by_label("Current password", exact=True).fill("not my password")
    page.get_by_label("New password", exact=True).fill("a brand new one")
    page.get_by_label("Repeat the new password").fill("a brand new one")
    page.get_by_role("button", name="Change password").click()
    current = page.get_by_label("Current password", exact=True)
    expect(current).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-current_password-error")).to_have_text("Incorrect password.")
    screenshot(page, "accounts-profile-error")


def test_the_profile_fits_a_phone(phone_page: Any, live_server: LiveServer) -> None:
    async def make_user(factory: Factory) -> None:
        await factory.user("erin@example.org", PASSWORD)

    live_server.run(make_user)
    sign_in(phone_page, "erin@example.org", PASSWORD)
    phone_page.goto("/accounts/profile/")
    overflow = phone_page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    screenshot(phone_page, "accounts-profile-phone")
