"""The schedule editor on the check details page: saving, validation, and the live preview."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import insert, update

from app.db import models as m
from tests.conftest import FakeClock
from tests.factories import Factory
from tests.ui import PASSWORD, post_form, sign_in

OWNER = "owner@example.org"


@pytest.fixture
async def check(factory: Factory, client: httpx.AsyncClient) -> m.Check:
    owner = await factory.user(OWNER, PASSWORD)
    project, _ = await factory.project(owner)
    check = await factory.check(project, name="Job")
    await sign_in(client, OWNER)
    return check


def _url(check: m.Check, suffix: str = "") -> str:
    return f"/checks/{check.code}{suffix}"


# --- saving ----------------------------------------------------------------------------------


async def test_it_saves_a_simple_schedule_in_units(
    client: httpx.AsyncClient, check: m.Check, factory: Factory
) -> None:
    response = await post_form(
        client,
        _url(check, "/schedule"),
        {
            "kind": "simple",
            "timeout": "2",
            "timeout_unit": "hours",
            "grace": "30",
            "grace_unit": "minutes",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == _url(check)
    saved = await factory.reload(check)
    assert (saved.kind, saved.timeout, saved.grace) == ("simple", 7200, 1800)
    page = await client.get(_url(check))
    assert "Schedule saved." in page.text
    assert (
        'name="timeout" type="number" min="1" step="1" inputmode="numeric" value="2"' in page.text
    )


async def test_it_saves_a_cron_schedule_with_its_time_zone(
    client: httpx.AsyncClient, check: m.Check, factory: Factory
) -> None:
    response = await post_form(
        client,
        _url(check, "/schedule"),
        {
            "kind": "cron",
            "schedule": "0 3 * * 1-5",
            "tz": "Europe/Riga",
            "grace": "1",
            "grace_unit": "hours",
        },
    )
    assert response.status_code == 303
    saved = await factory.reload(check)
    assert (saved.kind, saved.schedule, saved.tz, saved.grace) == (
        "cron",
        "0 3 * * 1-5",
        "Europe/Riga",
        3600,
    )


async def test_it_saves_an_oncalendar_schedule_of_several_lines(
    client: httpx.AsyncClient, check: m.Check, factory: Factory
) -> None:
    response = await post_form(
        client,
        _url(check, "/schedule"),
        {
            "kind": "oncalendar",
            "schedule": "Mon *-*-* 09:00\r\nFri *-*-* 17:00",
            "tz": "UTC",
            "grace": "2",
            "grace_unit": "hours",
        },
    )
    assert response.status_code == 303
    saved = await factory.reload(check)
    assert (saved.kind, saved.schedule) == ("oncalendar", "Mon *-*-* 09:00\nFri *-*-* 17:00")


async def test_a_legacy_time_zone_is_saved_under_its_current_name(
    client: httpx.AsyncClient, check: m.Check, factory: Factory
) -> None:
    await post_form(
        client,
        _url(check, "/schedule"),
        {
            "kind": "cron",
            "schedule": "* * * * *",
            "tz": "Europe/Kiev",
            "grace": "1",
            "grace_unit": "hours",
        },
    )
    assert (await factory.reload(check)).tz == "Europe/Kyiv"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"kind": "simple", "timeout": "0", "timeout_unit": "minutes"},
            "timeout",
            "timeout is too small",
        ),
        (
            {"kind": "simple", "timeout": "366", "timeout_unit": "days"},
            "timeout",
            "timeout is too large",
        ),
        (
            {"kind": "simple", "timeout": "1.5", "timeout_unit": "hours"},
            "timeout",
            "timeout must be a whole number of hours",
        ),
        (
            {"kind": "simple", "timeout": "1", "timeout_unit": "weeks"},
            "timeout",
            "timeout unit must be minutes, hours or days",
        ),
        (
            {"kind": "simple", "grace": "", "grace_unit": "hours"},
            "grace",
            "grace must be a whole number of hours",
        ),
        ({"kind": "simple", "grace": "367", "grace_unit": "days"}, "grace", "grace is too large"),
        (
            {"kind": "cron", "schedule": "61 * * * *", "tz": "UTC"},
            "schedule",
            "schedule is not a valid cron or OnCalendar expression",
        ),
        (
            {"kind": "cron", "schedule": "*-*-* 12:00", "tz": "UTC"},
            "schedule",
            "schedule is not a cron expression (five fields on one line)",
        ),
        (
            {"kind": "oncalendar", "schedule": "0 12 * * *", "tz": "UTC"},
            "schedule",
            "schedule looks like a cron expression: choose the Cron kind",
        ),
        (
            {"kind": "cron", "schedule": "* * * * *", "tz": "Mars/Olympus"},
            "tz",
            "tz is not a valid timezone",
        ),
        ({"kind": "hourly"}, "kind", "kind must be simple, cron or oncalendar"),
    ],
)
async def test_bad_values_are_shown_next_to_their_field(
    client: httpx.AsyncClient,
    check: m.Check,
    factory: Factory,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = await post_form(client, _url(check, "/schedule"), data)
    assert response.status_code == 400
    assert f'<p class="error" id="f-{field}-error">{message}</p>' in response.text
    saved = await factory.reload(check)
    assert (saved.kind, saved.timeout, saved.grace) == ("simple", 86400, 3600)


async def test_a_bad_value_is_shown_back_as_typed(
    client: httpx.AsyncClient, check: m.Check
) -> None:
    response = await post_form(
        client, _url(check, "/schedule"), {"kind": "cron", "schedule": "61 * * * *", "tz": "UTC"}
    )
    assert response.status_code == 400
    assert ">61 * * * *</textarea>" in response.text
    assert 'value="cron" checked' in response.text
    assert 'aria-describedby="f-schedule-help f-schedule-error"' in response.text


# --- the preview -----------------------------------------------------------------------------


async def test_the_preview_lists_the_next_five_times_across_a_dst_change(
    client: httpx.AsyncClient, check: m.Check, factory: Factory, clock: FakeClock
) -> None:
    # Latvia moves from EET (UTC+2) to EEST (UTC+3) on Sunday 29 March 2026.
    clock.now = datetime(2026, 3, 27, 13, 0, tzinfo=UTC)
    await sign_in(client, OWNER)  # the fixture's session has expired by then
    response = await client.get(
        _url(check, "/schedule-preview"),
        params={
            "kind": "cron",
            "schedule": "0 12 * * *",
            "tz": "Europe/Riga",
            "grace": "1",
            "grace_unit": "hours",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.text
    assert html.lstrip().startswith('<div id="schedule-preview"')
    assert "<html" not in html
    # The viewer's zone is UTC: 12:00 in Riga is 10:00 UTC before the change, 09:00 after.
    times = [part.split('"', 1)[0] for part in html.split('<time datetime="')[1:]]
    assert times == [
        "2026-03-28T10:00:00+00:00",
        "2026-03-29T09:00:00+00:00",
        "2026-03-30T09:00:00+00:00",
        "2026-03-31T09:00:00+00:00",
        "2026-04-01T09:00:00+00:00",
    ]
    assert (
        '>2026-03-28 10:00:00 UTC</time> <span class="muted">(2026-03-28 12:00:00 EET)</span>'
        in html
    )
    assert (
        '>2026-03-29 09:00:00 UTC</time> <span class="muted">(2026-03-29 12:00:00 EEST)</span>'
        in html
    )


async def test_the_preview_uses_the_viewers_time_zone(
    client: httpx.AsyncClient, check: m.Check, factory: Factory, clock: FakeClock
) -> None:
    async with factory.db.engine.begin() as conn:
        user_id = (await factory.reload_project(check)).owner_id
        await conn.execute(
            update(m.Profile).where(m.Profile.user_id == user_id).values(tz="America/New_York")
        )
    clock.now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    response = await client.get(
        _url(check, "/schedule-preview"),
        params={"kind": "oncalendar", "schedule": "*-*-* 18:00", "tz": "UTC"},
    )
    assert ">2026-01-15 13:00:00 EST</time>" in response.text
    assert "(2026-01-15 18:00:00 UTC)" in response.text


async def test_the_preview_shows_the_exact_validation_error(
    client: httpx.AsyncClient, check: m.Check
) -> None:
    response = await client.get(
        _url(check, "/schedule-preview"), params={"kind": "cron", "schedule": "* * * *"}
    )
    assert response.status_code == 200
    assert (
        '<p class="error" id="schedule-preview-error" role="alert">'
        "schedule is not a valid cron or OnCalendar expression</p>"
    ) in response.text


async def test_the_preview_of_a_simple_schedule_says_it_in_words(
    client: httpx.AsyncClient, check: m.Check
) -> None:
    response = await client.get(
        _url(check, "/schedule-preview"),
        params={
            "kind": "simple",
            "timeout": "90",
            "timeout_unit": "minutes",
            "grace": "1",
            "grace_unit": "days",
        },
    )
    assert "every <strong>1 hour 30 minutes</strong>" in response.text
    assert "down <strong>1 day</strong> after" in response.text


async def test_the_page_shows_the_preview_of_the_saved_schedule(
    client: httpx.AsyncClient, factory: Factory, check: m.Check
) -> None:
    project = await factory.reload_project(check)
    cron = await factory.check(project, kind="cron", schedule="30 6 * * *", tz="UTC")
    html = (await client.get(_url(cron))).text
    assert html.count('<li><time datetime="') == 5
    assert "2026-01-16 06:30:00 UTC" in html


async def test_the_preview_needs_a_member(
    client: httpx.AsyncClient, check: m.Check, factory: Factory
) -> None:
    await factory.user("stranger@example.org", PASSWORD)
    await sign_in(client, "stranger@example.org")
    response = await client.get(_url(check, "/schedule-preview"), params={"kind": "simple"})
    assert response.status_code == 404


async def test_the_preview_of_an_anonymous_htmx_request_reloads_to_sign_in(
    client: httpx.AsyncClient, check: m.Check
) -> None:
    await post_form(client, "/accounts/logout/")
    response = await client.get(_url(check, "/schedule-preview"), headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/accounts/login")


async def test_read_only_members_see_the_schedule_without_the_form(
    client: httpx.AsyncClient, check: m.Check, factory: Factory
) -> None:
    ro = await factory.user("ro@example.org", PASSWORD)
    async with factory.db.engine.begin() as conn:
        await conn.execute(
            insert(m.Member).values(project_id=check.project_id, user_id=ro.id, role="readonly")
        )
    await sign_in(client, "ro@example.org")
    html = (await client.get(_url(check))).text
    assert "<dt>Period</dt><dd>1 day</dd>" in html
    assert "<dt>Grace time</dt><dd>1 hour</dd>" in html
    assert 'name="kind"' not in html


async def test_a_superscript_digit_is_not_a_number_of_minutes(
    client: httpx.AsyncClient, check: m.Check
) -> None:
    response = await client.get(
        _url(check, "/schedule-preview"),
        params={"kind": "simple", "timeout": "²", "timeout_unit": "minutes", "grace": "1"},
    )
    assert response.status_code == 200
    assert "must be a whole number of minutes" in response.text
