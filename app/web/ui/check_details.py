"""The check details page: edit, schedule, ping URL and examples, ping log, events, downtime,
pause / resume / delete, channels.

Every write goes through the same ``app.domain.checks`` function as the management API and
checks the viewer's right on the server. Forms are plain POSTs answering 303 (or 400 with the
page re-rendered and the message next to the field); htmx only enhances them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import live
from app.db import models as m
from app.db.engine import write_session
from app.domain import channels as channels_domain
from app.domain import check_history, checks, schedules
from app.domain import status as status_rules
from app.domain.errors import BadRequest, Conflict, NotFound, ValidationError
from app.domain.permissions import Right
from app.web.state import AppState
from app.web.ui import schedule as schedule_editor
from app.web.ui.base import ProjectAccess, flash, project_access_by_check, redirect, render

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
AnyRequest = Request[Any, Any, Any]

PAGE = "pages/check/details.html"
EDIT_FIELDS = ("name", "slug", "tags", "desc")


# --- loading -------------------------------------------------------------------------------------


async def _load_check(
    session: AsyncSession, code: uuid.UUID, *, for_update: bool = False
) -> m.Check:
    try:
        return await checks.get_check(session, code, for_update=for_update)
    except NotFound:  # deleted since the access check
        raise NotFoundException("no such check") from None


def _is_htmx(request: AnyRequest) -> bool:
    return bool(request.headers.get("hx-request"))


# --- the page ------------------------------------------------------------------------------------


async def _page_context(
    request: AnyRequest,
    access: ProjectAccess,
    check: m.Check,
    session: AsyncSession,
    *,
    before: int | None = None,
    after: int | None = None,
    schedule_form: schedule_editor.ScheduleForm | None = None,
) -> dict[str, Any]:
    state = AppState.of(request)
    now = state.clock()
    project = access.project
    schedule_form = schedule_form or schedule_editor.ScheduleForm.from_check(check)
    channels = await channels_domain.list_channels(session, project.id)
    assigned = set(
        (
            await session.scalars(
                select(m.check_channels.c.channel_id).where(m.check_channels.c.check_id == check.id)
            )
        ).all()
    )
    return {
        "nav": "projects",
        "project": project,
        "project_tab": "checks",
        "access": access,
        "check": check,
        "status": status_rules.displayed_status(check, now, with_started=True),
        "tags": checks.tags_list(check.tags),
        "form": {name: getattr(check, name) for name in EDIT_FIELDS},
        "errors": {},
        "ping": _ping_addresses(state, project, check),
        "pings": await check_history.ping_page(
            session, check, project.ping_log_limit, before=before, after=after
        ),
        "events": await check_history.timeline(session, check),
        "downtime": await check_history.monthly_downtime(session, check, access.viewer.tz, now),
        "channels": channels,
        "assigned": assigned,
        "schedule_form": schedule_form,
        "preview": schedule_editor.preview(schedule_form, now),
        "schedule_kinds": schedule_editor.KIND_LABELS,
        "units": schedule_editor.UNITS,
        "timezones": schedules.selectable_timezones(),
    }


def _ping_addresses(state: AppState, project: m.Project, check: m.Check) -> dict[str, str | None]:
    endpoint = state.settings.ping_endpoint
    domain = state.settings.ping_email_domain
    return {
        "url": f"{endpoint}{check.code}",
        "slug_url": f"{endpoint}{project.ping_key}/{check.slug}"
        if project.ping_key and check.slug
        else None,
        "email": f"{check.code}@{domain}" if domain else None,
    }


async def _render_page(
    request: AnyRequest,
    code: uuid.UUID,
    access: ProjectAccess,
    *,
    status_code: int = 200,
    overrides: Mapping[str, Any] | None = None,
    **options: Any,
) -> Template:
    async with AppState.of(request).db.sessionmaker() as session:
        check = await _load_check(session, code)
        context = await _page_context(request, access, check, session, **options)
    context.update(overrides or {})
    return await render(request, PAGE, context, status_code=status_code)


@get("/checks/{code:uuid}/", name="check-details")
async def details(
    request: AnyRequest,
    code: FromPath[uuid.UUID],
    before: FromQuery[int | None] = None,
    after: FromQuery[int | None] = None,
) -> Template:
    access = await project_access_by_check(request, code, Right.VIEW)
    return await _render_page(request, code, access, before=before, after=after)


@get("/checks/{code:uuid}/details/", name="check-details-legacy")
async def legacy_details(request: AnyRequest, code: FromPath[uuid.UUID]) -> Redirect:
    """Healthchecks' address of the same page (in old alerts and bookmarks)."""
    return Redirect(path=request.app.route_reverse("check-details", code=code), status_code=301)


