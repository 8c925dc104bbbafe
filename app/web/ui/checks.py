"""The checks page: every check of a project with its status, filtered and sorted by GET
parameters, kept live by app/web/sse.py; and the "Add check" form.

The page and its htmx fragment are one template: ``fragments/checks/check_list.html`` is
included by the page and returned alone to htmx requests (filter form, reloads after a check
appears or disappears). The live stream renders rows with the same ``check_row.html``.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException
from litestar.params import Body
from litestar.response import Redirect, Template
from markupsafe import Markup

from app import live
from app.db.engine import write_session
from app.domain import checks as check_service
from app.domain import dashboard
from app.domain.dashboard import CheckFilter, CheckRow
from app.domain.errors import BadRequest, LimitReached, ValidationError
from app.domain.permissions import Right
from app.web.state import AppState
from app.web.ui import formatting
from app.web.ui.base import ProjectAccess, flash, project_access, render

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
LIST_FRAGMENT = "fragments/checks/check_list.html"
ROW_FRAGMENT = "fragments/checks/check_row.html"
NAME_REQUIRED = "Give the check a name."
SLUG_INVALID = "Use only lowercase letters (a-z), digits, hyphens and underscores."
LIMIT_REACHED = "This account has reached its check limit: delete a check to add another."
# Friendlier words for the domain's API-style messages, by field.
_FIELD_MESSAGES = {"slug does not match pattern": SLUG_INVALID}


@dataclass(frozen=True)
class RowLinks:
    """What every row needs besides the check itself; built once per page or stream."""

    ping_endpoint: str
    ping_key: str | None
    details_prefix: str  # + "<uuid>/"
    tag_url: str  # + the url-encoded tag
    tz: str


def row_links(request: Request[Any, Any, Any], access: ProjectAccess) -> RowLinks:
    settings = AppState.of(request).settings
    list_url = checks_url(request, access.project.code)
    return RowLinks(
        ping_endpoint=settings.ping_endpoint,
        ping_key=access.project.ping_key,
        details_prefix=_details_prefix(request),
        tag_url=f"{list_url}?tag=",
        tz=access.viewer.tz,
    )


def checks_url(request: Request[Any, Any, Any], code: uuid.UUID) -> str:
    # route_reverse drops the trailing slash the page's canonical URL has.
    return request.app.route_reverse("checks", code=code).rstrip("/") + "/"


def _details_prefix(request: Request[Any, Any, Any]) -> str:
    """The check page's URL up to the uuid: rows append their code (no reverse per row)."""
    probe = uuid.UUID(int=0)
    return request.app.route_reverse("check-details", code=probe).split(str(probe))[0]


def _row_template(request: Request[Any, Any, Any]) -> Any:
    # Looked up once per page, not once per row: each lookup stats the file (auto-reload).
    return request.app.template_engine.get_template(ROW_FRAGMENT)  # type: ignore[union-attr]


@functools.lru_cache(maxsize=1024)
def schedule_text(kind: str, timeout: int, grace: int, schedule: str, tz: str) -> Markup:
    """``every 1 day, grace 1 hour`` or ``<code>0 3 * * *</code> (Europe/Riga), grace …``.

    Cached: a project's checks share a handful of schedules, and this runs once per row."""
    grace_text = f"grace {formatting.duration(grace)}"
    if kind == "simple":
        return Markup("every {}, {}").format(formatting.duration(timeout), grace_text)
    return Markup("<code>{}</code> ({}), {}").format(schedule, tz, grace_text)


def render_row(
    request: Request[Any, Any, Any], links: RowLinks, row: CheckRow, now: datetime
) -> str:
    """One row's HTML, as the page renders it: what the live stream sends."""
    html: str = _row_template(request).render(
        request=request, row=row, links=links, now=now, tz=links.tz, schedule_text=schedule_text
    )
    return html


def filter_from_query(request: Request[Any, Any, Any]) -> CheckFilter:
    """The page's filter from its query string; 400 with the exact problem if malformed."""
    params = request.query_params
    try:
        return dashboard.parse_filter(
            params.get("q"),
            params.getall("tag", []),
            params.getall("status", []),
            params.get("sort"),
        )
    except ValidationError as error:
        raise ClientException(detail=error.message) from None


