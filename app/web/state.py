"""What every request handler needs from the process: settings, database, clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request

from app.config import Settings
from app.db.engine import Database
from app.domain.clock import Clock


@dataclass
class AppState:
    settings: Settings
    db: Database
    clock: Clock

    @staticmethod
    def of(request: Request[Any, Any, Any]) -> AppState:
        return AppState.of_app(request.app)

    @staticmethod
    def of_app(app: Litestar) -> AppState:
        state: AppState = app.state["cronbeat"]
        return state