# --- edit name, slug, tags, description ----------------------------------------------------------


@post("/checks/{code:uuid}/", name="check-update", status_code=303)
async def update(request: AnyRequest, code: FromPath[uuid.UUID], data: Form) -> Template | Redirect:
    access = await project_access_by_check(request, code, Right.WRITE)
    state = AppState.of(request)
    values = {name: data.get(name, "").strip() for name in EDIT_FIELDS}
    values["tags"] = " ".join(checks.tags_list(values["tags"]))
    values["desc"] = data.get("desc", "").replace("\r\n", "\n").strip()
    try:
        async with write_session(state.db) as session:
            check = await _load_check(session, code, for_update=True)
            await checks.update_check(session, check, values, state.clock())
            shared_slug = await _slug_taken(session, check)
    except ValidationError as error:
        return await _render_page(
            request,
            code,
            access,
            status_code=400,
            overrides={"form": values, "errors": {error.field: error.message}},
        )
    live.hub.publish([check.id])
    flash(request, "Check saved.")
    if shared_slug:
        flash(
            request,
            f"Another check in this project also has the slug “{check.slug}”: "
            "pings to its slug URL answer 409 until one of them changes.",
            "info",
        )
    return redirect(request, "check-details", code=code)


async def _slug_taken(session: AsyncSession, check: m.Check) -> bool:
    # As in the API, two checks may share a slug (their slug pings then answer 409
    # "ambiguous slug"); the page saves it but says so.
    if not check.slug:
        return False
    other = await session.scalar(
        select(m.Check.id)
        .where(
            m.Check.project_id == check.project_id,
            m.Check.slug == check.slug,
            m.Check.id != check.id,
        )
        .limit(1)
    )
    return other is not None


# --- the schedule --------------------------------------------------------------------------------


@post("/checks/{code:uuid}/schedule", name="check-schedule", status_code=303)
async def update_schedule(
    request: AnyRequest, code: FromPath[uuid.UUID], data: Form
) -> Template | Redirect:
    access = await project_access_by_check(request, code, Right.WRITE)
    state = AppState.of(request)
    async with state.db.sessionmaker() as session:
        current = schedule_editor.ScheduleForm.from_check(await _load_check(session, code))
    form = schedule_editor.ScheduleForm.from_data(data, current)
    try:
        fields = form.to_fields()
        async with write_session(state.db) as session:
            check = await _load_check(session, code, for_update=True)
            await checks.update_check(session, check, fields, state.clock())
    except ValidationError as error:
        return await _render_page(
            request,
            code,
            access,
            status_code=400,
            schedule_form=form,
            overrides={"schedule_errors": {error.field: error.message}},
        )
    live.hub.publish([check.id])
    flash(request, "Schedule saved.")
    return redirect(request, "check-details", code=code)


@get("/checks/{code:uuid}/schedule-preview", name="check-schedule-preview")
async def schedule_preview(request: AnyRequest, code: FromPath[uuid.UUID]) -> Template:
    """The next expected times for the schedule being typed (an htmx fragment)."""
    access = await project_access_by_check(request, code, Right.VIEW)
    async with AppState.of(request).db.sessionmaker() as session:
        current = schedule_editor.ScheduleForm.from_check(await _load_check(session, code))
    form = schedule_editor.ScheduleForm.from_data(dict(request.query_params), current)
    result = schedule_editor.preview(form, AppState.of(request).clock())
    return await render(
        request,
        "fragments/check/schedule_preview.html",
        {"preview": result, "tz": access.viewer.tz},
        status_code=200,
    )


# --- the ping log --------------------------------------------------------------------------------


@get("/checks/{code:uuid}/pings/", name="check-pings")
async def ping_log(
    request: AnyRequest,
    code: FromPath[uuid.UUID],
    before: FromQuery[int | None] = None,
    after: FromQuery[int | None] = None,
) -> Template | Redirect:
    """One page of the ping log: the fragment for htmx, the whole page otherwise."""
    access = await project_access_by_check(request, code, Right.VIEW)
    if not _is_htmx(request):
        target = request.app.route_reverse("check-details", code=code)
        query = f"?{request.url.query}" if request.url.query else ""
        return Redirect(path=f"{target}{query}#pings")
    async with AppState.of(request).db.sessionmaker() as session:
        check = await _load_check(session, code)
        page = await check_history.ping_page(
            session, check, access.project.ping_log_limit, before=before, after=after
        )
    return await render(
        request, "fragments/check/pings.html", {"check": check, "pings": page, "access": access}
    )


