"""The front page: what this server is and how to send it a first ping."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template
from sqlalchemy import func, select

from app.db import models as m
from app.web.state import AppState
from app.web.ui.base import current_viewer, render


@get("/", name="home", include_in_schema=False)
async def home_view(request: Request[Any, Any, Any]) -> Template | Redirect:
    if await current_viewer(request) is not None:
        return Redirect(path=request.app.route_reverse("projects"))
    state = AppState.of(request)
    async with state.db.engine.connect() as conn:
        projects = (await conn.execute(select(func.count()).select_from(m.Project))).scalar_one()
        checks = (await conn.execute(select(func.count()).select_from(m.Check))).scalar_one()
    return await render(
        request,
        "pages/home.html",
        {
            "ping_endpoint": state.settings.ping_endpoint,
            "site_root": state.settings.site_root,
            "projects": projects,
            "checks": checks,
        },
    )


route_handlers = [home_view]
