"""The integrations page: a project's channels, their setup forms, tests, checks and removal.

Every kind's form is declared in ``app/integrations/<kind>/setup.py`` and laid out by
``app/integrations/<kind>/form.html`` (beside its transport); this module knows no kind by name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Template

from app import live
from app.db import models as m
from app.db.engine import write_session
from app.domain import channels, email_links
from app.domain.checks import list_checks
from app.domain.email_links import Purpose
from app.domain.errors import ValidationError
from app.domain.permissions import Right
from app.integrations import registry
from app.integrations.setup import FormError, SetupForm
from app.web.state import AppState
from app.web.ui.base import (
    Forbidden,
    ProjectAccess,
    flash,
    project_access,
    project_access_by_channel,
    redirect,
    render,
    safe_next,
)

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
AnyRequest = Request[Any, Any, Any]

SETUP_PAGE = "pages/integrations/setup.html"
CHECKS_FRAGMENT = "fragments/integration_checks.html"


@dataclass(frozen=True)
class ChannelRow:
    """One channel as the list shows it."""

    channel: m.Channel
    label: str
    target: str  # the address / URL / topic it notifies, when the kind has one
    n_checks: int


def _label(kind: str) -> str:
    try:
        return registry.get(kind).label
    except registry.UnknownKind:
        return kind


def _target(channel: m.Channel) -> str:
    try:
        config = registry.parse_config(channel.kind, channel.value)
        return registry.setup_form(channel.kind).describe(config)
    except (registry.UnknownKind, msgspec.ValidationError):
        return ""


def _enabled_setup_form(request: AnyRequest, kind: str) -> SetupForm:
    """The kind's form; 404 for an unknown kind, 403 (saying why) for one switched off."""
    try:
        integration, form = registry.get(kind), registry.setup_form(kind)
    except registry.UnknownKind:
        raise NotFoundException("no such integration") from None
    if not integration.enabled(AppState.of(request).settings):
        raise Forbidden(detail=integration.disabled_reason or "This integration is not enabled.")
    return form


# --- the list ------------------------------------------------------------------------------------


@get("/projects/{code:uuid}/integrations/", name="integrations")
async def integration_list(request: AnyRequest, code: uuid.UUID) -> Template:
    access = await project_access(request, code, Right.VIEW)
    state = AppState.of(request)
    async with state.db.sessionmaker() as session:
        found = await channels.list_channels(session, access.project.id)
        counts = await channels.check_counts(session, access.project.id)
    rows = [
        ChannelRow(channel, _label(channel.kind), _target(channel), counts.get(channel.id, 0))
        for channel in found
    ]
    addable = [
        (kind, _label(kind), registry.setup_form(kind).summary)
        for kind in registry.enabled_kinds(state.settings)
    ]
    return await render(
        request,
        "pages/integrations/list.html",
        {
            "project": access.project,
            "project_tab": "integrations",
            "access": access,
            "rows": rows,
            "addable": addable,
        },
    )


# --- add and edit --------------------------------------------------------------------------------


@dataclass
class SetupPage:
    """What the setup template needs, for a new channel or an existing one."""

    access: ProjectAccess
    kind: str
    form: SetupForm
    name: str
    values: dict[str, str]
    errors: dict[str, str]
    channel: m.Channel | None = None
    checks: list[m.Check] | None = None
    selected: set[int] | None = None

    def context(self) -> dict[str, Any]:
        editable = self.access.can(Right.WRITE)
        return {
            "project": self.access.project,
            "project_tab": "integrations",
            "access": self.access,
            "kind": self.kind,
            "label": _label(self.kind),
            "setup": self.form,
            "fields_template": f"{self.kind}/form.html",
            "name": self.name,
            "values": self.values,
            "errors": self.errors,
            "general_error": self.errors.get(""),
            "channel": self.channel,
            "readonly": not editable,
            "checks": self.checks or [],
            "selected": self.selected or set(),
        }


def _errors_of(error: ValidationError, form: SetupForm) -> dict[str, str]:
    """Field name -> message for a domain validation error ("" for the whole form)."""
    if isinstance(error, channels.ConfigError):
        field = error.config_field
        known = {f.name for f in form.fields}
        return {field if field in known else "": error.detail}
    if error.field == "name":
        return {"name": "At most 100 characters."}
    return {"": error.message}


def _config_or_errors(form: SetupForm, data: dict[str, str]) -> tuple[Any, dict[str, str]]:
    try:
        return form.to_config(data), {}
    except FormError as error:
        return None, error.errors


@get("/projects/{code:uuid}/integrations/add/{kind:str}/", name="integration-add")
async def integration_add_form(request: AnyRequest, code: uuid.UUID, kind: str) -> Template:
    access = await project_access(request, code, Right.WRITE)
    form = _enabled_setup_form(request, kind)
    page = SetupPage(access, kind, form, "", form.initial(), {})
    return await render(request, SETUP_PAGE, page.context())


