"""Settings from the environment: one typed object, read once.

Names follow Healthchecks where it has one. A malformed value stops start-up with a
message naming the variable (``ConfigError``), never a traceback deep in the app.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./cronbeat.db"
INSECURE_SECRET_KEY = "cronbeat-insecure-development-key"  # noqa: S105 - a flagged dev default


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be a boolean (true/false/1/0), got {raw!r}")


def _parse_int(name: str, raw: str, minimum: int | None = None) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _parse_float(name: str, raw: str, minimum: float = 0.0) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= minimum:
        raise ConfigError(f"{name} must be greater than {minimum}, got {raw!r}")
    return value


def _parse_url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    value = raw.strip()
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in schemes or not rest:
        raise ConfigError(f"{name} must be a URL starting with one of {', '.join(schemes)}")
    return value


_DB_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg", "postgresql", "postgres")


def _database_url(name: str, raw: str) -> str:
    value = _parse_url(name, raw, _DB_SCHEMES)
    # Heroku-style URLs name no driver; we always talk to PostgreSQL through asyncpg.
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            return "postgresql+asyncpg://" + value[len(prefix) :]
    return value


@dataclass(frozen=True)
class Settings:
    secret_key: str = INSECURE_SECRET_KEY
    site_root: str = "http://localhost:8000"
    site_name: str = "Cronbeat"
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    ping_endpoint: str = ""
    ping_email_domain: str = "localhost"
    ping_body_limit: int | None = 10000
    sweep_interval: float = 2.0
    registration_open: bool = True
    email_host: str | None = None
    email_port: int = 587
    email_host_user: str = ""
    email_host_password: str = ""
    email_use_tls: bool = True
    email_use_ssl: bool = False
    email_use_verification: bool = True
    default_from_email: str = "cronbeat@localhost"
    rp_id: str = "localhost"
    remote_user_header: str | None = None
    metrics_key: str | None = None
    integrations_allow_private_ips: bool = False
    # Vendor calls in flight to one host, per worker process (app/integrations/base.py).
    delivery_calls_per_host: int = 8
    db_pool_size: int = 20
    # Embedded mode (`cronbeat serve`) also listens for email pings when this is set.
    smtpd_port: int | None = None
    # Healthchecks' switch for the per-project Prometheus endpoint.
    prometheus_enabled: bool = True
    # Logs: "json" (one object per line), "console" (readable), or "auto" (console on a
    # terminal, JSON otherwise: under a process manager, a container or a PaaS).
    log_format: str = "auto"
    log_level: str = "INFO"
    # Proxies whose X-Forwarded-For/-Proto headers `cronbeat web` trusts (uvicorn's setting).
    forwarded_allow_ips: str = "127.0.0.1"
    # Integrations: credentials, on/off switches, and vendor base URLs (settings, so tests
    # and self-hosted vendors can point them elsewhere).
    webhooks_enabled: bool = True
    slack_enabled: bool = True
    discord_enabled: bool = True
    msteams_enabled: bool = True
    mattermost_enabled: bool = True
    ntfy_enabled: bool = True
    gotify_enabled: bool = True
    pagerduty_enabled: bool = True
    opsgenie_enabled: bool = True
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    pushover_api_token: str | None = None
    pushover_api_url: str = "https://api.pushover.net"
    pagerduty_api_url: str = "https://events.pagerduty.com"
    opsgenie_api_url: str = "https://api.opsgenie.com"
    opsgenie_eu_api_url: str = "https://api.eu.opsgenie.com"
    twilio_account: str | None = None
    twilio_auth: str | None = None
    twilio_from: str | None = None
    twilio_api_url: str = "https://api.twilio.com"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def site_path(self) -> str:
        """The path part of SITE_ROOT ('' or '/hc'): every route is mounted under it."""
        _, _, rest = self.site_root.partition("://")
        _, slash, path = rest.partition("/")
        return ("/" + path).rstrip("/") if slash else ""


def _get(env: Mapping[str, str], name: str, parse: Callable[[str, str], T], default: T) -> T:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return parse(name, raw)


def _text(name: str, raw: str) -> str:
    return raw.strip()


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return value

    return parse


LOG_FORMATS = ("auto", "json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from ``env`` (default ``os.environ``); raise ConfigError on bad input."""
    env = os.environ if env is None else env
    site_root = _get(
        env, "SITE_ROOT", lambda n, r: _parse_url(n, r, ("http", "https")), "http://localhost:8000"
    ).rstrip("/")
    database_url = _get(env, "DATABASE_URL", _database_url, DEFAULT_DATABASE_URL)
    secret_key = _get(env, "SECRET_KEY", _text, INSECURE_SECRET_KEY)
    if secret_key == INSECURE_SECRET_KEY and not database_url.startswith("sqlite"):
        raise ConfigError("SECRET_KEY must be set when DATABASE_URL points at PostgreSQL")
    if secret_key == INSECURE_SECRET_KEY:
        warnings.warn("SECRET_KEY is not set; using an insecure development key", stacklevel=2)

    body_limit_raw = env.get("PING_BODY_LIMIT")
    ping_body_limit: int | None = 10000
    if body_limit_raw is not None:
        ping_body_limit = (
            None
            if body_limit_raw.strip().lower() in {"", "none"}
            else _parse_int("PING_BODY_LIMIT", body_limit_raw, minimum=0)
        )

    sweep_raw = env.get("SWEEP_INTERVAL") or env.get("HEARTBEAT_CHECK_INTERVAL")
    sweep_name = "SWEEP_INTERVAL" if env.get("SWEEP_INTERVAL") else "HEARTBEAT_CHECK_INTERVAL"
    sweep_interval = _parse_float(sweep_name, sweep_raw) if sweep_raw else 2.0

    redis_url = _get(
        env, "REDIS_URL", lambda n, r: _parse_url(n, r, ("redis", "rediss", "unix")), None
    )
    return Settings(
        secret_key=secret_key,
        site_root=site_root,
        site_name=_get(env, "SITE_NAME", _text, "Cronbeat"),
        database_url=database_url,
        redis_url=redis_url,
        ping_endpoint=_get(
            env,
            "PING_ENDPOINT",
            lambda n, r: _parse_url(n, r, ("http", "https")),
            site_root + "/ping/",
        ),
        ping_email_domain=_get(env, "PING_EMAIL_DOMAIN", _text, "localhost"),
        ping_body_limit=ping_body_limit,
        sweep_interval=sweep_interval,
        registration_open=_get(env, "REGISTRATION_OPEN", _parse_bool, True),
        email_host=_get(env, "EMAIL_HOST", _text, None),
        email_port=_get(env, "EMAIL_PORT", lambda n, r: _parse_int(n, r, 1), 587),
        email_host_user=_get(env, "EMAIL_HOST_USER", _text, ""),
        email_host_password=env.get("EMAIL_HOST_PASSWORD", ""),
        email_use_tls=_get(env, "EMAIL_USE_TLS", _parse_bool, True),
        email_use_ssl=_get(env, "EMAIL_USE_SSL", _parse_bool, False),
        email_use_verification=_get(env, "EMAIL_USE_VERIFICATION", _parse_bool, True),
        default_from_email=_get(env, "DEFAULT_FROM_EMAIL", _text, "cronbeat@localhost"),
        rp_id=_get(env, "RP_ID", _text, "localhost"),
        remote_user_header=_get(env, "REMOTE_USER_HEADER", _text, None),
        metrics_key=_get(env, "METRICS_KEY", _text, None),
        integrations_allow_private_ips=_get(
            env, "INTEGRATIONS_ALLOW_PRIVATE_IPS", _parse_bool, False
        ),
        delivery_calls_per_host=_get(
            env, "DELIVERY_CALLS_PER_HOST", lambda n, r: _parse_int(n, r, 1), 8
        ),
        db_pool_size=_get(env, "DB_POOL_SIZE", lambda n, r: _parse_int(n, r, 1), 20),
        smtpd_port=_get(env, "SMTPD_PORT", lambda n, r: _parse_int(n, r, 1), None),
        prometheus_enabled=_get(env, "PROMETHEUS_ENABLED", _parse_bool, True),
        log_format=_get(env, "LOG_FORMAT", _choice(*LOG_FORMATS), "auto"),
        log_level=_get(env, "LOG_LEVEL", _choice(*LOG_LEVELS), "info").upper(),
        forwarded_allow_ips=_get(env, "FORWARDED_ALLOW_IPS", _text, "127.0.0.1"),
        **_integration_settings(env),
    )


_SWITCHES = (
    "WEBHOOKS",
    "SLACK",
    "DISCORD",
    "MSTEAMS",
    "MATTERMOST",
    "NTFY",
    "GOTIFY",
    "PAGERDUTY",
    "OPSGENIE",
)
_SECRETS = ("TELEGRAM_TOKEN", "PUSHOVER_API_TOKEN", "TWILIO_ACCOUNT", "TWILIO_AUTH", "TWILIO_FROM")
_VENDOR_URLS = (
    "TELEGRAM_API_URL",
    "PUSHOVER_API_URL",
    "PAGERDUTY_API_URL",
    "OPSGENIE_API_URL",
    "OPSGENIE_EU_API_URL",
    "TWILIO_API_URL",
)


def _integration_settings(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _SWITCHES:
        values[f"{name.lower()}_enabled"] = _get(env, f"{name}_ENABLED", _parse_bool, True)
    for name in _SECRETS:
        values[name.lower()] = _get(env, name, _text, None)
    for name in _VENDOR_URLS:
        raw = env.get(name)
        if raw:
            values[name.lower()] = _parse_url(name, raw, ("http", "https")).rstrip("/")
    return values


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
