"""The dashboard: HTML pages (htmx-enhanced), signed-in users only except the front door."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router
from litestar.exceptions import HTTPException

from app.web import sse as checks_live
from app.web.ui import accounts, check_details, home, profile
from app.web.ui import checks as checks_pages
from app.web.ui import integrations as integrations_pages
from app.web.ui import projects as projects_pages
from app.web.ui.base import SignInRequired, render_loaded, sign_in_redirect

# One line per page module.
PAGE_MODULES = [home, accounts, profile]
PAGE_MODULES.append(projects_pages)
PAGE_MODULES.extend([checks_pages, checks_live])
PAGE_MODULES.append(integrations_pages)
PAGE_MODULES.append(check_details)


def _sign_in_required(request: Request[Any, Any, Any], _exc: Exception) -> Response[Any]:
    if request.headers.get("hx-request"):
        # An htmx request would swap the sign-in page into a fragment: reload instead.
        target = request.app.route_reverse("login")
        return Response(b"", status_code=401, headers={"HX-Redirect": target})
    return sign_in_redirect(request)


def _error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    message = exc.detail or "Something went wrong."
    if status == 404:
        message = "There is nothing here, or you do not have access to it."
    return render_loaded(
        request, "pages/error.html", {"status": status, "message": message}, status_code=status
    )


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[h for module in PAGE_MODULES for h in module.route_handlers],
        exception_handlers={SignInRequired: _sign_in_required, HTTPException: _error_page},
    )