@post(
    "/projects/{code:uuid}/integrations/add/{kind:str}/",
    name="integration-add-submit",
    status_code=303,
)
async def integration_add(
    request: AnyRequest, code: uuid.UUID, kind: str, data: Form
) -> Template | Redirect:
    access = await project_access(request, code, Right.WRITE)
    form = _enabled_setup_form(request, kind)
    name = data.get("name", "").strip()
    config, errors = _config_or_errors(form, data)
    if not errors:
        state = AppState.of(request)
        try:
            async with write_session(state.db) as session:
                channel = await channels.create_channel(
                    session,
                    access.project.id,
                    name,
                    kind,
                    config,
                    state.clock(),
                    verify_email=state.settings.email_use_verification,
                )
                changed = await channels.assign_all_checks(session, channel)
        except ValidationError as error:
            errors = _errors_of(error, form)
        else:
            live.hub.publish(changed)
            flash(request, f"{_label(kind)} integration added.{await _verifying(request, channel)}")
            return redirect(request, "integrations", code=access.project.code)
    page = SetupPage(access, kind, form, name, dict(data), errors)
    return await render(request, SETUP_PAGE, page.context(), status_code=400)


async def _verifying(request: AnyRequest, channel: m.Channel) -> str:
    """For an email channel saved with an address nobody on the project has: mail it the
    verification link, and say so."""
    state = AppState.of(request)
    address = await channels.ask_to_verify(state.db, state.settings, channel.code)
    return f" We sent {address} a link: alerts go to it once the link is opened." if address else ""


async def _edit_page(
    request: AnyRequest,
    access: ProjectAccess,
    channel: m.Channel,
    *,
    name: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    choices: tuple[list[m.Check], set[int]] | None = None,
) -> SetupPage:
    """The edit page; ``choices`` (the project's checks, the ids using the channel) when the
    caller already has them."""
    try:
        form = registry.setup_form(channel.kind)
    except registry.UnknownKind:
        raise NotFoundException("no such integration") from None
    errors = dict(errors or {})
    if values is None:
        try:
            values = form.from_config(registry.parse_config(channel.kind, channel.value))
        except msgspec.ValidationError as error:
            # A config stored before a rule tightened: show the form empty, and why.
            values = form.initial()
            errors.setdefault("", f"The saved configuration is no longer valid: {error}")
    if choices is None:
        async with AppState.of(request).db.sessionmaker() as session:
            choices = (
                await list_checks(session, channel.project_id),
                await channels.channel_check_ids(session, channel),
            )
    checks, selected = choices
    return SetupPage(
        access,
        channel.kind,
        form,
        channel.name if name is None else name,
        values,
        errors,
        channel=channel,
        checks=checks,
        selected=selected,
    )


@get("/integrations/{code:uuid}/", name="integration-edit")
async def integration_edit_form(request: AnyRequest, code: uuid.UUID) -> Template:
    access, channel = await project_access_by_channel(request, code, Right.VIEW)
    page = await _edit_page(request, access, channel)
    return await render(request, SETUP_PAGE, page.context())


@post("/integrations/{code:uuid}/", name="integration-save", status_code=303)
async def integration_save(request: AnyRequest, code: uuid.UUID, data: Form) -> Template | Redirect:
    access, channel = await project_access_by_channel(request, code, Right.WRITE)
    page = await _edit_page(request, access, channel, name=data.get("name", "").strip())
    page.values = dict(data)
    config, page.errors = _config_or_errors(page.form, data)
    if not page.errors:
        state = AppState.of(request)
        try:
            async with write_session(state.db) as session:
                unverified = await channels.update_channel(
                    session,
                    channel,
                    page.name,
                    config,
                    verify_email=state.settings.email_use_verification,
                )
        except ValidationError as error:
            page.errors = _errors_of(error, page.form)
        else:
            sent = await _verifying(request, channel) if unverified else ""
            flash(request, f"Integration saved.{sent}")
            return redirect(request, "integrations", code=access.project.code)
    return await render(request, SETUP_PAGE, page.context(), status_code=400)


# --- which checks use it -------------------------------------------------------------------------


def _chosen_check_ids(choice: str, submitted: list[str], all_ids: list[int]) -> set[int]:
    """The check ids a submission of the checks form asks for ("all" / "none" buttons win)."""
    if choice == "all":
        return set(all_ids)
    if choice == "none":
        return set()
    chosen: set[int] = set()
    for raw in submitted:
        # isdigit() alone admits "²"; ids have at most 18 digits (BIGINT).
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise ValidationError("check", f"Not a check: {raw!r}.")
        chosen.add(int(raw))
    return chosen


