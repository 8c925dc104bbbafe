"""Jinja filters for the pages: times in the viewer's zone, relative times, durations."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from litestar.plugins.jinja import JinjaTemplateEngine

from app.domain.reports import zone

STATUS_LABELS = {
    "new": "New",
    "up": "Up",
    "grace": "Late",
    "down": "Down",
    "paused": "Paused",
    "started": "Running",
}

_UNITS = (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def localtime(value: datetime | None, tz: str = "UTC", fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    """An aware time in the viewer's zone: ``2026-01-15 14:00:00 EET``."""
    if value is None:
        return "never"
    return value.astimezone(zone(tz)).strftime(fmt)


def duration(seconds: float | timedelta | None, parts: int = 2) -> str:
    """``90061`` → ``1 day 1 hour``; the largest ``parts`` units, singular or plural."""
    if seconds is None:
        return ""
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    remaining = round(seconds)
    if remaining <= 0:
        return "0 seconds"
    out: list[str] = []
    for name, size in _UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            out.append(f"{count} {name}{'' if count == 1 else 's'}")
        if len(out) == parts:
            break
    return " ".join(out)


def reltime(value: datetime | None, now: datetime) -> str:
    """``3 minutes ago`` / ``in 2 hours`` / ``just now`` / ``never``."""
    if value is None:
        return "never"
    delta = (now - value).total_seconds()
    if abs(delta) < 10:
        return "just now"
    text = duration(abs(delta), parts=1)
    return f"{text} ago" if delta > 0 else f"in {text}"


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.capitalize())


def configure(engine: JinjaTemplateEngine) -> None:
    filters: dict[str, Any] = {
        "localtime": localtime,
        "reltime": reltime,
        "duration": duration,
        "status_label": status_label,
    }
    engine.engine.filters.update(filters)
