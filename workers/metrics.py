"""Per-actor figures for the operator's metrics: messages by outcome, processing time, queue wait.

A Dramatiq middleware observes every message a worker processes. The figures are flat
counters (``field -> number``), so one process's totals, the deltas a worker sends and what
Redis keeps all have the same shape:

* ``n|<actor>|<outcome>``  messages (outcome ``ok``, ``failed`` or ``skipped``);
* ``b|<actor>|<le>``       messages whose processing took at most ``le`` seconds (and more
                           than the previous bucket's bound: cumulated when rendered);
* ``s|<actor>``            seconds spent processing, summed;
* ``w|<actor>`` / ``wn|<actor>``  seconds messages waited in the queue, summed, and how many.

Embedded mode (in-memory broker): the worker threads run in the web process, so the web
reads the process's own totals (``LOCAL``). Production (Redis): workers are other processes;
each one adds its deltas to one Redis hash every ``FLUSH_SECONDS`` (``HINCRBYFLOAT``, so any
number of worker processes sum up), and the web reads the hash. Both go through the broker's
own Redis client (its connection pool): no second client or pool per process. A Redis outage
delays the figures, never a message: the deltas wait in the worker until Redis answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

log = logging.getLogger("cronbeat.worker.metrics")

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
INF = "+Inf"
FLUSH_SECONDS = 2.0
REDIS_KEY = "metrics:actors"  # under the broker's namespace: "cronbeat:metrics:actors"
OUTCOMES = ("ok", "failed", "skipped")


def bucket_of(seconds: float) -> str:
    for bound in BUCKETS:
        if seconds <= bound:
            return repr(bound)
    return INF


class ActorStats:
    """Counters by field; safe to share between worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fields: dict[str, float] = {}

    def observe(self, actor: str, outcome: str, seconds: float, waited: float | None) -> None:
        updates = {f"n|{actor}|{outcome}": 1.0}
        if outcome != "skipped":
            updates[f"b|{actor}|{bucket_of(seconds)}"] = 1.0
            updates[f"s|{actor}"] = seconds
        if waited is not None:
            updates[f"w|{actor}"] = max(0.0, waited)
            updates[f"wn|{actor}"] = 1.0
        self.add(updates)

    def add(self, updates: Mapping[str, float]) -> None:
        with self._lock:
            for key, value in updates.items():
                self._fields[key] = self._fields.get(key, 0.0) + value

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self._fields)

    def take(self) -> dict[str, float]:
        """Everything counted so far, leaving zero behind (deltas to send)."""
        with self._lock:
            taken, self._fields = self._fields, {}
        return taken


LOCAL = ActorStats()  # this process's totals (what the web reads in embedded mode)


def _redis_of(broker: dramatiq.Broker) -> tuple[Any, str] | None:
    """The broker's Redis client and key namespace; None for the in-memory broker."""
    client = getattr(broker, "client", None)
    if client is None:
        return None
    return client, getattr(broker, "namespace", "cronbeat")


class ActorMetrics(Middleware):
    """Count and time every message; with a Redis ``client``, send the deltas to Redis."""

    def __init__(
        self,
        stats: ActorStats | None = None,
        *,
        client: Any = None,
        namespace: str = "cronbeat",
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self.stats = stats if stats is not None else (ActorStats() if client is not None else LOCAL)
        self.client = client  # a redis.Redis (thread-safe: each command takes a pooled connection)
        self.key = f"{namespace}:{REDIS_KEY}"
        self.flush_seconds = flush_seconds
        self._started: dict[str, float] = {}
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        self._failing = False

    @classmethod
    def for_broker(cls, broker: dramatiq.Broker, stats: ActorStats | None = None) -> ActorMetrics:
        """The middleware for ``broker``: on a RedisBroker it sends the deltas through the
        broker's own client (and so its connection pool), under the broker's namespace."""
        redis = _redis_of(broker)
        if redis is None:
            return cls(stats)
        client, namespace = redis
        return cls(stats, client=client, namespace=namespace)

    # --- observing --------------------------------------------------------------------------

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self._started[message.message_id] = time.monotonic()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        started = self._started.pop(message.message_id, None)
        seconds = 0.0 if started is None else time.monotonic() - started
        self.stats.observe(
            message.actor_name, "failed" if exception else "ok", seconds, _waited(message)
        )

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self._started.pop(message.message_id, None)
        self.stats.observe(message.actor_name, "skipped", 0.0, None)

    # --- sending the deltas to Redis ----------------------------------------------------------

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self.client is not None and self._flusher is None:
            self._stop.clear()
            self._flusher = threading.Thread(
                target=self._flush_loop, name="actor-metrics", daemon=True
            )
            self._flusher.start()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self._flusher is not None:
            self._stop.set()
            self._flusher.join(timeout=5)
            self._flusher = None

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()
        self.flush()  # what the last messages added

    def flush(self) -> bool:
        """Add the deltas to the Redis hash; on failure keep them for the next try."""
        deltas = self.stats.take()
        if not deltas or self.client is None:
            self.stats.add(deltas)
            return True
        try:
            pipe = self.client.pipeline(transaction=False)
            for key, value in deltas.items():
                pipe.hincrbyfloat(self.key, key, value)
            pipe.execute()
        except Exception:  # Redis away: keep counting, send later
            self.stats.add(deltas)
            if not self._failing:
                log.warning("could not send actor metrics to Redis; will retry", exc_info=True)
            self._failing = True
            return False
        self._failing = False
        return True


def _waited(message: Any) -> float | None:
    """Seconds between the message becoming due (sent, or its ETA) and its processing."""
    due_ms = max(float(message.message_timestamp), float(message.options.get("eta") or 0))
    return None if due_ms <= 0 else time.time() - due_ms / 1000


# --- reading ----------------------------------------------------------------------------------


@dataclass
class ActorFigures:
    actor: str
    messages: dict[str, int] = field(default_factory=dict)  # outcome -> count
    buckets: dict[str, int] = field(default_factory=dict)  # bound -> count (not cumulated)
    seconds: float = 0.0
    waited: float = 0.0
    waited_count: int = 0

    def cumulative_buckets(self) -> list[tuple[str, int]]:
        running = 0
        out = []
        for bound in [*map(repr, BUCKETS), INF]:
            running += self.buckets.get(bound, 0)
            out.append((bound, running))
        return out


def figures(fields: Mapping[str, float]) -> list[ActorFigures]:
    """Flat counters (from ``ActorStats`` or the Redis hash) per actor, sorted by name."""
    actors: dict[str, ActorFigures] = {}
    for key, value in fields.items():
        kind, _, rest = key.partition("|")
        actor, _, label = rest.partition("|")
        if not actor:
            continue
        one = actors.setdefault(actor, ActorFigures(actor))
        if kind == "n" and label:
            one.messages[label] = one.messages.get(label, 0) + round(value)
        elif kind == "b" and label:
            one.buckets[label] = one.buckets.get(label, 0) + round(value)
        elif kind == "s":
            one.seconds += value
        elif kind == "w":
            one.waited += value
        elif kind == "wn":
            one.waited_count += round(value)
    return [actors[name] for name in sorted(actors)]


def read_fields(broker: dramatiq.Broker) -> dict[str, float]:
    """The totals every worker has reported: Redis's hash, or this process's own."""
    redis = _redis_of(broker)
    if redis is None:  # the in-memory broker: the workers are threads of this process
        return LOCAL.snapshot()
    client, namespace = redis
    raw = client.hgetall(f"{namespace}:{REDIS_KEY}")
    return {_text(key): float(value) for key, value in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
