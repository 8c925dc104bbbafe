"""Shared pieces for integration tests: a sample event and a delivery context on loopback."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from app.config import Settings, load_settings
from app.integrations.base import CheckInfo, DeliveryContext, Event, PingInfo, new_http_client

CHECK_CODE = uuid.UUID("0d3c5a3e-4a6f-4b8e-9c1d-2e3f4a5b6c7d")
NOTIFICATION_CODE = uuid.UUID("11111111-2222-4333-8444-555555555555")
WHEN = datetime(2026, 1, 15, 12, 30, 5, tzinfo=UTC)


def make_event(status: str = "down", reason: str = "timeout", **check_fields: Any) -> Event:
    check = CheckInfo(
        code=CHECK_CODE,
        name="DB Backup",
        slug="db-backup",
        tags="prod db",
        desc="Nightly pg_dump",
        kind="simple",
        timeout=86400,
        grace=3600,
        schedule="* * * * *",
        tz="UTC",
        status=status,
        n_pings=42,
        last_ping=WHEN,
        unique_key="a" * 40,
        project_name="Acme",
        details_url=f"http://cronbeat.test/checks/{CHECK_CODE}/",
        as_json={"name": "DB Backup", "status": status},
    )
    check = replace(check, **check_fields)
    ping = PingInfo(
        n=42,
        kind="fail" if reason == "fail" else "success",
        created=WHEN,
        scheme="https",
        remote_addr="203.0.113.9",
        method="POST",
        ua="curl/8.0",
        body="exit 1: disk full",
        exitstatus=1 if reason == "fail" else 0,
    )
    return Event(
        status=status,
        reason=reason,
        created=WHEN,
        check=check,
        last_ping=ping,
        notification_code=NOTIFICATION_CODE,
        site_name="Cronbeat",
    )


@pytest.fixture
def integration_settings() -> Settings:
    """Private addresses allowed, so transports may call the test servers on 127.0.0.1."""
    return replace(
        load_settings({"SECRET_KEY": "k", "SITE_ROOT": "http://cronbeat.test"}),
        integrations_allow_private_ips=True,
    )


@pytest.fixture
async def ctx(integration_settings: Settings) -> AsyncIterator[DeliveryContext]:
    async with new_http_client() as http:
        yield DeliveryContext(settings=integration_settings, http=http)
