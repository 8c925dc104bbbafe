"""Worker tests run on the broker the environment gives: Redis with TEST_REDIS_URL, else the
in-memory broker. With CI=true a TEST_REDIS_URL that does not answer fails the run."""

from __future__ import annotations

import os

import pytest

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
if TEST_REDIS_URL:
    # workers.broker reads REDIS_URL once, at import: set it before anything imports it.
    os.environ["REDIS_URL"] = TEST_REDIS_URL
    from app.config import get_settings

    get_settings.cache_clear()


@pytest.fixture(scope="session")
def broker():
    from workers.actors import broker as the_broker

    if TEST_REDIS_URL:
        try:
            the_broker.client.ping()
        except Exception as error:
            message = f"TEST_REDIS_URL is set but Redis does not answer: {error}"
            if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
    return the_broker
