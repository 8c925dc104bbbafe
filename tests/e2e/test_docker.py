"""docker/Dockerfile and docker/compose.yml, tested without Docker: the commands compose runs
are the Procfile's and the `cronbeat` command accepts them, the environment compose passes is
one Cronbeat reads without error (every variable a known setting), and the image's
HEALTHCHECK command reports a real server's /health."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from app.cli import main
from app.config import load_settings
from tests.e2e.test_serve import free_port, served  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
APP_SERVICES = ("release", "web", "worker", "scheduler", "smtpd")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DOCKER / "compose.yml").read_text()))


def interpolate(value: object, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} against ``env``."""

    def one(found: re.Match[str]) -> str:
        name, op, rest = found.group(1), found.group(2), found.group(3) or ""
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"compose needs {name}: {rest}")
        return rest if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, str(value))


def procfile() -> dict[str, list[str]]:
    """Procfile process -> the `cronbeat` arguments its line runs."""
    lines = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        words = shlex.split(command)
        if words[0] == "exec":
            words = words[1:]
        assert words[0] == "cronbeat", line
        lines[name.strip()] = words[1:]
    return lines


def known_variables() -> set[str]:
    """Every environment variable Cronbeat reads (settings, and the CLI's option defaults)."""
    source = (ROOT / "app" / "config.py").read_text() + (ROOT / "app" / "cli.py").read_text()
    names = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', source))
    names |= {f"{switch}_ENABLED" for switch in re.findall(r'^\s+"([A-Z]+)",$', source, re.M)}
    return names


def test_compose_has_the_procfile_processes_and_the_services(compose) -> None:
    services = compose["services"]
    assert set(services) == {*APP_SERVICES, "postgres", "redis"}
    lines = procfile()
    assert set(lines) == set(APP_SERVICES)
    for name in APP_SERVICES:
        command = services[name]["command"]
        # The Procfile's subcommand; host and port come from the environment in compose.
        assert command == lines[name][: len(command)], name
        result = CliRunner().invoke(main, [*command, "--help"])
        assert result.exit_code == 0, result.output
    assert "postgres-data" in compose["volumes"]
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert services["postgres"]["healthcheck"]["test"][0] == "CMD-SHELL"


def test_the_release_step_runs_before_the_processes(compose) -> None:
    services = compose["services"]
    assert services["release"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["release"]["restart"] == "no"
    for name in ("web", "worker", "scheduler", "smtpd"):
        depends = services[name]["depends_on"]
        assert depends["release"] == {"condition": "service_completed_successfully"}, name
        assert depends["redis"] == {"condition": "service_healthy"}, name


@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_environment_compose_passes_is_valid_configuration(compose, name) -> None:
    env = {
        key: interpolate(value, {"SECRET_KEY": "s3cret"})
        for key, value in compose["services"][name]["environment"].items()
    }
    unknown = set(env) - known_variables()
    assert not unknown, f"{name} sets variables Cronbeat does not read: {unknown}"
    settings = load_settings(env)
    assert settings.database_url.startswith("postgresql+asyncpg://cronbeat:")
    assert settings.database_url.endswith("@postgres:5432/cronbeat")
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.log_format == "json"
    with pytest.raises(KeyError, match="SECRET_KEY"):
        interpolate(compose["services"][name]["environment"]["SECRET_KEY"], {})
    if name == "smtpd":
        assert (env["SMTPD_HOST"], env["SMTPD_PORT"]) == ("0.0.0.0", "2525")
    if name == "web":
        assert env["PORT"] == "8000"
        assert int(env["WEB_CONCURRENCY"]) >= 1


def dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = (DOCKER / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_the_image_is_multi_stage_slim_not_root_and_runs_cronbeat() -> None:
    lines = dockerfile()
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2
    assert all(line.split()[1] == "python:3.12-slim" for line in stages)
    final = lines[lines.index(stages[1]) :]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert 'ENTRYPOINT ["cronbeat"]' in final
    assert 'CMD ["web"]' in final
    copied = {line.split()[-1] for line in lines if line.startswith("COPY ")}
    for needed in ("./app", "./workers", "./migrations", "./templates", "./static"):
        assert needed in copied


def healthcheck_argv() -> list[str]:
    (line,) = [line for line in dockerfile() if line.startswith("HEALTHCHECK")]
    exec_form = line[line.index("CMD") + 3 :].strip()
    argv = list(yaml.safe_load(exec_form))  # a JSON array
    assert argv[:2] == ["python", "-c"]
    return [sys.executable, *argv[1:]]


def test_the_image_healthcheck_reports_the_web_process(served) -> None:  # noqa: F811
    base, _ = served
    port = base.rsplit(":", 1)[1]
    healthy = subprocess.run(
        healthcheck_argv(), env={**os.environ, "PORT": port}, capture_output=True, timeout=10
    )
    assert healthy.returncode == 0, healthy.stderr
    nobody = subprocess.run(
        healthcheck_argv(),
        env={**os.environ, "PORT": str(free_port())},
        capture_output=True,
        timeout=10,
    )
    assert nobody.returncode != 0
