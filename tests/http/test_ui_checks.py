"""The checks page: list, statuses, filters, sort, empty states, and adding a check."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from app import live
from app.db import models as m
from app.db.engine import Database
from app.domain.accounts import ProjectKeys
from tests.conftest import FakeClock
from tests.factories import Factory
from tests.ui import PASSWORD, post_form, sign_in

OWNER = "owner@example.org"


@pytest.fixture
async def owned(factory: Factory, client: httpx.AsyncClient) -> tuple[m.Project, ProjectKeys]:
    """A project whose owner is signed in on ``client``."""
    owner = await factory.user(OWNER, PASSWORD)
    project, keys = await factory.project(owner, name="Backups")
    await sign_in(client, OWNER)
    return project, keys


async def add_member(db: Database, project: m.Project, user: m.User, role: str) -> None:
    async with db.sessionmaker() as session, session.begin():
        session.add(m.Member(project_id=project.id, user_id=user.id, role=role))


def page_url(project: m.Project) -> str:
    return f"/projects/{project.code}/checks/"


def row_ids(html: str) -> list[str]:
    """The check uuids of the rows, in page order."""
    return re.findall(r'<tr id="check-([0-9a-f-]{36})"', html)


def row_html(html: str, check: m.Check) -> str:
    match = re.search(rf'<tr id="check-{check.code}".*?</tr>', html, re.S)
    assert match, f"no row for {check.code}"
    return match.group(0)


# --- the list ------------------------------------------------------------------------------------


async def test_it_lists_every_check_with_its_details(
    client: httpx.AsyncClient, factory: Factory, owned: tuple[m.Project, ProjectKeys]
) -> None:
    project, keys = owned
    now = factory.clock()
    nightly = await factory.check(
        project,
        name="Nightly backup",
        slug="nightly-backup",
        tags="prod db",
        status="up",
        last_ping=now - timedelta(minutes=5),
        timeout=86400,
        grace=3600,
    )
    cron = await factory.check(
        project, name="Cron job", kind="cron", schedule="*/5 * * * *", tz="Europe/Riga"
    )
    response = await client.get(page_url(project))
    assert response.status_code == 200
    html = response.text
    assert row_ids(html) == [str(nightly.code), str(cron.code)]
    row = row_html(html, nightly)
    assert 'sse-swap="check-' + str(nightly.code) + '"' in row
    assert "status-up" in row and ">Up</span>" in row
    assert f'href="/checks/{nightly.code}/"' in row
    assert 'href="/projects/' + str(project.code) + '/checks/?tag=prod"' in row
    assert f"http://testserver.local/ping/{keys.ping_key}/nightly-backup" in row
    assert "every 1 day, grace 1 hour" in row
    assert "5 minutes ago" in row and 'datetime="2026-01-15T11:55:00+00:00"' in row
    cron_row = row_html(html, cron)
    assert f"http://testserver.local/ping/{cron.code}" in cron_row
    assert "<code>*/5 * * * *</code> (Europe/Riga), grace 1 hour" in cron_row
    assert ">New</span>" in cron_row and "never" in cron_row
    assert f'sse-connect="/projects/{project.code}/checks/events"' in html
    assert 'data-label="Last ping"' in html


@pytest.mark.parametrize(
    ("fields", "minutes_ago", "label"),
    [
        ({"status": "up"}, 5, "Up"),
        ({"status": "up"}, 24 * 60 + 5, "Late"),
        ({"status": "up"}, 26 * 60, "Down"),
        ({"status": "down"}, 5, "Down"),
        ({"status": "paused"}, 5, "Paused"),
        ({"status": "new"}, None, "New"),
    ],
)
async def test_it_shows_the_displayed_status(
    client: httpx.AsyncClient,
    factory: Factory,
    owned: tuple[m.Project, ProjectKeys],
    fields: dict[str, str],
    minutes_ago: int | None,
    label: str,
) -> None:
    project, _ = owned
    last_ping = None if minutes_ago is None else factory.clock() - timedelta(minutes=minutes_ago)
    check = await factory.check(project, name="x", last_ping=last_ping, **fields)
    html = (await client.get(page_url(project))).text
    assert f">{label}</span>" in row_html(html, check)


async def test_a_started_check_shows_as_running(
    client: httpx.AsyncClient, factory: Factory, owned: tuple[m.Project, ProjectKeys]
) -> None:
    project, _ = owned
    check = await factory.check(
        project, status="up", last_ping=factory.clock(), last_start=factory.clock()
    )
    html = (await client.get(page_url(project))).text
    assert ">Running</span>" in row_html(html, check)


# --- filters and sorting -------------------------------------------------------------------------


@pytest.fixture
async def three(
    factory: Factory, owned: tuple[m.Project, ProjectKeys], clock: FakeClock
) -> dict[str, m.Check]:
    project, _ = owned
    now = clock()
    alpha = await factory.check(
        project,
        name="alpha",
        tags="prod web",
        status="up",
        last_ping=now - timedelta(hours=1),
        created=now - timedelta(days=3),
    )
    beta = await factory.check(
        project,
        name="Beta",
        slug="beta-job",
        tags="prod",
        desc="Sends the INVOICES",
        status="down",
        last_ping=now - timedelta(days=2),
        created=now - timedelta(days=2),
    )
    gamma = await factory.check(project, name="gamma", tags="staging", created=now)
    return {"alpha": alpha, "beta": beta, "gamma": gamma}


async def listed(client: httpx.AsyncClient, project: m.Project, query: str) -> list[str]:
    response = await client.get(page_url(project) + query)
    assert response.status_code == 200, response.text
    return row_ids(response.text)


def codes(checks: dict[str, m.Check], *names: str) -> list[str]:
    return [str(checks[name].code) for name in names]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["alpha", "beta", "gamma"]),
        ("?q=ALPHA", ["alpha"]),
        ("?q=invoices", ["beta"]),  # description, any case
        ("?q=beta-j", ["beta"]),  # slug
        ("?q=staging", ["gamma"]),  # tags
        ("?tag=prod", ["alpha", "beta"]),
        ("?tag=prod&tag=web", ["alpha"]),  # every tag must match
        ("?tag=pro", []),  # whole tags only
        ("?status=down", ["beta"]),
        ("?status=down&status=new", ["beta", "gamma"]),
        ("?status=up&tag=prod", ["alpha"]),
        ("?sort=name", ["alpha", "beta", "gamma"]),  # case-insensitive
        ("?sort=-name", ["gamma", "beta", "alpha"]),
        ("?sort=-created", ["gamma", "beta", "alpha"]),
        ("?sort=status", ["beta", "alpha", "gamma"]),  # most urgent first
        ("?sort=-last_ping", ["alpha", "beta", "gamma"]),  # never pinged last
        ("?sort=last_ping", ["gamma", "beta", "alpha"]),
    ],
)
async def test_it_filters_and_sorts(
    client: httpx.AsyncClient,
    owned: tuple[m.Project, ProjectKeys],
    three: dict[str, m.Check],
    query: str,
    expected: list[str],
) -> None:
    project, _ = owned
    assert await listed(client, project, query) == codes(three, *expected)


async def test_column_headers_link_to_the_other_order_and_say_the_current_one(
    client: httpx.AsyncClient, owned: tuple[m.Project, ProjectKeys], three: dict[str, m.Check]
) -> None:
    project, _ = owned
    html = (await client.get(page_url(project) + "?sort=name&tag=prod")).text
    name_header = re.search(r'<th scope="col" aria-sort="ascending"><a href="([^"]+)"', html)
    assert name_header is not None
    assert name_header.group(1) == f"/projects/{project.code}/checks/?tag=prod&amp;sort=-name"
    assert html.count('aria-sort="none"') == 2


async def test_no_match_says_so_and_offers_to_clear_the_filters(
    client: httpx.AsyncClient, owned: tuple[m.Project, ProjectKeys], three: dict[str, m.Check]
) -> None:
    project, _ = owned
    html = (await client.get(page_url(project) + "?q=nothing-like-this")).text
    assert "No checks match these filters." in html
    assert f'<a href="/projects/{project.code}/checks/">Clear filters</a>' in html
    assert "0 of 3 checks match" in html


async def test_htmx_requests_get_only_the_list(
    client: httpx.AsyncClient, owned: tuple[m.Project, ProjectKeys], three: dict[str, m.Check]
) -> None:
    project, _ = owned
    response = await client.get(page_url(project) + "?tag=prod", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="checks-list"')
    assert "<html" not in response.text
    assert f'sse-connect="/projects/{project.code}/checks/events?tag=prod"' in response.text
    assert row_ids(response.text) == codes(three, "alpha", "beta")


@pytest.mark.parametrize(
    ("query", "message"),
    [("?status=sleeping", "unknown status: sleeping"), ("?sort=size", "unknown sort order: size")],
)
async def test_bad_filters_answer_400_with_the_reason(
    client: httpx.AsyncClient, owned: tuple[m.Project, ProjectKeys], query: str, message: str
) -> None:
    project, _ = owned
    response = await client.get(page_url(project) + query)
    assert response.status_code == 400
    assert message in response.text


# --- empty project -------------------------------------------------------------------------------


async def test_an_empty_project_teaches_the_first_ping(
    client: httpx.AsyncClient, owned: tuple[m.Project, ProjectKeys]
) -> None:
    project, keys = owned
    html = (await client.get(page_url(project))).text
    assert "No checks yet" in html
    first = f"http://testserver.local/ping/{keys.ping_key}/my-first-job"
    assert f"curl -fsS -m 10 --retry 5 {first}?create=1" in html
    assert "0 3 * * * /usr/local/bin/backup.sh &amp;&amp; curl" in html
    assert 'hx-trigger="sse:checks-changed"' in html
    assert f'action="/projects/{project.code}/checks/add/"' in html
    assert 'role="search"' not in html  # nothing to filter yet


# --- access --------------------------------------------------------------------------------------


async def test_anonymous_visitors_are_sent_to_sign_in(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    project, _ = await factory.project()
    response = await client.get(page_url(project))
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/accounts/login")
    assert f"next=/projects/{project.code}/checks" in location


async def test_strangers_get_404(client: httpx.AsyncClient, factory: Factory) -> None:
    project, _ = await factory.project()
    await factory.user("stranger@example.org", PASSWORD)
    await sign_in(client, "stranger@example.org")
    assert (await client.get(page_url(project))).status_code == 404
    added = await post_form(client, page_url(project) + "add/", {"name": "x"})
    assert added.status_code == 404


async def test_read_only_members_see_the_checks_but_cannot_add(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    project, _ = await factory.project()
    check = await factory.check(project, name="visible")
    reader = await factory.user("reader@example.org", PASSWORD)
    await add_member(db, project, reader, "readonly")
    await sign_in(client, "reader@example.org")
    html = (await client.get(page_url(project))).text
    assert row_ids(html) == [str(check.code)]
    assert "Add check" not in html
    response = await post_form(client, page_url(project) + "add/", {"name": "sneaky"})
    assert response.status_code == 403
    assert "Your role in this project is read-only." in response.text
    async with db.sessionmaker() as session:
        names = (await session.scalars(select(m.Check.name))).all()
    assert names == ["visible"]


# --- adding a check ------------------------------------------------------------------------------


async def project_checks(db: Database, project: m.Project) -> list[m.Check]:
    async with db.sessionmaker() as session:
        found = await session.scalars(select(m.Check).where(m.Check.project_id == project.id))
        return list(found.all())


async def test_adding_a_check_goes_to_its_page_and_tells_open_dashboards(
    client: httpx.AsyncClient, db: Database, owned: tuple[m.Project, ProjectKeys]
) -> None:
    project, _ = owned
    async with live.hub.subscribe() as inbox:
        response = await post_form(client, page_url(project) + "add/", {"name": "Nightly Backup"})
        published = await inbox.next(0)
    [check] = await project_checks(db, project)
    assert response.status_code == 303
    assert response.headers["location"] == f"/checks/{check.code}/"
    assert (check.name, check.slug, check.status) == ("Nightly Backup", "nightly-backup", "new")
    assert published == {check.id}


async def test_an_explicit_slug_is_kept(
    client: httpx.AsyncClient, db: Database, owned: tuple[m.Project, ProjectKeys]
) -> None:
    project, _ = owned
    await post_form(client, page_url(project) + "add/", {"name": "Job", "slug": "my_job-2"})
    [check] = await project_checks(db, project)
    assert check.slug == "my_job-2"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "  "}, "name", "Give the check a name."),
        (
            {"name": "Job", "slug": "Not A Slug"},
            "slug",
            "Use only lowercase letters (a-z), digits, hyphens and underscores.",
        ),
        ({"name": "x" * 101}, "name", "name is too long"),
    ],
)
async def test_invalid_input_is_shown_next_to_the_field(
    client: httpx.AsyncClient,
    db: Database,
    owned: tuple[m.Project, ProjectKeys],
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    project, _ = owned
    response = await post_form(client, page_url(project) + "add/", data)
    assert response.status_code == 400
    assert f'<p class="error" id="f-{field}-error">{message}</p>' in response.text
    assert f'aria-describedby="f-{field}-error' in response.text
    assert await project_checks(db, project) == []


async def test_the_check_limit_is_respected(
    client: httpx.AsyncClient, factory: Factory, db: Database, owned: tuple[m.Project, ProjectKeys]
) -> None:
    project, _ = owned
    await factory.check(project, name="only one allowed")
    async with db.sessionmaker() as session, session.begin():
        profile = await session.scalar(
            select(m.Profile).where(m.Profile.user_id == project.owner_id)
        )
        assert profile is not None
        profile.check_limit = 1
    response = await post_form(client, page_url(project) + "add/", {"name": "second"})
    assert response.status_code == 400
    assert "This account has reached its check limit" in response.text
    assert len(await project_checks(db, project)) == 1
