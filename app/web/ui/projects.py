"""Projects and teams: the list, creation, and the settings page (name, keys, members, ownership,
deletion).

Every action checks its right with ``project_access`` on the server. Destructive actions have a
GET confirmation page at the same URL as the POST that performs them, so they work without
JavaScript. Keys are shown once: the POST that makes one keeps it in the session and the page
it redirects to takes it out again.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Template

from app import live, mail
from app.db import models as m
from app.db.engine import write_session
from app.domain import accounts, projects, ratelimit
from app.domain.errors import Conflict, NotFound, ValidationError
from app.domain.permissions import MEMBER_ROLES, Right, Role
from app.web.state import AppState
from app.web.ui.base import (
    FORBIDDEN,
    Forbidden,
    ProjectAccess,
    SignInRequired,
    absolute_url,
    flash,
    project_access,
    redirect,
    render,
    require_viewer,
)

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
_CREATED_KEYS = "project_created_keys"
_NEW_KEY = "project_new_key"
KEY_KINDS = {"read-write": False, "read-only": True}  # form value → read_only
_KEY_LABELS = {False: "API key", True: "Read-only API key"}
TOO_MANY_INVITES = "You have sent too many invitations today. Try again tomorrow."


# --- the list and creation -----------------------------------------------------------------------


@get("/projects/", name="projects")
async def project_list(request: Request[Any, Any, Any]) -> Template:
    viewer = await require_viewer(request)
    state = AppState.of(request)
    async with state.db.sessionmaker() as session:
        summaries = await projects.list_projects(session, viewer.id, state.clock())
    return await render(
        request,
        "pages/projects/list.html",
        {"nav": "projects", "projects": summaries, "statuses": projects.SUMMARY_STATUSES},
    )


@get("/projects/add/", name="project-add")
async def project_add_form(request: Request[Any, Any, Any]) -> Template:
    await require_viewer(request)
    return await render(request, "pages/projects/add.html", {"nav": "projects", "name": ""})


@post("/projects/add/", name="project-add-submit", status_code=303)
async def project_add(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
    viewer = await require_viewer(request)
    state = AppState.of(request)
    name = data.get("name", "")
    try:
        async with write_session(state.db) as session:
            owner = await session.get(m.User, viewer.id)
            if owner is None:  # deleted since require_viewer loaded them
                raise SignInRequired()
            project, plain = await accounts.create_project(
                session, owner, name, secret_key=state.settings.secret_key
            )
    except ValidationError as error:
        return await render(
            request,
            "pages/projects/add.html",
            {"nav": "projects", "name": name, "error": error.message},
            status_code=400,
        )
    request.session[_CREATED_KEYS] = {
        "code": str(project.code),
        "api_key": plain.api_key,
        "api_key_readonly": plain.api_key_readonly,
        "ping_key": plain.ping_key,
    }
    flash(request, f"Project “{project.name}” created.")
    return redirect(request, "project-created", code=project.code)


@get("/projects/{code:uuid}/created/", name="project-created")
async def project_created(request: Request[Any, Any, Any], code: uuid.UUID) -> Template:
    access = await project_access(request, code, Right.VIEW)
    shown = request.session.get(_CREATED_KEYS)
    created_keys = None
    if isinstance(shown, dict) and shown.get("code") == str(code):
        # Shown once: a reload finds nothing (only hashes of the API keys are stored).
        created_keys = request.session.pop(_CREATED_KEYS)
    return await render(
        request,
        "pages/projects/created.html",
        {
            "nav": "projects",
            "project": access.project,
            "created_keys": created_keys,
            "ping_endpoint": AppState.of(request).settings.ping_endpoint,
        },
    )


# --- the settings page ---------------------------------------------------------------------------


async def _settings_page(
    request: Request[Any, Any, Any],
    access: ProjectAccess,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    state = AppState.of(request)
    async with state.db.sessionmaker() as session:
        team = await projects.list_team(session, access.project)
    new_key = request.session.pop(_NEW_KEY, None)
    if not (isinstance(new_key, dict) and new_key.get("code") == str(access.project.code)):
        new_key = None
    project = access.project
    return await render(
        request,
        "pages/projects/settings.html",
        {
            "nav": "projects",
            "project": project,
            "project_tab": "settings",
            "access": access,
            "rights": access.rights,
            "team": team,
            "member_roles": MEMBER_ROLES,
            "keys_set": {
                "read-write": bool(project.api_key),
                "read-only": bool(project.api_key_readonly),
            },
            "new_key": new_key,
            "ping_endpoint": state.settings.ping_endpoint,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


@get("/projects/{code:uuid}/settings/", name="project-settings")
async def project_settings(request: Request[Any, Any, Any], code: uuid.UUID) -> Template:
    access = await project_access(request, code, Right.VIEW)
    return await _settings_page(request, access)


@post("/projects/{code:uuid}/settings/name/", name="project-rename", status_code=303)
async def project_rename(
    request: Request[Any, Any, Any], code: uuid.UUID, data: Form
) -> Template | Redirect:
    access = await project_access(request, code, Right.WRITE)
    name = data.get("name", "")
    try:
        async with write_session(AppState.of(request).db) as session:
            name = await projects.rename_project(session, access.project.id, name)
    except ValidationError as error:
        return await _settings_page(
            request, access, errors={"name": error.message}, values={"name": name}, status_code=400
        )
    flash(request, f"Project renamed to “{name}”.")
    return redirect(request, "project-settings", code=code)


# --- keys ----------------------------------------------------------------------------------------


def _key_kind(value: str | None) -> bool:
    """read_only for a form's ``kind``; a value no page offers is a 400 naming the choices."""
    if value not in KEY_KINDS:
        raise ClientException(detail="kind must be read-write or read-only")
    return KEY_KINDS[value]


