"""The check details page: what it shows, what it changes, and who may do either."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert, select, update

from app import live
from app.db import models as m
from tests.conftest import FakeClock
from tests.factories import Factory
from tests.ui import PASSWORD, post_form, recorded_statements, sign_in

OWNER = "owner@example.org"


@dataclass
class Setup:
    project: m.Project
    check: m.Check
    url: str


async def _member(factory: Factory, project: m.Project, email: str, role: str) -> m.User:
    user = await factory.user(email, PASSWORD)
    async with factory.db.engine.begin() as conn:
        await conn.execute(
            insert(m.Member).values(project_id=project.id, user_id=user.id, role=role)
        )
    return user


async def _add_pings(factory: Factory, check: m.Check, count: int, **fields: Any) -> None:
    """``count`` success pings numbered 1..count, one minute apart; n_pings = count."""
    start = factory.clock() - timedelta(minutes=count)
    rows = [
        {
            "check_id": check.id,
            "n": n,
            "kind": "success",
            "created": start + timedelta(minutes=n),
            "scheme": "http",
            "remote_addr": "10.0.0.1",
            "method": "GET",
            "ua": "curl/8",
            **fields,
        }
        for n in range(1, count + 1)
    ]
    async with factory.db.engine.begin() as conn:
        if rows:
            await conn.execute(insert(m.Ping), rows)
        await conn.execute(update(m.Check).where(m.Check.id == check.id).values(n_pings=count))


@pytest.fixture
async def setup(factory: Factory, client: httpx.AsyncClient) -> Setup:
    owner = await factory.user(OWNER, PASSWORD)
    project, _ = await factory.project(owner, name="Ops")
    check = await factory.check(
        project, name="Nightly backup", slug="nightly-backup", tags="prod db", desc="Runs at 2"
    )
    return Setup(project, check, f"/checks/{check.code}")


# --- viewing ---------------------------------------------------------------------------------


async def test_it_shows_the_check(client: httpx.AsyncClient, setup: Setup) -> None:
    await sign_in(client, OWNER)
    response = await client.get(setup.url)
    assert response.status_code == 200
    html = response.text
    assert "<h1>Nightly backup</h1>" in html
    assert 'class="status status-new"' in html
    assert "http://testserver.local/ping/" + str(setup.check.code) in html
    assert 'data-copy="#ping-url"' in html
    assert '<span class="tag">prod</span>' in html
    assert 'aria-current="page">Checks</a>' in html


async def test_it_shows_the_slug_url_with_the_projects_ping_key(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    await sign_in(client, OWNER)
    html = (await client.get(setup.url)).text
    assert f"/ping/{setup.project.ping_key}/nightly-backup</code>" in html


async def test_it_shows_examples_for_every_tool(client: httpx.AsyncClient, setup: Setup) -> None:
    await sign_in(client, OWNER)
    html = (await client.get(setup.url)).text
    ping_url = f"http://testserver.local/ping/{setup.check.code}"
    assert (
        f"0 * * * * /path/to/job.sh &amp;&amp; curl -fsS -m 10 --retry 5 -o /dev/null {ping_url}"
        in html
    )
    assert f"wget {ping_url} -T 10 -t 5 -O /dev/null" in html
    assert f'urllib.request.urlopen("{ping_url}", timeout=10)' in html
    assert f"Invoke-RestMethod {ping_url}" in html
    assert "ExecStopPost=" in html and f"{ping_url}/fail" in html
    assert f"{ping_url}/start" in html
    assert f"{setup.check.code}@localhost" in html


async def test_the_crontab_example_uses_a_cron_checks_schedule(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    check = await factory.check(setup.project, kind="cron", schedule="15 2 * * *")
    await sign_in(client, OWNER)
    html = (await client.get(f"/checks/{check.code}")).text
    assert "15 2 * * * /path/to/job.sh" in html


async def test_unknown_check_is_404(client: httpx.AsyncClient, setup: Setup) -> None:
    await sign_in(client, OWNER)
    response = await client.get(f"/checks/{uuid.uuid4()}")
    assert response.status_code == 404


async def test_anonymous_is_sent_to_sign_in(client: httpx.AsyncClient, setup: Setup) -> None:
    response = await client.get(setup.url)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/accounts/login?next=")


async def test_a_stranger_gets_404(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await factory.user("stranger@example.org", PASSWORD)
    await sign_in(client, "stranger@example.org")
    assert (await client.get(setup.url)).status_code == 404
    response = await post_form(client, f"{setup.url}/pause")
    assert response.status_code == 404


async def test_the_project_and_role_come_with_one_query_from_the_checks_code(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await _member(factory, setup.project, "ro@example.org", "readonly")
    await sign_in(client, "ro@example.org")
    with recorded_statements(factory.db) as statements:
        assert (await client.get(setup.url)).status_code == 200
        assert (await post_form(client, f"{setup.url}/pause")).status_code == 403
    # The page's own queries name the check by id; only the access query reads projects.
    lookups = [s for s in statements if "projects" in s]
    assert len(lookups) == 2, lookups  # one per request
    assert all("checks.code" in s and "members" in s for s in lookups), lookups


async def test_read_only_members_see_everything_but_no_write_controls(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await _member(factory, setup.project, "ro@example.org", "readonly")
    await _add_pings(factory, setup.check, 1, body=b"hello")
    await sign_in(client, "ro@example.org")
    response = await client.get(setup.url)
    assert response.status_code == 200
    html = response.text
    assert "Nightly backup" in html
    assert 'action="' + setup.url + '"' not in html
    assert 'name="kind"' not in html
    assert "/pause" not in html
    assert "/delete" not in html
    body = await client.get(f"{setup.url}/pings/1/body")
    assert body.status_code == 200
    assert "hello" in body.text


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("", {"name": "x"}),
        ("schedule", {"kind": "simple", "timeout": "1", "timeout_unit": "hours"}),
        ("pause", {}),
        ("resume", {}),
        ("delete", {}),
        ("channels", {}),
    ],
)
async def test_read_only_members_cannot_write(
    client: httpx.AsyncClient, setup: Setup, factory: Factory, path: str, data: dict[str, str]
) -> None:
    await _member(factory, setup.project, "ro@example.org", "readonly")
    await sign_in(client, "ro@example.org")
    response = await post_form(client, f"{setup.url}/{path}".rstrip("/"), data)
    assert response.status_code == 403
    assert "Your role in this project is read-only." in response.text
    check = await factory.reload(setup.check)
    assert (check.name, check.status) == ("Nightly backup", "new")


async def test_read_only_members_cannot_open_the_delete_page(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await _member(factory, setup.project, "ro@example.org", "readonly")
    await sign_in(client, "ro@example.org")
    assert (await client.get(f"{setup.url}/delete")).status_code == 403


async def test_regular_members_can_write(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await _member(factory, setup.project, "member@example.org", "regular")
    await sign_in(client, "member@example.org")
    response = await post_form(client, f"{setup.url}/pause")
    assert response.status_code == 303
    assert (await factory.reload(setup.check)).status == "paused"


# --- editing ---------------------------------------------------------------------------------


async def test_it_saves_name_slug_tags_and_description(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await sign_in(client, OWNER)
    response = await post_form(
        client,
        setup.url,
        {"name": "Backups", "slug": "backups", "tags": "  a   b ", "desc": "line 1\r\nline 2"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == setup.url
    check = await factory.reload(setup.check)
    assert (check.name, check.slug, check.tags, check.desc) == (
        "Backups",
        "backups",
        "a b",
        "line 1\nline 2",
    )
    page = await client.get(setup.url)
    assert "Check saved." in page.text


async def test_a_bad_slug_is_shown_next_to_the_field(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await sign_in(client, OWNER)
    response = await post_form(
        client, setup.url, {"name": "Backups", "slug": "Not OK", "tags": "", "desc": ""}
    )
    assert response.status_code == 400
    assert '<p class="error" id="f-slug-error">slug does not match pattern</p>' in response.text
    assert 'aria-describedby="f-slug-error f-slug-help"' in response.text
    assert 'value="Not OK"' in response.text
    assert (await factory.reload(setup.check)).name == "Nightly backup"


async def test_a_long_name_is_refused(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await sign_in(client, OWNER)
    response = await post_form(client, setup.url, {"name": "x" * 101, "slug": ""})
    assert response.status_code == 400
    assert '<p class="error" id="f-name-error">name is too long</p>' in response.text


async def test_a_shared_slug_is_saved_with_a_warning(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await factory.check(setup.project, name="Other", slug="shared")
    await sign_in(client, OWNER)
    response = await post_form(client, setup.url, {"name": "N", "slug": "shared"})
    assert response.status_code == 303
    assert (await factory.reload(setup.check)).slug == "shared"
    page = await client.get(setup.url)
    assert "Another check in this project also has the slug “shared”" in page.text


async def test_changes_are_published_to_live_dashboards(
    client: httpx.AsyncClient, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[list[int]] = []
    monkeypatch.setattr(live.hub, "publish", lambda ids: published.append(list(ids)))
    await sign_in(client, OWNER)
    await post_form(client, setup.url, {"name": "N"})
    await post_form(client, f"{setup.url}/pause")
    await post_form(client, f"{setup.url}/resume")
    await post_form(client, f"{setup.url}/channels", {})
    await post_form(
        client, f"{setup.url}/schedule", {"kind": "simple", "timeout": "2", "timeout_unit": "hours"}
    )
    assert published == [[setup.check.id]] * 5


# --- pause, resume, delete -------------------------------------------------------------------


async def test_pause_and_resume(client: httpx.AsyncClient, setup: Setup, factory: Factory) -> None:
    await sign_in(client, OWNER)
    response = await post_form(client, f"{setup.url}/pause")
    assert response.status_code == 303
    assert (await factory.reload(setup.check)).status == "paused"
    page = await client.get(setup.url)
    assert "Check paused" in page.text
    assert f'action="{setup.url}/resume"' in page.text

    response = await post_form(client, f"{setup.url}/resume")
    assert response.status_code == 303
    assert (await factory.reload(setup.check)).status == "new"
    flips = await factory.flips(setup.check)
    assert [(f.old_status, f.new_status) for f in flips] == [("new", "paused"), ("paused", "new")]


async def test_resuming_a_check_that_is_not_paused_is_400(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    await sign_in(client, OWNER)
    response = await post_form(client, f"{setup.url}/resume")
    assert response.status_code == 400
    assert "This check is not paused." in response.text


async def test_delete_asks_first_and_works_without_javascript(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await sign_in(client, OWNER)
    confirm = await client.get(f"{setup.url}/delete")
    assert confirm.status_code == 200
    assert "Delete “Nightly backup”?" in confirm.text
    assert f'action="{setup.url}/delete"' in confirm.text

    response = await post_form(client, f"{setup.url}/delete")
    assert response.status_code == 303
    async with factory.db.sessionmaker() as session:
        gone = await session.scalar(select(m.Check).where(m.Check.id == setup.check.id))
    assert gone is None
    assert (await client.get(setup.url)).status_code == 404


async def test_delete_redirects_to_the_projects_checks(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    await sign_in(client, OWNER)
    response = await post_form(client, f"{setup.url}/delete")
    assert response.status_code == 303
    assert str(setup.project.code) in response.headers["location"]


# --- channels --------------------------------------------------------------------------------


async def test_it_assigns_channels(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    mail = await factory.channel(setup.project, kind="email", name="Ops mail")
    hook = await factory.channel(setup.project, kind="webhook", name="Hook")
    await factory.assign(setup.check, hook)
    await sign_in(client, OWNER)
    page = (await client.get(setup.url)).text
    assert f'value="{hook.code}" checked' in page
    assert f'value="{mail.code}">' in page

    response = await post_form(client, f"{setup.url}/channels", {"channel": [str(mail.code)]})
    assert response.status_code == 303
    assert await _assigned(factory, setup.check) == {mail.id}

    response = await post_form(client, f"{setup.url}/channels", {})
    assert response.status_code == 303
    assert await _assigned(factory, setup.check) == set()


async def test_another_projects_channel_is_refused(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    other_project, _ = await factory.project(name="Other")
    foreign = await factory.channel(other_project, kind="email", name="Theirs")
    await sign_in(client, OWNER)
    response = await post_form(client, f"{setup.url}/channels", {"channel": [str(foreign.code)]})
    assert response.status_code == 400
    assert f"invalid channel identifier: {foreign.code}" in response.text
    assert await _assigned(factory, setup.check) == set()


async def _assigned(factory: Factory, check: m.Check) -> set[int]:
    async with factory.db.engine.connect() as conn:
        rows = await conn.execute(
            select(m.check_channels.c.channel_id).where(m.check_channels.c.check_id == check.id)
        )
        return {row[0] for row in rows}


# --- the ping log ----------------------------------------------------------------------------


async def test_the_ping_log_shows_kinds_durations_and_sources(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    async with factory.db.engine.begin() as conn:
        pings: list[dict[str, Any]] = [
            {"kind": "start", "method": "POST", "ua": "curl/8.5"},
            {"kind": "fail", "exitstatus": 3, "duration": 125.0, "body": b"oops"},
            {
                "kind": "success",
                "scheme": "email",
                "remote_addr": "cron@example.org",
                "method": "",
                "ua": "Email from cron@example.org",
            },
        ]
        for n, fields in enumerate(pings, start=1):
            values = {"check_id": setup.check.id, "n": n, "created": factory.clock()}
            values.update({"remote_addr": "10.0.0.9", "method": "GET", **fields})
            await conn.execute(insert(m.Ping).values(**values))
        await conn.execute(update(m.Check).where(m.Check.id == setup.check.id).values(n_pings=3))
    await sign_in(client, OWNER)
    html = (await client.get(setup.url)).text
    assert '<span class="ping-kind kind-fail">fail</span> <span class="muted">exit 3</span>' in html
    assert "2 minutes 5 seconds" in html
    assert "http POST from 10.0.0.9" in html
    assert "email from cron@example.org" in html
    assert "curl/8.5" in html
    assert f'href="{setup.url}/pings/2/body"' in html
    assert f'href="{setup.url}/pings/1/body"' not in html
    assert "3 pings kept in the log" in html


async def test_the_ping_log_pages_by_50(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await _add_pings(factory, setup.check, 120)
    await sign_in(client, OWNER)
    html = (await client.get(setup.url)).text
    assert _ping_numbers(html) == list(range(120, 70, -1))
    assert f'href="{setup.url}?before=71#pings"' in html
    assert "?after=" not in html

    html = (await client.get(f"{setup.url}?before=71")).text
    assert _ping_numbers(html) == list(range(70, 20, -1))
    assert f'href="{setup.url}?before=21#pings"' in html
    assert f'href="{setup.url}?after=70#pings"' in html

    html = (await client.get(f"{setup.url}?before=21")).text
    assert _ping_numbers(html) == list(range(20, 0, -1))
    assert "?before=" not in html
    assert f'href="{setup.url}?after=20#pings"' in html

    html = (await client.get(f"{setup.url}?after=20")).text
    assert _ping_numbers(html) == list(range(70, 20, -1))
    html = (await client.get(f"{setup.url}?after=70")).text
    assert _ping_numbers(html) == list(range(120, 70, -1))
    assert "?after=" not in html


async def test_the_ping_log_has_no_older_link_at_exactly_one_page(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await _add_pings(factory, setup.check, 50)
    await sign_in(client, OWNER)
    html = (await client.get(setup.url)).text
    assert len(_ping_numbers(html)) == 50
    assert "?before=" not in html
    assert "?after=" not in html


async def test_the_ping_log_hides_pings_beyond_the_log_limit(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await _add_pings(factory, setup.check, 80)
    async with factory.db.engine.begin() as conn:
        await conn.execute(
            update(m.Project).where(m.Project.id == setup.project.id).values(ping_log_limit=60)
        )
    await sign_in(client, OWNER)
    html = (await client.get(f"{setup.url}?before=31")).text
    # pings 1..20 are outside the window (pruned or about to be)
    assert _ping_numbers(html) == list(range(30, 20, -1))
    assert "?before=" not in html
    assert "60 pings kept in the log" in html


async def test_the_ping_log_copes_with_pruned_pages(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await _add_pings(factory, setup.check, 10)
    await sign_in(client, OWNER)
    html = (await client.get(f"{setup.url}?before=1")).text
    assert _ping_numbers(html) == []
    assert "No pings on this page" in html
    assert f'href="{setup.url}#pings"' in html  # back to the newest page
    html = (await client.get(f"{setup.url}?after=999999999999")).text
    assert _ping_numbers(html) == list(range(10, 0, -1))
    html = (await client.get(f"{setup.url}?before=-5")).text
    assert _ping_numbers(html) == []


async def test_the_ping_log_rejects_non_numbers(client: httpx.AsyncClient, setup: Setup) -> None:
    await sign_in(client, OWNER)
    response = await client.get(f"{setup.url}?before=abc")
    assert response.status_code == 400


async def test_the_ping_log_fragment_for_htmx(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await _add_pings(factory, setup.check, 60)
    await sign_in(client, OWNER)
    response = await client.get(f"{setup.url}/pings?before=11", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="pings"')
    assert "<html" not in response.text
    assert _ping_numbers(response.text) == list(range(10, 0, -1))
    assert f'hx-get="{setup.url}/pings?after=10"' in response.text


async def test_the_ping_log_fragment_url_without_htmx_goes_to_the_page(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    await sign_in(client, OWNER)
    response = await client.get(f"{setup.url}/pings?before=11")
    assert response.status_code in (302, 303)
    assert response.headers["location"] == f"{setup.url}?before=11#pings"


def _ping_numbers(html: str) -> list[int]:
    return [int(part.split("<", 1)[0]) for part in html.split('<td data-label="#">')[1:]]


# --- ping bodies -----------------------------------------------------------------------------


async def test_a_body_is_shown_escaped(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await _add_pings(factory, setup.check, 1, body=b"<script>alert(1)</script>\nok")
    await sign_in(client, OWNER)
    response = await client.get(f"{setup.url}/pings/1/body")
    assert response.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\nok" in response.text
    assert "<script>alert(1)" not in response.text
    assert "<html" in response.text  # a whole page without htmx

    fragment = await client.get(f"{setup.url}/pings/1/body", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text
    assert "&lt;script&gt;" in fragment.text


async def test_a_binary_body_shows_its_size(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await _add_pings(factory, setup.check, 1, body=b"\x00\x01\xff\xfe binary")
    await sign_in(client, OWNER)
    response = await client.get(f"{setup.url}/pings/1/body")
    assert response.status_code == 200
    assert "Binary body, 11 bytes" in response.text


@pytest.mark.parametrize("n", ["2", "0", "99999999999"])
async def test_a_missing_body_is_404(
    client: httpx.AsyncClient, setup: Setup, factory: Factory, n: str
) -> None:
    await _add_pings(factory, setup.check, 2)  # no bodies
    await sign_in(client, OWNER)
    response = await client.get(f"{setup.url}/pings/{n}/body")
    assert response.status_code == 404


async def test_a_pruned_body_is_404(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await _add_pings(factory, setup.check, 5, body=b"x")
    async with factory.db.engine.begin() as conn:
        await conn.execute(
            update(m.Project).where(m.Project.id == setup.project.id).values(ping_log_limit=2)
        )
    await sign_in(client, OWNER)
    assert (await client.get(f"{setup.url}/pings/3/body")).status_code == 404
    assert (await client.get(f"{setup.url}/pings/4/body")).status_code == 200


# --- events and downtime ---------------------------------------------------------------------


async def test_the_timeline_shows_flips_and_their_deliveries(
    client: httpx.AsyncClient, setup: Setup, factory: Factory, clock: FakeClock
) -> None:
    sent = await factory.channel(setup.project, kind="email", name="Ops mail")
    broken = await factory.channel(setup.project, kind="webhook", name="Hook")
    waiting = await factory.channel(setup.project, kind="slack", name="Chat")
    now = clock()
    async with factory.db.engine.begin() as conn:
        down = (
            await conn.execute(
                insert(m.Flip)
                .values(
                    check_id=setup.check.id,
                    created=now - timedelta(hours=2),
                    old_status="up",
                    new_status="down",
                    reason="timeout",
                )
                .returning(m.Flip.id)
            )
        ).scalar_one()
        await conn.execute(
            insert(m.Flip).values(
                check_id=setup.check.id,
                created=now - timedelta(hours=1),
                old_status="down",
                new_status="up",
                reason="",
            )
        )
        base = {
            "flip_id": down,
            "check_id": setup.check.id,
            "check_status": "down",
            "created": now - timedelta(hours=2),
            "sent_at": None,
            "failed_at": None,
            "error": "",
        }
        await conn.execute(
            insert(m.Notification),
            [
                {
                    **base,
                    "channel_id": sent.id,
                    "attempts": 1,
                    "sent_at": now,
                    "next_attempt_at": now,
                },
                {
                    **base,
                    "channel_id": broken.id,
                    "attempts": 5,
                    "failed_at": now,
                    "error": "Received status code 500",
                    "next_attempt_at": now,
                },
                {
                    **base,
                    "channel_id": waiting.id,
                    "attempts": 2,
                    "error": "timed out",
                    "next_attempt_at": now + timedelta(seconds=90),
                },
            ],
        )
    await sign_in(client, OWNER)
    html = (await client.get(setup.url)).text
    events = html.split('id="events"')[1].split("</section>")[0]
    # newest first: the recovery, then the outage
    assert events.index('→ <span class="status status-up') < events.index(
        '→ <span class="status status-down'
    )
    assert "no ping in time" in events
    assert "Ops mail:" in events and "<strong>sent</strong>" in events
    assert "<strong>failed</strong>: Received status code 500" in events
    assert "<strong>pending</strong> (attempt 2, next" in events and "timed out" in events


async def test_the_downtime_summary_covers_three_months(
    client: httpx.AsyncClient, setup: Setup, factory: Factory, clock: FakeClock
) -> None:
    # now = 2026-01-15 12:00 UTC; the check existed since November
    async with factory.db.engine.begin() as conn:
        await conn.execute(
            update(m.Check)
            .where(m.Check.id == setup.check.id)
            .values(created=clock() - timedelta(days=80), status="up")
        )
        await conn.execute(
            insert(m.Flip),
            [
                {
                    "check_id": setup.check.id,
                    "created": clock() - timedelta(days=3, hours=2),
                    "old_status": "up",
                    "new_status": "down",
                    "reason": "timeout",
                },
                {
                    "check_id": setup.check.id,
                    "created": clock() - timedelta(days=3),
                    "old_status": "down",
                    "new_status": "up",
                    "reason": "",
                },
            ],
        )
    await sign_in(client, OWNER)
    html = (await client.get(setup.url)).text
    summary = html.split('id="downtime"')[1].split("</section>")[0]
    rows = summary.split("<tr>")[2:]
    assert "January 2026" in rows[0]
    assert '<td data-label="Outages">1</td>' in rows[0]
    assert "2 hours" in rows[0]
    assert "December 2025" in rows[1] and '<td data-label="Uptime">100.00%</td>' in rows[1]
    assert "November 2025" in rows[2]


# --- performance -----------------------------------------------------------------------------


async def test_the_page_loads_one_page_of_pings_with_a_fixed_number_of_queries(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await sign_in(client, OWNER)
    await _add_pings(factory, setup.check, 5)
    few = await _count_queries(factory, client, setup.url)
    await _add_pings_more(factory, setup.check, 6, 1000)
    many = await _count_queries(factory, client, setup.url)
    assert many == few


async def _add_pings_more(factory: Factory, check: m.Check, first: int, last: int) -> None:
    now = factory.clock()
    async with factory.db.engine.begin() as conn:
        await conn.execute(
            insert(m.Ping),
            [
                {"check_id": check.id, "n": n, "kind": "success", "created": now, "body": b"ok"}
                for n in range(first, last + 1)
            ],
        )
        await conn.execute(update(m.Check).where(m.Check.id == check.id).values(n_pings=last))


async def _count_queries(factory: Factory, client: httpx.AsyncClient, url: str) -> int:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(factory.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        response = await client.get(url)
    finally:
        event.remove(factory.db.engine.sync_engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len([s for s in statements if "pings" in s.lower()])


async def test_every_form_carries_a_real_csrf_field(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await factory.channel(setup.project, kind="email", name="Ops mail")
    await sign_in(client, OWNER)
    html = (await client.get(setup.url)).text
    forms = html.count('<form method="post"')
    # edit, schedule, channels, pause (sign-out in the header has its own)
    assert forms >= 5
    assert html.count('<input type="hidden" name="_csrf_token"') == forms
    assert "&lt;input" not in html
    confirm = (await client.get(f"{setup.url}/delete")).text
    assert '<input type="hidden" name="_csrf_token"' in confirm


async def test_a_form_posted_with_the_pages_own_token_is_accepted(
    client: httpx.AsyncClient, setup: Setup, factory: Factory
) -> None:
    await sign_in(client, OWNER)
    html = (await client.get(setup.url)).text
    token = html.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
    response = await client.post(f"{setup.url}/pause", data={"_csrf_token": token})
    assert response.status_code == 303
    assert (await factory.reload(setup.check)).status == "paused"


async def test_healthchecks_details_address_redirects_to_the_page(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user("legacy@example.org", PASSWORD)
    project, _ = await factory.project(owner)
    check = await factory.check(project)
    response = await client.get(f"/checks/{check.code}/details/")
    assert response.status_code == 301
    assert response.headers["location"].rstrip("/") == f"/checks/{check.code}"
