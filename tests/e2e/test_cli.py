"""The `cronbeat` command as scripts and the Procfile use it: a real subprocess each time."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db import models as m
from app.domain import keys

CRONBEAT = shutil.which("cronbeat") or str(Path(sys.executable).parent / "cronbeat")


def run(env_extra, *args, check=True):
    env = {**os.environ, "SECRET_KEY": "test-secret-key", **env_extra}
    result = subprocess.run(
        [CRONBEAT, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def env(database_url, db):
    return {"DATABASE_URL": database_url}


def test_db_upgrade_migrates_a_new_database_and_is_idempotent(tmp_path):
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/new.db"}
    assert "up to date" in run(env, "db", "upgrade").stdout
    assert "up to date" in run(env, "db", "upgrade").stdout


async def test_projects_create_prints_keys_once_and_stores_them_hashed(env, db, settings):
    run(env, "users", "create", "alice@example.org", "--password", "correct horse")
    out = run(
        env, "projects", "create", "--owner", "alice@example.org", "--name", "Backups", "--json"
    ).stdout
    data = json.loads(out)
    assert set(data) == {"uuid", "name", "api_key", "api_key_readonly", "ping_key", "badge_key"}
    assert data["name"] == "Backups"
    assert data["api_key"].startswith("hcw_") and len(data["api_key"]) == 32
    assert data["api_key_readonly"].startswith("hcr_") and len(data["api_key_readonly"]) == 32
    assert len(data["ping_key"]) == 22

    async with db.sessionmaker() as session:
        project = await session.scalar(select(m.Project))
        user = await session.scalar(select(m.User))
    assert str(project.code) == data["uuid"]
    assert data["api_key"] not in project.api_key
    assert keys.api_key_matches(data["api_key"], project.api_key, "test-secret-key")
    assert keys.api_key_matches(
        data["api_key_readonly"], project.api_key_readonly, "test-secret-key"
    )
    assert keys.verify_password("correct horse", user.password_hash)


def test_users_create_refuses_a_duplicate_email(env):
    run(env, "users", "create", "bob@example.org")
    result = run(env, "users", "create", "BOB@example.org", check=False)
    assert result.returncode != 0
    assert "a user with email BOB@example.org already exists" in result.stderr


def test_users_create_refuses_a_malformed_email(env):
    result = run(env, "users", "create", "not-an-email", check=False)
    assert result.returncode != 0
    assert "'not-an-email' is not a valid email address" in result.stderr


def test_projects_create_needs_an_existing_owner(env):
    result = run(
        env, "projects", "create", "--owner", "nobody@example.org", "--name", "X", check=False
    )
    assert result.returncode != 0
    assert "no user with email nobody@example.org" in result.stderr


def test_a_malformed_setting_stops_the_command_with_its_name(env):
    result = run({**env, "PING_BODY_LIMIT": "lots"}, "db", "upgrade", check=False)
    assert result.returncode != 0
    assert "PING_BODY_LIMIT must be an integer, got 'lots'" in result.stderr
