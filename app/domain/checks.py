"""A check as Healthchecks' API v3 shows it (reference §3.5), used by the API and by webhooks."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from app.config import Settings
from app.domain import status as status_rules


def unique_key(code: Any) -> str:
    """sha1 of the first 16 hex digits of the uuid: a stable id that reveals no ping URL."""
    return hashlib.sha1(code.hex[:16].encode(), usedforsecurity=False).hexdigest()


def isoformat(value: datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() if value else None


def check_to_dict(
    check: Any,
    settings: Settings,
    now: datetime,
    *,
    readonly: bool = False,
    version: int = 3,
    channel_codes: list[str] | None = None,
) -> dict[str, Any]:
    """The check's API JSON; ``check`` is a Check row (or anything with its attributes)."""
    started = check.last_start is not None
    displayed = status_rules.displayed_status(check, now, with_started=version == 1)
    result: dict[str, Any] = {
        "name": check.name,
        "slug": check.slug,
        "tags": check.tags,
        "desc": check.desc,
        "grace": int(check.grace),
        "n_pings": check.n_pings,
        "status": displayed,
        "started": started,
        "last_ping": isoformat(check.last_ping),
        "next_ping": isoformat(status_rules.grace_start(check)),
        "manual_resume": check.manual_resume,
        "methods": check.methods,
        "subject": check.success_kw if check.filter_subject else "",
        "subject_fail": check.failure_kw if check.filter_subject else "",
        "start_kw": check.start_kw,
        "success_kw": check.success_kw,
        "failure_kw": check.failure_kw,
        "filter_subject": check.filter_subject,
        "filter_body": check.filter_body,
        "filter_http_body": check.filter_http_body,
        "filter_default_fail": check.filter_default_fail,
        "badge_url": f"{settings.site_root}/b/2/{check.badge_key}.svg",
    }
    if check.last_duration:
        result["last_duration"] = int(check.last_duration)
    if readonly:
        result["unique_key"] = unique_key(check.code)
    else:
        update_url = f"{settings.site_root}/api/v{version}/checks/{check.code}"
        result.update(
            uuid=str(check.code),
            ping_url=f"{settings.ping_endpoint}{check.code}",
            update_url=update_url,
            pause_url=f"{update_url}/pause",
            resume_url=f"{update_url}/resume",
            channels=",".join(sorted(channel_codes or [])),
        )
    if check.kind == "simple":
        result["timeout"] = int(check.timeout)
    else:
        result["schedule"] = check.schedule
        result["tz"] = check.tz
    return result
