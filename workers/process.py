"""`cronbeat worker`: Dramatiq worker processes that stop gracefully, however they are signalled.

Dramatiq's own CLI forwards SIGTERM from its parent process to its worker processes and treats
a *second* SIGTERM as "kill now". Process managers that signal the whole process group
(honcho, foreman, systemd's default ``KillMode=control-group``) deliver two, so its workers
died in the middle of deliveries. Here every process handles SIGTERM/SIGINT once and
ignores repeats: the worker stops taking messages, finishes the ones in hand (up to
``shutdown_timeout`` seconds; the outbox picks up anything cut off), puts prefetched ones back
on the queue, and exits 0.

With ``processes > 1`` this process supervises that many children (spawned, so each imports
the broker afresh) and passes a stop on to them; a child that dies unexpectedly stops the
rest, and the exit status says so (the platform restarts the whole worker). Children also
stop when the supervisor dies (Linux: ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import signal
import sys
import threading
from multiprocessing import resource_tracker
from types import FrameType

from workers.scheduler import ignore_stop_signals

log = logging.getLogger("cronbeat.worker")

_PR_SET_PDEATHSIG = 1
QUEUE_POLL_MS = 100
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _on_stop_signals(event: threading.Event, who: str) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        if not event.is_set():
            log.info(
                "%s: %s received, finishing the messages in hand", who, signal.Signals(signum).name
            )
        event.set()
        ignore_stop_signals()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    # Children start with these signals blocked (see run_workers): a stop that came while
    # this process was starting is delivered now, to the handler.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def run_worker(threads: int, shutdown_timeout: float, *, process: str = "worker") -> int:
    """One worker process: Dramatiq worker threads until SIGTERM/SIGINT."""
    import dramatiq

    from app.config import get_settings
    from app.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level, process=process)
    stop = threading.Event()
    _on_stop_signals(stop, process)

    from workers.actors import broker

    # An idle Redis consumer polls with a backoff that grows up to worker_timeout: that is how
    # long a message can sit in an idle queue (1 s was most of a lone alert's latency).
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=QUEUE_POLL_MS)
    worker.start()
    log.info("%s: %d threads on queues %s", process, threads, ", ".join(sorted(broker.queues)))
    while not stop.wait(1.0):
        pass
    worker.stop(timeout=int(shutdown_timeout * 1000))
    broker.close()
    log.info("%s: stopped", process)
    return 0


def _child(index: int, threads: int, shutdown_timeout: float) -> None:
    _die_with_parent()
    sys.exit(run_worker(threads, shutdown_timeout, process=f"worker.{index}"))


def _die_with_parent() -> None:
    """Ask Linux for SIGTERM when the supervisor dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        ctypes.CDLL(libc_name, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def run_workers(processes: int, threads: int, shutdown_timeout: float) -> int:
    """``processes`` worker processes (1: this one). Returns the exit status."""
    if processes <= 1:
        return run_worker(threads, shutdown_timeout)

    from app.config import get_settings
    from app.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level, process="worker")
    stop = threading.Event()
    _on_stop_signals(stop, "worker")
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(
            target=_child, args=(i + 1, threads, shutdown_timeout), name=f"worker.{i + 1}"
        )
        for i in range(processes)
    ]
    # A child inherits the blocked signals through spawn's fork and exec, so a SIGTERM to the
    # process group while it is still importing waits for its handler instead of killing it.
    # Starting multiprocessing's resource tracker unblocks SIGTERM/SIGINT in this process, so
    # it must be running before the mask is set, not started by the first child.start().
    resource_tracker.ensure_running()
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        for child in children:
            child.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    status = 0
    while not stop.wait(0.5):
        ended = [child for child in children if child.exitcode is not None]
        if ended:
            log.error(
                "worker: %s exited unexpectedly (%s); stopping", ended[0].name, ended[0].exitcode
            )
            status = ended[0].exitcode or 1
            break
    for child in children:
        if child.exitcode is None and child.pid is not None:
            child.terminate()  # SIGTERM: a graceful stop (a repeat is ignored)
    for child in children:
        child.join(shutdown_timeout + 5)
        if child.exitcode is None:
            child.kill()
            child.join()
        if child.exitcode:
            log.error("worker: %s exited with status %s", child.name, child.exitcode)
        if status == 0 and child.exitcode:
            status = child.exitcode if child.exitcode > 0 else 1
    return status
