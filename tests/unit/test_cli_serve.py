"""`cronbeat serve` defaults: more vendor calls in flight per host than a worker process."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from app import cli
from app.config import Settings, get_settings


@pytest.fixture
def started(monkeypatch):
    seen: list[Settings] = []
    monkeypatch.setattr("app.db.migrate.upgrade", lambda url: None)
    monkeypatch.setattr(
        "app.embedded.run_embedded", lambda settings, host, port: seen.append(settings)
    )
    monkeypatch.delenv("DELIVERY_CALLS_PER_HOST", raising=False)
    monkeypatch.setenv("SECRET_KEY", "k")
    get_settings.cache_clear()
    yield seen
    os.environ.pop("DELIVERY_CALLS_PER_HOST", None)  # what `serve` set for its process
    get_settings.cache_clear()


def test_serve_allows_more_calls_per_host_than_a_worker_process(started):
    assert CliRunner().invoke(cli.main, ["serve"]).exit_code == 0
    [settings] = started
    assert settings.delivery_calls_per_host == cli.EMBEDDED_CALLS_PER_HOST == 8
    assert Settings().delivery_calls_per_host == 4


def test_the_setting_still_wins(started, monkeypatch):
    monkeypatch.setenv("DELIVERY_CALLS_PER_HOST", "2")
    assert CliRunner().invoke(cli.main, ["serve"]).exit_code == 0
    assert started[0].delivery_calls_per_host == 2