async def _confirm(
    request: Request[Any, Any, Any], access: ProjectAccess, **context: Any
) -> Template:
    status_code = context.pop("status_code", 200)
    return await render(
        request,
        "pages/projects/confirm.html",
        {"nav": "projects", "project": access.project, "fields": {}, **context},
        status_code=status_code,
    )


@get("/projects/{code:uuid}/settings/keys/", name="project-key-create-confirm")
async def key_create_confirm(
    request: Request[Any, Any, Any], code: uuid.UUID, kind: str | None = None
) -> Template:
    access = await project_access(request, code, Right.WRITE)
    read_only = _key_kind(kind)
    label = _KEY_LABELS[read_only]
    return await _confirm(
        request,
        access,
        title=f"Create a new {label.lower()}?",
        message=f"The current {label.lower()} stops working at once. "
        "Scripts and tools using it need the new key.",
        action=request.app.route_reverse("project-key-create", code=code),
        fields={"kind": kind},
        button=f"Create new {label.lower()}",
    )


@post("/projects/{code:uuid}/settings/keys/", name="project-key-create", status_code=303)
async def key_create(request: Request[Any, Any, Any], code: uuid.UUID, data: Form) -> Redirect:
    access = await project_access(request, code, Right.WRITE)
    read_only = _key_kind(data.get("kind"))
    state = AppState.of(request)
    async with write_session(state.db) as session:
        plain = await projects.create_api_key(
            session, access.project.id, read_only=read_only, secret_key=state.settings.secret_key
        )
    label = _KEY_LABELS[read_only]
    request.session[_NEW_KEY] = {"code": str(code), "label": label, "value": plain}
    flash(request, f"New {label.lower()} created. Copy it now: it is shown only once.")
    return redirect(request, "project-settings", code=code)


@get("/projects/{code:uuid}/settings/keys/revoke/", name="project-key-revoke-confirm")
async def key_revoke_confirm(
    request: Request[Any, Any, Any], code: uuid.UUID, kind: str | None = None
) -> Template:
    access = await project_access(request, code, Right.WRITE)
    label = _KEY_LABELS[_key_kind(kind)].lower()
    return await _confirm(
        request,
        access,
        title=f"Revoke the {label}?",
        message=f"Requests using the {label} will be refused from now on.",
        action=request.app.route_reverse("project-key-revoke", code=code),
        fields={"kind": kind},
        button=f"Revoke the {label}",
    )


@post("/projects/{code:uuid}/settings/keys/revoke/", name="project-key-revoke", status_code=303)
async def key_revoke(request: Request[Any, Any, Any], code: uuid.UUID, data: Form) -> Redirect:
    access = await project_access(request, code, Right.WRITE)
    read_only = _key_kind(data.get("kind"))
    async with write_session(AppState.of(request).db) as session:
        await projects.revoke_api_key(session, access.project.id, read_only=read_only)
    flash(request, f"{_KEY_LABELS[read_only]} revoked.")
    return redirect(request, "project-settings", code=code)


