"""Logs (app/logging.py): one handler for structlog and std-lib logging, JSON or readable, with
the request id of the HTTP request being served; and the settings that shape them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
import structlog
from litestar import Litestar, get

from app.config import ConfigError, load_settings
from app.logging import RequestIdMiddleware, configure_logging, request_id_from


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_for_std_lib_and_structlog_calls(restore_logging) -> None:
    out = io.StringIO()
    configure_logging("json", "INFO", process="worker", stream=out)
    logging.getLogger("cronbeat.test").info("sent %d of %d", 3, 4)
    logging.getLogger("cronbeat.test").debug("below the level")
    with structlog.contextvars.bound_contextvars(check="6c1f0d64"):
        structlog.get_logger("cronbeat.test").warning("late", seconds=2)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("cronbeat.test").exception("failed")
    first, second, third = lines(out)
    assert first["event"] == "sent 3 of 4"
    assert (first["level"], first["logger"], first["process"]) == (
        "info",
        "cronbeat.test",
        "worker",
    )
    assert str(first["timestamp"]).endswith("Z")
    assert (second["event"], second["check"], second["seconds"]) == ("late", "6c1f0d64", 2)
    assert "RuntimeError: boom" in str(third["exception"])


def test_auto_is_json_off_a_terminal_and_console_is_readable(restore_logging) -> None:
    out = io.StringIO()  # not a TTY, like a pipe to a process manager
    configure_logging("auto", "INFO", stream=out)
    logging.getLogger("x").info("hello")
    assert json.loads(out.getvalue())["event"] == "hello"

    readable = io.StringIO()
    configure_logging("console", "INFO", process="web", stream=readable)
    logging.getLogger("x").info("hello")
    text = readable.getvalue()
    assert "hello" in text
    assert "process=web" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_configuring_twice_leaves_one_handler(restore_logging) -> None:
    configure_logging("json", "INFO", stream=io.StringIO())
    configure_logging("json", "INFO", stream=io.StringIO())
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "cronbeat"]
    assert len(ours) == 1


@get("/work", sync_to_thread=False)
def work() -> str:
    logging.getLogger("cronbeat.test").info("working")
    return "done"


@pytest.fixture
def app_client() -> httpx.AsyncClient:
    app = Litestar([work], middleware=[RequestIdMiddleware])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_each_request_gets_an_id_in_its_log_lines_and_its_response(
    restore_logging, app_client
) -> None:
    out = io.StringIO()
    configure_logging("json", "INFO", stream=out)
    async with app_client as client:
        first = await client.get("/work")
        second = await client.get("/work", headers={"X-Request-ID": "lb-7f3a.42"})
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert len(first.headers["x-request-id"]) == 32
    assert second.headers["x-request-id"] == "lb-7f3a.42"  # the proxy's id is kept
    logged = [line["request_id"] for line in lines(out) if line["event"] == "working"]
    assert logged == [first.headers["x-request-id"], "lb-7f3a.42"]
    logging.getLogger("cronbeat.test").info("outside")
    assert "request_id" not in lines(out)[-1]  # unbound after the request


@pytest.mark.parametrize("given", [b"", b"a b", b"x" * 129, b"<script>", "é".encode()])
def test_a_request_id_that_is_not_a_sane_token_is_replaced(given: bytes) -> None:
    made = request_id_from([(b"x-request-id", given)])
    assert made != given.decode(errors="replace")
    assert len(made) == 32


async def test_the_app_answers_with_a_request_id(client) -> None:
    r = await client.get("/health")
    assert len(r.headers["x-request-id"]) == 32


def test_operations_settings() -> None:
    env = {"SECRET_KEY": "k"}
    default = load_settings(env)
    assert (default.log_format, default.log_level) == ("auto", "INFO")
    assert default.forwarded_allow_ips == "127.0.0.1"
    custom = load_settings(
        {**env, "LOG_FORMAT": "JSON", "LOG_LEVEL": "debug", "FORWARDED_ALLOW_IPS": "*"}
    )
    assert (custom.log_format, custom.log_level, custom.forwarded_allow_ips) == (
        "json",
        "DEBUG",
        "*",
    )
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_settings({**env, "LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_settings({**env, "LOG_LEVEL": "loud"})
