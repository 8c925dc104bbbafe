"""Async actors run on uvloop, as the web does: deliveries are socket-bound."""

from __future__ import annotations

import asyncio

import uvloop
from dramatiq.asyncio import get_event_loop_thread

from workers.broker import UvloopAsyncIO


def test_async_actors_run_on_a_uvloop_event_loop() -> None:
    middleware = UvloopAsyncIO()
    middleware.before_worker_boot(None, None)  # type: ignore[arg-type]
    try:
        thread = get_event_loop_thread()
        assert thread is not None
        assert isinstance(thread.loop, uvloop.Loop)

        async def loop_type() -> type:
            return type(asyncio.get_running_loop())

        assert thread.run_coroutine(loop_type()) is uvloop.Loop
    finally:
        middleware.after_worker_shutdown(None, None)  # type: ignore[arg-type]
    assert get_event_loop_thread() is None
