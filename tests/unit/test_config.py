import pytest

from app.config import DEFAULT_DATABASE_URL, ConfigError, load_settings


def test_it_has_the_documented_defaults():
    settings = load_settings({"SECRET_KEY": "k"})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.site_root == "http://localhost:8000"
    assert settings.ping_endpoint == "http://localhost:8000/ping/"
    assert settings.ping_body_limit == 10000
    assert settings.sweep_interval == 2.0
    assert settings.redis_url is None
    assert settings.registration_open is True
    assert settings.integrations_allow_private_ips is False
    assert settings.email_host is None
    assert settings.delivery_calls_per_host == 8
    assert settings.email_use_verification is True
    assert load_settings({"EMAIL_USE_VERIFICATION": "false"}).email_use_verification is False


def test_it_derives_the_ping_endpoint_from_site_root():
    settings = load_settings({"SECRET_KEY": "k", "SITE_ROOT": "https://hc.example.org/"})
    assert settings.site_root == "https://hc.example.org"
    assert settings.ping_endpoint == "https://hc.example.org/ping/"
    assert settings.site_path == ""


def test_it_mounts_under_the_path_of_site_root():
    settings = load_settings({"SECRET_KEY": "k", "SITE_ROOT": "https://example.org/hc"})
    assert settings.site_path == "/hc"


def test_it_reads_heartbeat_check_interval_as_an_alias():
    assert load_settings({"HEARTBEAT_CHECK_INTERVAL": "5"}).sweep_interval == 5.0
    assert (
        load_settings({"SWEEP_INTERVAL": "1", "HEARTBEAT_CHECK_INTERVAL": "5"}).sweep_interval
        == 1.0
    )


def test_it_accepts_heroku_style_postgres_urls():
    settings = load_settings({"SECRET_KEY": "k", "DATABASE_URL": "postgres://u:p@db/x"})
    assert settings.database_url == "postgresql+asyncpg://u:p@db/x"
    assert not settings.is_sqlite


def test_it_allows_an_unlimited_ping_body():
    assert load_settings({"PING_BODY_LIMIT": "none"}).ping_body_limit is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PING_BODY_LIMIT": "ten"}, "PING_BODY_LIMIT must be an integer, got 'ten'"),
        ({"PING_BODY_LIMIT": "-1"}, "PING_BODY_LIMIT must be at least 0, got -1"),
        ({"SWEEP_INTERVAL": "0"}, "SWEEP_INTERVAL must be greater than 0.0, got '0'"),
        ({"HEARTBEAT_CHECK_INTERVAL": "x"}, "HEARTBEAT_CHECK_INTERVAL must be a number"),
        ({"REGISTRATION_OPEN": "maybe"}, "REGISTRATION_OPEN must be a boolean"),
        ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT must be an integer"),
        ({"DELIVERY_CALLS_PER_HOST": "0"}, "DELIVERY_CALLS_PER_HOST must be at least 1, got 0"),
        ({"SITE_ROOT": "example.org"}, "SITE_ROOT must be a URL starting with one of http"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must be a URL starting with one of"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must be a URL starting with one of"),
        ({"DATABASE_URL": "postgresql://db/x"}, "SECRET_KEY must be set when DATABASE_URL"),
    ],
)
def test_it_names_the_malformed_variable(env, message):
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert str(info.value).startswith(message)