@get("/projects/{code:uuid}/settings/ping-key/", name="project-ping-key-confirm")
async def ping_key_confirm(request: Request[Any, Any, Any], code: uuid.UUID) -> Template:
    access = await project_access(request, code, Right.WRITE)
    return await _confirm(
        request,
        access,
        title="Create a new ping key?",
        message="Every ping URL by slug (…/ping/<ping key>/<slug>) changes: jobs still using "
        "the old URLs will get 404 and their checks will go down. URLs by UUID do not change.",
        action=request.app.route_reverse("project-ping-key", code=code),
        button="Create new ping key",
    )


@post("/projects/{code:uuid}/settings/ping-key/", name="project-ping-key", status_code=303)
async def ping_key_create(request: Request[Any, Any, Any], code: uuid.UUID) -> Redirect:
    access = await project_access(request, code, Right.WRITE)
    async with write_session(AppState.of(request).db) as session:
        await projects.create_ping_key(session, access.project.id)
    flash(request, "New ping key created. Update the slug URLs your jobs use.")
    return redirect(request, "project-settings", code=code)


# --- members -------------------------------------------------------------------------------------


@post("/projects/{code:uuid}/settings/members/", name="project-invite", status_code=303)
async def member_invite(
    request: Request[Any, Any, Any], code: uuid.UUID, data: Form
) -> Template | Redirect:
    access = await project_access(request, code, Right.MANAGE_TEAM)
    state = AppState.of(request)
    email, role_value = data.get("email", ""), data.get("role", Role.REGULAR.value)
    values = {"email": email, "role": role_value}
    try:
        role = projects.parse_role(role_value)
        # Outside the invite's transaction: the bucket has its own (SQLite has one writer).
        if not await ratelimit.allow(
            state.db, state.clock(), (ratelimit.INVITES_PER_USER, str(access.viewer.id))
        ):
            return await _settings_page(
                request, access, errors={"email": TOO_MANY_INVITES}, values=values, status_code=429
            )
        async with write_session(state.db) as session:
            invitation = await projects.invite_member(session, access.project, email, role)
    except ValidationError as error:
        return await _settings_page(
            request, access, errors={error.field: error.message}, values=values, status_code=400
        )
    await _send_invitation(request, access, invitation)
    return redirect(request, "project-settings", code=code)


async def _send_invitation(
    request: Request[Any, Any, Any], access: ProjectAccess, invitation: projects.Invitation
) -> None:
    settings = AppState.of(request).settings
    login_url = absolute_url(request, "login")
    message = projects.invitation_email(
        settings,
        inviter=access.viewer.email,
        project_name=access.project.name,
        to=invitation.user.email,
        login_url=login_url,
        new_user=invitation.new_user,
    )
    try:
        await mail.send(settings, message)
    except mail.MailError as error:
        flash(
            request,
            f"{invitation.user.email} was added, but the invitation email failed: {error.message}",
            "error",
        )
        return
    flash(request, f"{invitation.user.email} was added to the project and sent an invitation.")


@post(
    "/projects/{code:uuid}/settings/members/{user_id:int}/role/",
    name="project-member-role",
    status_code=303,
)
async def member_role(
    request: Request[Any, Any, Any], code: uuid.UUID, user_id: int, data: Form
) -> Template | Redirect:
    access = await project_access(request, code, Right.MANAGE_TEAM)
    try:
        role = projects.parse_role(data.get("role", ""))
        async with write_session(AppState.of(request).db) as session:
            await projects.change_role(session, access.project.id, user_id, role)
    except ValidationError as error:
        return await _settings_page(
            request, access, errors={f"role-{user_id}": error.message}, status_code=400
        )
    except NotFound as error:
        raise NotFoundException(error.message) from None
    flash(request, f"Role changed to {role.label}.")
    return redirect(request, "project-settings", code=code)


async def _removal_access(
    request: Request[Any, Any, Any], code: uuid.UUID, user_id: int
) -> ProjectAccess:
    """Managers remove anyone; every member may remove themselves (leave)."""
    access = await project_access(request, code, Right.VIEW)
    if access.viewer.id != user_id and not access.can(Right.MANAGE_TEAM):
        raise Forbidden(detail=FORBIDDEN[Right.MANAGE_TEAM])
    return access


@get(
    "/projects/{code:uuid}/settings/members/{user_id:int}/remove/",
    name="project-member-remove-confirm",
)
async def member_remove_confirm(
    request: Request[Any, Any, Any], code: uuid.UUID, user_id: int
) -> Template:
    access = await _removal_access(request, code, user_id)
    member = await _team_member(request, access, user_id)
    leaving = member.user_id == access.viewer.id
    return await _confirm(
        request,
        access,
        title="Leave this project?" if leaving else f"Remove {member.email}?",
        message="You will no longer see this project."
        if leaving
        else f"{member.email} will no longer see this project.",
        action=request.app.route_reverse("project-member-remove", code=code, user_id=user_id),
        button="Leave project" if leaving else "Remove member",
    )