@post("/integrations/{code:uuid}/checks", name="integration-checks", status_code=303)
async def integration_checks(request: AnyRequest, code: uuid.UUID) -> Template | Redirect:
    access, channel = await project_access_by_channel(request, code, Right.WRITE)
    submitted = await request.form()
    state = AppState.of(request)
    async with write_session(state.db) as session:
        project_checks = await list_checks(session, channel.project_id)
        try:
            wanted = _chosen_check_ids(
                str(submitted.get("select", "")),
                submitted.getall("check", []),
                [check.id for check in project_checks],
            )
        except ValidationError as error:
            raise ClientException(detail=error.message) from None
        chosen = await channels.set_channel_checks(session, channel, wanted)
    live.hub.publish(chosen.changed)
    message = f"{len(chosen.selected)} of {len(project_checks)} checks use this integration."
    if request.headers.get("hx-request"):
        # htmx swaps the form alone; the message goes inside it (role=status).
        page = await _edit_page(request, access, channel, choices=(project_checks, chosen.selected))
        context = {**page.context(), "checks_message": message}
        return await render(request, CHECKS_FRAGMENT, context)
    flash(request, message)
    return redirect(request, "integration-edit", code=channel.code)


# --- test and remove -----------------------------------------------------------------------------


@post("/integrations/{code:uuid}/test", name="integration-test", status_code=303)
async def integration_test(request: AnyRequest, code: uuid.UUID, data: Form) -> Redirect:
    access, channel = await project_access_by_channel(request, code, Right.WRITE)
    state = AppState.of(request)
    result = await channels.send_test(state.db, channel, state.settings, state.clock())
    if result.ok:
        flash(request, "Test notification sent.")
    else:
        flash(request, f"Test notification failed: {result.error}", "error")
    back = request.app.route_reverse("integrations", code=access.project.code)
    return Redirect(path=safe_next(request, data.get("next"), back), status_code=303)


@get("/integrations/{code:uuid}/remove", name="integration-remove")
async def integration_remove_form(request: AnyRequest, code: uuid.UUID) -> Template:
    access, channel = await project_access_by_channel(request, code, Right.WRITE)
    context = {
        "project": access.project,
        "project_tab": "integrations",
        "channel": channel,
        "label": _label(channel.kind),
        "target": _target(channel),
    }
    return await render(request, "pages/integrations/remove.html", context)


@post("/integrations/{code:uuid}/remove", name="integration-remove-submit", status_code=303)
async def integration_remove(request: AnyRequest, code: uuid.UUID) -> Redirect:
    access, channel = await project_access_by_channel(request, code, Right.WRITE)
    state = AppState.of(request)
    async with write_session(state.db) as session:
        changed = await channels.channel_check_ids(session, channel)
        await channels.delete_channel(session, channel)
    live.hub.publish(changed)
    flash(request, f"{_label(channel.kind)} integration removed.")
    return redirect(request, "integrations", code=access.project.code)


# --- the links in mail about an email channel (no sign-in: app/domain/email_links.py) ----------


def _link_checked(request: AnyRequest, code: uuid.UUID, token: str, purpose: Purpose) -> None:
    if not email_links.is_valid(AppState.of(request).settings.secret_key, code, token, purpose):
        raise NotFoundException("no such link")


def _found(address: str | None) -> str:
    if address is None:
        raise NotFoundException("no such integration")
    return address


@get("/integrations/{code:uuid}/unsub/{token:str}/", name="integration-unsubscribe")
async def unsubscribe_form(request: AnyRequest, code: uuid.UUID, token: str) -> Template:
    """A page that asks first: mail scanners follow links, and only the button (or a mail
    client's one-click POST) unsubscribes."""
    _link_checked(request, code, token, email_links.UNSUBSCRIBE)
    address = _found(await email_links.address(AppState.of(request).db, code))
    context = {"code": code, "token": token, "address": address, "done": False}
    return await render(request, "pages/integrations/unsubscribe.html", context)


@post(
    "/integrations/{code:uuid}/unsub/{token:str}/",
    name="integration-unsubscribe-submit",
    status_code=200,
    # RFC 8058: mail clients POST here without a session or a CSRF token; the signed link
    # is the authority.
    opt={"exclude_from_csrf": True},
)
async def unsubscribe_submit(request: AnyRequest, code: uuid.UUID, token: str) -> Template:
    _link_checked(request, code, token, email_links.UNSUBSCRIBE)
    address = _found(await email_links.unsubscribe(AppState.of(request).db, code))
    context = {"code": code, "token": token, "address": address, "done": True}
    return await render(request, "pages/integrations/unsubscribe.html", context)


@get("/integrations/{code:uuid}/verify/{token:str}/", name="integration-verify")
async def verify_email(request: AnyRequest, code: uuid.UUID, token: str) -> Template:
    """The link mailed to a new email channel's address: opening it allows the alerts."""
    _link_checked(request, code, token, email_links.VERIFY)
    address = _found(await email_links.verify(AppState.of(request).db, code))
    return await render(request, "pages/integrations/verified.html", {"address": address})


route_handlers = [
    integration_list,
    integration_add_form,
    integration_add,
    integration_edit_form,
    integration_save,
    integration_checks,
    integration_test,
    integration_remove_form,
    integration_remove,
    unsubscribe_form,
    unsubscribe_submit,
    verify_email,
]