def query_string(wanted: CheckFilter, **changes: Any) -> str:
    """``?q=…&tag=…&status=…&sort=…`` for this filter with ``changes``; empty when default."""
    fields: dict[str, Any] = {
        "q": wanted.q,
        "tag": list(wanted.tags),
        "status": list(wanted.statuses),
        "sort": wanted.sort_param if wanted.sort_param != dashboard.DEFAULT_SORT else "",
    }
    fields.update(changes)
    pairs = [(key, value) for key, value in fields.items() if value]
    encoded = urlencode(pairs, doseq=True)
    return f"?{encoded}" if encoded else ""


def _sort_links(list_url: str, wanted: CheckFilter) -> dict[str, dict[str, str]]:
    """Per sortable column: the URL that sorts by it (toggling when current) and aria-sort."""
    links = {}
    for key in dashboard.SORT_KEYS:
        current = wanted.sort == key
        descending = current and not wanted.descending
        value = f"-{key}" if descending else key
        sort = "" if value == dashboard.DEFAULT_SORT else value
        aria = "none"
        if current:
            aria = "descending" if wanted.descending else "ascending"
        links[key] = {"url": list_url + query_string(wanted, sort=sort), "aria": aria}
    return links


async def _list_context(
    request: Request[Any, Any, Any], access: ProjectAccess, wanted: CheckFilter
) -> dict[str, Any]:
    state = AppState.of(request)
    code = access.project.code
    async with state.db.engine.connect() as conn:
        rows = await dashboard.load_rows(conn, access.project.id)
    now = state.clock()
    list_url = checks_url(request, code)
    events_url = request.app.route_reverse("checks-events", code=code)
    return {
        "project": access.project,
        "project_tab": "checks",
        "access": access,
        "rights": access.rights,
        "wanted": wanted,
        "total": len(rows),
        "shown": dashboard.apply_filter(rows, wanted, now),
        "all_tags": dashboard.all_tags(rows),
        "statuses": dashboard.STATUSES,
        "links": row_links(request, access),
        "row_template": _row_template(request),
        "schedule_text": schedule_text,
        "list_url": list_url,
        "current_url": list_url + query_string(wanted),
        "events_url": events_url + query_string(wanted),
        "sort_links": _sort_links(list_url, wanted),
        "ping_endpoint": state.settings.ping_endpoint,
        "now": now,
    }


def _wants_fragment(request: Request[Any, Any, Any]) -> bool:
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


async def _page(
    request: Request[Any, Any, Any],
    access: ProjectAccess,
    wanted: CheckFilter,
    *,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    context = await _list_context(request, access, wanted)
    context["form"] = form or {"name": "", "slug": "", "errors": {}}
    template = LIST_FRAGMENT if _wants_fragment(request) else "pages/checks/index.html"
    return await render(request, template, context, status_code=status_code)


@get("/projects/{code:uuid}/checks/", name="checks")
async def checks_page(request: Request[Any, Any, Any], code: uuid.UUID) -> Template:
    access = await project_access(request, code, Right.VIEW)
    return await _page(request, access, filter_from_query(request))


@post("/projects/{code:uuid}/checks/add/", name="check-add", status_code=303)
async def check_add(
    request: Request[Any, Any, Any], code: uuid.UUID, data: Form
) -> Template | Redirect:
    access = await project_access(request, code, Right.WRITE)
    state = AppState.of(request)
    name = data.get("name", "").strip()
    slug = data.get("slug", "").strip()
    fields = {"name": name, "slug": slug or check_service.slugify(name)[:100]}
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = NAME_REQUIRED
    else:
        try:
            async with write_session(state.db) as session:
                check, _ = await check_service.create_check(
                    session, access.project.id, fields, state.clock()
                )
        except ValidationError as error:
            errors[error.field] = _FIELD_MESSAGES.get(error.message, error.message)
        except (LimitReached, BadRequest) as error:
            errors["form"] = LIMIT_REACHED if isinstance(error, LimitReached) else error.message
    if errors:
        form = {"name": name, "slug": slug, "errors": errors}
        return await _page(request, access, CheckFilter(), form=form, status_code=400)
    live.hub.publish([check.id])
    flash(request, f"Check “{check.name}” added. Its ping URL is on this page.")
    return Redirect(path=f"{_details_prefix(request)}{check.code}/", status_code=303)


route_handlers = [checks_page, check_add]
