"""A read-only member in a real browser: sees the project everywhere, is offered no change,
and a hand-made POST with a valid CSRF token is still refused."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from app.db.engine import write_session
from app.domain import projects
from app.domain.permissions import Role
from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.factories import Factory
from tests.ui import CSRF_COOKIE, PASSWORD


def _post_forms(page: Any) -> list[str]:
    """The actions of the page's POST forms, apart from signing out."""
    actions: list[str] = page.eval_on_selector_all(
        "form[method=post]", "forms => forms.map(f => f.getAttribute('action'))"
    )
    return [action for action in actions if not action.startswith("/accounts/logout")]


def test_a_read_only_member_can_look_but_not_change(page: Any, live_server: LiveServer) -> None:
    async def make_team(factory: Factory) -> str:
        owner = await factory.user("owner@example.org", PASSWORD)
        reader = await factory.user("reader@example.org", PASSWORD)
        project, _ = await factory.project(owner, name="Payments")
        await factory.check(project, name="settle invoices", status="up", last_ping=factory.clock())
        await factory.check(project, name="rotate logs", status="new")
        async with write_session(factory.db) as session:
            await projects.invite_member(session, project, reader.email, Role.READONLY)
        return str(project.code)

    code = live_server.run(make_team)
    sign_in(page, "reader@example.org", PASSWORD)

    page.goto("/projects/")
    row = page.locator("table.project-list tbody tr")
    expect(row).to_have_count(1)
    expect(row.get_by_role("link", name="Payments", exact=True)).to_be_visible()
    expect(row.locator("td[data-label='Your role']")).to_have_text("Read-only")
    expect(row.locator("td[data-label='Checks']")).to_have_text("2")
    screenshot(page, "projects-list-read-only")

    row.get_by_role("link", name="Payments", exact=True).click()
    page.wait_for_url(f"**/projects/{code}/checks**")
    expect(page.get_by_text("settle invoices")).to_be_visible()
    assert _post_forms(page) == []

    page.get_by_role("link", name="Settings").click()
    page.wait_for_url(f"**/projects/{code}/settings**")
    expect(page.get_by_text("you can see its settings but not change them")).to_be_visible()
    expect(page.get_by_role("cell", name="owner@example.org")).to_be_visible()
    for name in ("Rename project", "Create new ping key", "Invite", "Delete this project…"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    assert _post_forms(page) == []
    screenshot(page, "project-settings-read-only")

    token = next(c["value"] for c in page.context.cookies() if c["name"] == CSRF_COOKIE)
    response = page.request.post(
        f"/projects/{code}/settings/name/",
        form={"_csrf_token": token, "name": "Taken over"},
        max_redirects=0,
    )
    assert response.status == 403
    assert "Your role in this project is read-only." in response.text()
    page.reload()
    expect(page.get_by_role("link", name="Payments", exact=True)).to_have_count(0)
    expect(page.locator(".breadcrumbs")).to_contain_text("Payments")


def test_the_owner_sees_every_control(page: Any, live_server: LiveServer) -> None:
    async def make_project(factory: Factory) -> str:
        owner = await factory.user("owner@example.org", PASSWORD)
        member = await factory.user("member@example.org")
        project, _ = await factory.project(owner, name="Payments")
        async with write_session(factory.db) as session:
            await projects.invite_member(session, project, member.email, Role.REGULAR)
        return str(project.code)

    code = live_server.run(make_project)
    sign_in(page, "owner@example.org", PASSWORD)
    page.goto(f"/projects/{code}/settings/")
    expect(page.get_by_role("button", name="Rename project")).to_be_visible()
    expect(page.get_by_role("button", name="Invite")).to_be_visible()
    expect(page.get_by_role("link", name="Delete this project…")).to_be_visible()
    screenshot(page, "project-settings-owner")

    page.get_by_label("Project name").fill("Payments EU")
    page.get_by_role("button", name="Rename project").click()
    expect(page.get_by_text("Project renamed to “Payments EU”.")).to_be_visible()


def test_a_new_project_shows_its_keys_once(page: Any, live_server: LiveServer) -> None:
    async def make_user(factory: Factory) -> None:
        await factory.user("owner@example.org", PASSWORD)

    live_server.run(make_user)
    sign_in(page, "owner@example.org", PASSWORD)
    page.goto("/projects/")
    expect(page.get_by_text("You have no projects yet.")).to_be_visible()
    page.get_by_role("link", name="Create your first project").click()
    page.get_by_label("Project name").fill("Billing")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="“Billing” is ready")).to_be_visible()
    api_key = page.get_by_label("API key (read-write)").input_value()
    assert api_key.startswith("hcw_") and len(api_key) == 32
    expect(page.get_by_role("button", name="Copy API key (read-write)")).to_be_visible()
    screenshot(page, "project-created-keys")
    page.reload()
    expect(page.get_by_text("were shown once")).to_be_visible()
    expect(page.get_by_label("API key (read-write)")).to_have_count(0)


def test_the_settings_page_fits_a_phone(phone_page: Any, live_server: LiveServer) -> None:
    async def make_project(factory: Factory) -> str:
        owner = await factory.user("owner@example.org", PASSWORD)
        member = await factory.user("member-with-a-long-address@example.org")
        project, _ = await factory.project(owner, name="Payments")
        async with write_session(factory.db) as session:
            await projects.invite_member(session, project, member.email, Role.MANAGER)
        return str(project.code)

    code = live_server.run(make_project)
    sign_in(phone_page, "owner@example.org", PASSWORD)
    phone_page.goto(f"/projects/{code}/settings/")
    expect(phone_page.get_by_role("button", name="Invite")).to_be_visible()
    overflow = phone_page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    assert overflow is False
    screenshot(phone_page, "project-settings-phone")