@get("/checks/{code:uuid}/pings/{n:int}/body", name="check-ping-body")
async def ping_body(request: AnyRequest, code: FromPath[uuid.UUID], n: FromPath[int]) -> Template:
    access = await project_access_by_check(request, code, Right.VIEW)
    async with AppState.of(request).db.sessionmaker() as session:
        check = await _load_check(session, code)
        try:
            body = await check_history.ping_body(session, check, n)
        except NotFound:
            raise NotFoundException("no such ping body") from None
    context = {"check": check, "n": n, "body": body, "project": access.project}
    if _is_htmx(request):
        return await render(request, "fragments/check/ping_body.html", context)
    return await render(request, "pages/check/ping_body.html", context)


# --- pause, resume, delete -----------------------------------------------------------------------


@post("/checks/{code:uuid}/pause", name="check-pause", status_code=303)
async def pause(request: AnyRequest, code: FromPath[uuid.UUID]) -> Redirect:
    await project_access_by_check(request, code, Right.WRITE)
    state = AppState.of(request)
    async with write_session(state.db) as session:
        check = await _load_check(session, code, for_update=True)
        await checks.pause_check(session, check, state.clock())
    live.hub.publish([check.id])
    flash(request, "Check paused: no alerts until it is pinged or resumed.")
    return redirect(request, "check-details", code=code)


@post("/checks/{code:uuid}/resume", name="check-resume", status_code=303)
async def resume(request: AnyRequest, code: FromPath[uuid.UUID]) -> Template | Redirect:
    access = await project_access_by_check(request, code, Right.WRITE)
    state = AppState.of(request)
    try:
        async with write_session(state.db) as session:
            check = await _load_check(session, code, for_update=True)
            await checks.resume_check(session, check, state.clock())
    except Conflict:
        flash(request, "This check is not paused.", "error")
        return await _render_page(request, code, access, status_code=400)
    live.hub.publish([check.id])
    flash(request, "Check resumed: it waits for its first ping.")
    return redirect(request, "check-details", code=code)


@get("/checks/{code:uuid}/delete", name="check-delete")
async def delete_confirm(request: AnyRequest, code: FromPath[uuid.UUID]) -> Template:
    access = await project_access_by_check(request, code, Right.WRITE)
    async with AppState.of(request).db.sessionmaker() as session:
        check = await _load_check(session, code)
    return await render(
        request,
        "pages/check/delete.html",
        {"check": check, "project": access.project, "project_tab": "checks", "nav": "projects"},
    )


@post("/checks/{code:uuid}/delete", name="check-delete-submit", status_code=303)
async def delete(request: AnyRequest, code: FromPath[uuid.UUID]) -> Redirect:
    access = await project_access_by_check(request, code, Right.WRITE)
    async with write_session(AppState.of(request).db) as session:
        check = await _load_check(session, code, for_update=True)
        check_id, name = check.id, check.name or str(check.code)
        await checks.delete_check(session, check)
    live.hub.publish([check_id])
    flash(request, f"Check “{name}” deleted.")
    return redirect(request, "checks", code=access.project.code)


# --- channels ------------------------------------------------------------------------------------


@post("/checks/{code:uuid}/channels", name="check-channels", status_code=303)
async def set_channels(request: AnyRequest, code: FromPath[uuid.UUID]) -> Template | Redirect:
    access = await project_access_by_check(request, code, Right.WRITE)
    state = AppState.of(request)
    chosen = (await request.form()).getall("channel", [])
    try:
        async with write_session(state.db) as session:
            check = await _load_check(session, code, for_update=True)
            await checks.update_check(session, check, {"channels": ",".join(chosen)}, state.clock())
    except (BadRequest, ValidationError) as error:
        return await _render_page(
            request, code, access, status_code=400, overrides={"channels_error": error.message}
        )
    live.hub.publish([check.id])
    flash(request, "Notification channels saved.")
    return redirect(request, "check-details", code=code)


route_handlers = [
    details,
    legacy_details,
    update,
    update_schedule,
    schedule_preview,
    ping_log,
    ping_body,
    pause,
    resume,
    delete_confirm,
    delete,
    set_channels,
]