@post(
    "/projects/{code:uuid}/settings/members/{user_id:int}/remove/",
    name="project-member-remove",
    status_code=303,
)
async def member_remove(request: Request[Any, Any, Any], code: uuid.UUID, user_id: int) -> Redirect:
    access = await _removal_access(request, code, user_id)
    try:
        async with write_session(AppState.of(request).db) as session:
            await projects.remove_member(session, access.project.id, user_id)
    except NotFound as error:
        raise NotFoundException(error.message) from None
    if user_id == access.viewer.id:
        flash(request, f"You left “{access.project.name}”.")
        return redirect(request, "projects")
    flash(request, "Member removed.")
    return redirect(request, "project-settings", code=code)


async def _team_member(
    request: Request[Any, Any, Any], access: ProjectAccess, user_id: int
) -> projects.TeamMember:
    async with AppState.of(request).db.sessionmaker() as session:
        team = await projects.list_team(session, access.project)
    for member in team[1:]:  # the owner is not a membership
        if member.user_id == user_id:
            return member
    raise NotFoundException("no such member in this project")


# --- ownership and deletion ----------------------------------------------------------------------


@get("/projects/{code:uuid}/settings/transfer/{user_id:int}/", name="project-transfer-confirm")
async def transfer_confirm(
    request: Request[Any, Any, Any], code: uuid.UUID, user_id: int
) -> Template:
    access = await project_access(request, code, Right.OWN)
    member = await _team_member(request, access, user_id)
    return await _confirm(
        request,
        access,
        title=f"Make {member.email} the owner?",
        message=f"{member.email} becomes the owner of “{access.project.name}”, with every right "
        "including deleting it. You stay on as a manager.",
        action=request.app.route_reverse("project-transfer", code=code, user_id=user_id),
        button="Transfer ownership",
    )


@post(
    "/projects/{code:uuid}/settings/transfer/{user_id:int}/",
    name="project-transfer",
    status_code=303,
)
async def transfer(request: Request[Any, Any, Any], code: uuid.UUID, user_id: int) -> Redirect:
    access = await project_access(request, code, Right.OWN)
    try:
        async with write_session(AppState.of(request).db) as session:
            await projects.transfer_ownership(session, access.project.id, user_id)
    except (NotFound, Conflict) as error:
        raise NotFoundException(error.message) from None
    flash(request, "Ownership transferred. You are now a manager of this project.")
    return redirect(request, "project-settings", code=code)


@get("/projects/{code:uuid}/settings/delete/", name="project-delete-confirm")
async def delete_confirm(request: Request[Any, Any, Any], code: uuid.UUID) -> Template:
    access = await project_access(request, code, Right.OWN)
    return await _delete_page(request, access)


async def _delete_page(
    request: Request[Any, Any, Any], access: ProjectAccess, error: str = "", status_code: int = 200
) -> Template:
    return await _confirm(
        request,
        access,
        title=f"Delete “{access.project.name}”?",
        message="This deletes the project with all its checks, their pings and history, and its "
        "integrations. It cannot be undone.",
        action=request.app.route_reverse("project-delete", code=access.project.code),
        button="Delete this project",
        confirm_name=True,
        error=error,
        status_code=status_code,
    )


@post("/projects/{code:uuid}/settings/delete/", name="project-delete", status_code=303)
async def delete(
    request: Request[Any, Any, Any], code: uuid.UUID, data: Form
) -> Template | Redirect:
    access = await project_access(request, code, Right.OWN)
    try:
        async with write_session(AppState.of(request).db) as session:
            check_ids = await projects.delete_project(
                session, access.project, data.get("confirm_name", "")
            )
    except ValidationError as error:
        return await _delete_page(request, access, error.message, status_code=400)
    live.hub.publish(check_ids)  # open dashboards of those checks learn they are gone
    flash(request, f"Project “{access.project.name}” deleted.")
    return redirect(request, "projects")


route_handlers = [
    project_list,
    project_add_form,
    project_add,
    project_created,
    project_settings,
    project_rename,
    key_create_confirm,
    key_create,
    key_revoke_confirm,
    key_revoke,
    ping_key_confirm,
    ping_key_create,
    member_invite,
    member_role,
    member_remove_confirm,
    member_remove,
    transfer_confirm,
    transfer,
    delete_confirm,
    delete,
]
