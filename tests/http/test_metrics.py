"""Prometheus metrics of a project (reference §3.16, checklist 65), the operator's metrics
behind X-Metrics-Key (checklist 59) and the status endpoint (checklist 58)."""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from dramatiq import Message
from dramatiq.brokers.stub import StubBroker
from prometheus_client.parser import text_string_to_metric_families

from app.db import models as m
from app.main import create_app
from app.web import metrics
from workers import metrics as worker_metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
METRICS_KEY = "operator-metrics-key"


def uk(check: m.Check) -> str:
    return hashlib.sha1(check.code.hex[:16].encode()).hexdigest()


def families(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every metric as the official client library parses it: name → [(labels, value)]."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        assert family.type in {"gauge", "counter", "histogram", "summary"}, family.name
        assert family.documentation, family.name
        found[family.name] = [(sample.labels, sample.value) for sample in family.samples]
    return found


@pytest.fixture
async def project(factory):
    return await factory.project()


def metrics_url(project: m.Project, key: str) -> str:
    return f"/projects/{project.code}/metrics/{key}"


# --- the project's Prometheus endpoint --------------------------------------------------------


async def test_prometheus_metrics_describe_every_check_and_tag(client, factory, project):
    project, keys = project
    now = factory.clock()
    odd = await factory.check(
        project, name='Alice "A" \\ backup\nline 2', tags="foo bar", status="up", last_ping=now
    )
    down = await factory.check(project, name="down", tags="foo", status="down", last_ping=now)
    grace = await factory.check(
        project, name="grace", tags="baz", status="up", last_ping=now - DAY - HOUR / 2
    )
    paused = await factory.check(project, name="paused", status="paused")
    started = await factory.check(
        project, name="started", tags="bar", status="up", last_ping=now - HOUR, last_start=now
    )
    other, _ = await factory.project()
    await factory.check(other, name="not ours", tags="secret", status="down")

    r = await client.get(metrics_url(project, keys.api_key_readonly))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == CONTENT_TYPE

    def rows(metric: str, values: list[int]) -> str:
        checks = [odd, down, grace, paused, started]
        return "".join(
            f'{metric}{{name="{name}", tags="{check.tags}", unique_key="{uk(check)}"}} {value}\n'
            for check, name, value in zip(
                checks,
                ['Alice \\"A\\" \\\\ backup\\nline 2', "down", "grace", "paused", "started"],
                values,
                strict=True,
            )
        )

    assert r.text == (
        "# HELP hc_check_up Whether the check is currently up (1 for yes, 0 for no).\n"
        "# TYPE hc_check_up gauge\n" + rows("hc_check_up", [1, 0, 1, 1, 1]) + "\n"
        "# HELP hc_check_started Whether the check is currently started (1 for yes, 0 for no).\n"
        "# TYPE hc_check_started gauge\n" + rows("hc_check_started", [0, 0, 0, 0, 1]) + "\n"
        "# HELP hc_check_grace Whether the check is currently in its grace period"
        " (1 for yes, 0 for no).\n"
        "# TYPE hc_check_grace gauge\n" + rows("hc_check_grace", [0, 0, 1, 0, 0]) + "\n"
        "# HELP hc_check_paused Whether the check is currently paused (1 for yes, 0 for no).\n"
        "# TYPE hc_check_paused gauge\n" + rows("hc_check_paused", [0, 0, 0, 1, 0]) + "\n"
        "# HELP hc_tag_up Whether all checks with this tag are up (1 for yes, 0 for no).\n"
        "# TYPE hc_tag_up gauge\n"
        'hc_tag_up{tag="bar"} 1\n'
        'hc_tag_up{tag="baz"} 1\n'
        'hc_tag_up{tag="foo"} 0\n'
        "\n"
        "# HELP hc_checks_total The total number of checks.\n"
        "# TYPE hc_checks_total gauge\n"
        "hc_checks_total 5\n"
        "\n"
        "# HELP hc_checks_down_total The number of checks currently down.\n"
        "# TYPE hc_checks_down_total gauge\n"
        "hc_checks_down_total 1\n"
        "\n"
        "# HELP hc_tags_total The total number of tags.\n"
        "# TYPE hc_tags_total gauge\n"
        "hc_tags_total 3\n"
        "\n"
        "# HELP hc_tags_down_total The number of tags with a check currently down.\n"
        "# TYPE hc_tags_down_total gauge\n"
        "hc_tags_down_total 1\n"
    )


async def test_prometheus_metrics_parse_with_the_official_client(client, factory, project):
    project, keys = project
    name = 'Alice "A" \\ backup\nline 2'
    check = await factory.check(project, name=name, tags='foo "x"', status="down")
    r = await client.get(metrics_url(project, keys.api_key_readonly))
    found = families(r.text)
    labels = {"name": name, "tags": 'foo "x"', "unique_key": uk(check)}
    assert found["hc_check_up"] == [(labels, 0.0)]
    assert found["hc_check_started"] == [(labels, 0.0)]
    assert found["hc_tag_up"] == [({"tag": '"x"'}, 0.0), ({"tag": "foo"}, 0.0)]
    assert found["hc_checks_total"] == [({}, 1.0)]
    assert found["hc_checks_down_total"] == [({}, 1.0)]
    assert found["hc_tags_down_total"] == [({}, 2.0)]


async def test_prometheus_metrics_of_a_project_without_checks(client, project):
    project, keys = project
    r = await client.get(metrics_url(project, keys.api_key_readonly))
    assert r.status_code == 200
    found = families(r.text)
    assert found["hc_check_up"] == []
    assert found["hc_tag_up"] == []
    assert found["hc_checks_total"] == [({}, 0.0)]
    assert found["hc_tags_total"] == [({}, 0.0)]


async def test_a_check_overdue_is_down_before_the_sweep_notices(client, factory, project):
    project, keys = project
    await factory.check(project, name="x", status="up", last_ping=factory.clock())
    factory.clock.advance(hours=25)
    found = families((await client.get(metrics_url(project, keys.api_key_readonly))).text)
    assert found["hc_check_up"][0][1] == 0.0
    assert found["hc_checks_down_total"] == [({}, 1.0)]


async def test_the_legacy_url_serves_the_same_metrics(client, factory, project):
    project, keys = project
    await factory.check(project, name="x", tags="foo")
    new = await client.get(metrics_url(project, keys.api_key_readonly))
    legacy = await client.get(f"/projects/{project.code}/checks/metrics/{keys.api_key_readonly}")
    assert legacy.status_code == 200
    assert legacy.headers["content-type"] == CONTENT_TYPE
    assert legacy.text == new.text


async def test_the_key_may_come_as_a_bearer_token(client, factory, project):
    project, keys = project
    await factory.check(project, name="x")
    r = await client.get(
        f"/projects/{project.code}/metrics/",
        headers={"Authorization": f"Bearer {keys.api_key_readonly}"},
    )
    assert r.status_code == 200
    assert 'hc_check_up{name="x", tags="", unique_key=' in r.text


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc", "Token x"])
async def test_a_missing_bearer_token_is_unauthorized(client, project, header):
    project, _ = project
    headers = {} if header is None else {"Authorization": header}
    r = await client.get(f"/projects/{project.code}/metrics/", headers=headers)
    assert r.status_code == 401
    assert r.content == b""


async def test_the_read_write_key_is_forbidden(client, project):
    project, keys = project
    r = await client.get(metrics_url(project, keys.api_key))
    assert r.status_code == 403
    r = await client.get(
        f"/projects/{project.code}/metrics/", headers={"Authorization": f"Bearer {keys.api_key}"}
    )
    assert r.status_code == 403


async def test_an_unknown_key_is_forbidden(client, project):
    project, _ = project
    r = await client.get(metrics_url(project, "hcr_" + "x" * 28))
    assert r.status_code == 403
    assert r.content == b""


@pytest.mark.parametrize("key", ["x" * 31, "x" * 33, "short"])
async def test_a_key_of_the_wrong_length_is_a_bad_request(client, project, key):
    project, _ = project
    r = await client.get(metrics_url(project, key))
    assert r.status_code == 400
    r = await client.get(
        f"/projects/{project.code}/metrics/", headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 400


async def test_a_key_that_is_no_slug_is_not_found(client, project):
    project, _ = project
    r = await client.get(metrics_url(project, "x" * 31 + "."))
    assert r.status_code == 404


async def test_the_key_not_the_uuid_in_the_path_names_the_project(client, factory, project):
    # As in Healthchecks: the path's project uuid is not checked against the key's project.
    project, keys = project
    await factory.check(project, name="mine")
    r = await client.get(f"/projects/{uuid.uuid4()}/metrics/{keys.api_key_readonly}")
    assert r.status_code == 200
    assert 'name="mine"' in r.text


# --- the operator's metrics -------------------------------------------------------------------


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> StubBroker:
    """A fresh in-memory broker with the workers' two queues, instead of the process's."""
    stub = StubBroker()
    stub.declare_queue("notifications")
    stub.declare_queue("sweeps")
    monkeypatch.setattr(metrics, "_broker", lambda: stub)
    # Its workers' figures: this process's own (embedded mode), fresh for the test.
    monkeypatch.setattr(worker_metrics, "LOCAL", worker_metrics.ActorStats())
    return stub


@pytest.fixture
async def operator_client(settings, db, clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(replace(settings, metrics_key=METRICS_KEY), db=db, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


def message(queue: str) -> Message:
    return Message(
        queue_name=queue, actor_name="deliver_notification", args=(), kwargs={}, options={}
    )


async def add_backlog(factory, project) -> None:
    """Two unprocessed flips (one processed), and one pending notification (two finished)."""
    now = factory.clock()
    check = await factory.check(project, status="down")
    await factory.check(project, status="up", last_ping=now)
    await factory.check(project)
    channel = await factory.channel(project)
    async with factory.db.sessionmaker() as session, session.begin():
        flips = [
            m.Flip(check_id=check.id, created=now, old_status="up", new_status="down"),
            m.Flip(check_id=check.id, created=now, old_status="down", new_status="up"),
            m.Flip(
                check_id=check.id, created=now, old_status="new", new_status="up", processed=now
            ),
        ]
        session.add_all(flips)
        await session.flush()
        for flip, sent, failed in [
            (flips[0], None, None),
            (flips[1], now, None),
            (flips[2], None, now),
        ]:
            session.add(
                m.Notification(
                    flip_id=flip.id,
                    channel_id=channel.id,
                    check_id=check.id,
                    check_status=flip.new_status,
                    created=now,
                    next_attempt_at=now,
                    sent_at=sent,
                    failed_at=failed,
                )
            )


async def test_operator_metrics_report_backlogs_checks_and_queues(
    operator_client, factory, project, broker
):
    await add_backlog(factory, project[0])
    broker.enqueue(message("notifications"))
    broker.enqueue(message("notifications"))
    broker.enqueue(message("notifications"), delay=60_000)
    r = await operator_client.get("/api/v3/metrics/", headers={"X-Metrics-Key": METRICS_KEY})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == CONTENT_TYPE
    assert "no-cache" in r.headers["cache-control"]
    assert r.text == (
        "# HELP cronbeat_unprocessed_flips Status changes not yet turned into notifications.\n"
        "# TYPE cronbeat_unprocessed_flips gauge\n"
        "cronbeat_unprocessed_flips 2\n"
        "\n"
        "# HELP cronbeat_undelivered_notifications Notifications not yet sent"
        " (queued, being sent or waiting for a retry).\n"
        "# TYPE cronbeat_undelivered_notifications gauge\n"
        "cronbeat_undelivered_notifications 1\n"
        "\n"
        "# HELP cronbeat_checks_total The number of checks.\n"
        "# TYPE cronbeat_checks_total gauge\n"
        "cronbeat_checks_total 3\n"
        "\n"
        "# HELP cronbeat_checks_down_total The number of checks that are down.\n"
        "# TYPE cronbeat_checks_down_total gauge\n"
        "cronbeat_checks_down_total 1\n"
        "\n"
        "# HELP cronbeat_queue_depth Messages waiting for a worker, per Dramatiq queue.\n"
        "# TYPE cronbeat_queue_depth gauge\n"
        'cronbeat_queue_depth{queue="notifications"} 2\n'
        'cronbeat_queue_depth{queue="sweeps"} 0\n'
        "\n"
        "# HELP cronbeat_queue_delayed Messages scheduled for later, per Dramatiq queue.\n"
        "# TYPE cronbeat_queue_delayed gauge\n"
        'cronbeat_queue_delayed{queue="notifications"} 1\n'
        'cronbeat_queue_delayed{queue="sweeps"} 0\n'
        "\n"
        "# HELP cronbeat_actor_messages_total Messages processed, per Dramatiq actor and outcome.\n"
        "# TYPE cronbeat_actor_messages_total counter\n"
        "\n"
        "# HELP cronbeat_actor_duration_seconds Time spent processing a message,"
        " per Dramatiq actor.\n"
        "# TYPE cronbeat_actor_duration_seconds histogram\n"
        "\n"
        "# HELP cronbeat_actor_queue_wait_seconds Time a message waited in the queue"
        " before a worker took it.\n"
        "# TYPE cronbeat_actor_queue_wait_seconds summary\n"
    )
    found = families(r.text)
    assert found["cronbeat_queue_depth"] == [
        ({"queue": "notifications"}, 2.0),
        ({"queue": "sweeps"}, 0.0),
    ]


@pytest.mark.parametrize("version", [1, 2, 3])
async def test_operator_metrics_are_served_under_every_api_version(
    operator_client, broker, version
):
    r = await operator_client.get(
        f"/api/v{version}/metrics/", headers={"X-Metrics-Key": METRICS_KEY}
    )
    assert r.status_code == 200
    assert families(r.text)["cronbeat_checks_total"] == [({}, 0.0)]


async def test_operator_metrics_use_the_workers_broker_by_default(operator_client):
    # No REDIS_URL in the tests: the workers' in-memory broker, with their queues declared.
    r = await operator_client.get("/api/v3/metrics/", headers={"X-Metrics-Key": METRICS_KEY})
    assert r.status_code == 200
    queues = {labels["queue"] for labels, _ in families(r.text)["cronbeat_queue_depth"]}
    assert {"notifications", "sweeps"} <= queues


async def test_operator_metrics_leave_out_queues_they_cannot_read(
    operator_client, monkeypatch, caplog
):
    def broken() -> object:
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(metrics, "_broker", broken)
    r = await operator_client.get("/api/v3/metrics/", headers={"X-Metrics-Key": METRICS_KEY})
    assert r.status_code == 200
    assert "cronbeat_queue_depth" not in r.text
    assert "cronbeat_unprocessed_flips 0" in r.text
    assert "could not read the Dramatiq queue depths" in caplog.text


async def test_operator_metrics_take_the_key_as_a_bearer_token(operator_client, broker):
    # What a Prometheus scrape config's `authorization: {credentials: …}` sends.
    r = await operator_client.get(
        "/api/v3/metrics/", headers={"Authorization": f"Bearer {METRICS_KEY}"}
    )
    assert r.status_code == 200
    assert "cronbeat_checks_total 0" in r.text
    r = await operator_client.get("/api/v3/metrics/", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Metrics-Key": "wrong"}, {"X-Metrics-Key": ""}, {"Authorization": METRICS_KEY}],
)
async def test_operator_metrics_need_the_metrics_key(operator_client, headers):
    r = await operator_client.get("/api/v3/metrics/", headers=headers)
    assert r.status_code == 403
    assert r.content == b""


@pytest.mark.parametrize("headers", [{}, {"X-Metrics-Key": ""}, {"X-Metrics-Key": "anything"}])
async def test_operator_metrics_are_off_without_a_metrics_key(client, headers):
    r = await client.get("/api/v3/metrics/", headers=headers)
    assert r.status_code == 403


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs TEST_REDIS_URL")
def test_queue_depths_are_read_from_redis() -> None:
    from dramatiq.brokers.redis import RedisBroker

    namespace = f"cronbeat-test-{uuid.uuid4().hex}"
    redis_broker = RedisBroker(url=os.environ["TEST_REDIS_URL"], namespace=namespace)
    try:
        redis_broker.declare_queue("notifications")
        redis_broker.declare_queue("sweeps")
        redis_broker.enqueue(message("notifications"))
        redis_broker.enqueue(message("sweeps"))
        redis_broker.enqueue(message("sweeps"))
        redis_broker.enqueue(message("sweeps"), delay=60_000)
        assert metrics.queue_depths(redis_broker) == [
            metrics.QueueDepth("notifications", ready=1, delayed=0),
            metrics.QueueDepth("sweeps", ready=2, delayed=1),
        ]
    finally:
        for key in redis_broker.client.scan_iter(f"{namespace}*"):
            redis_broker.client.delete(key)
        redis_broker.close()


def test_queue_depths_of_the_in_memory_broker() -> None:
    stub = StubBroker()
    stub.declare_queue("b")
    stub.declare_queue("a")
    stub.enqueue(message("b"), delay=1000)
    stub.enqueue(message("a"))
    assert metrics.queue_depths(stub) == [
        metrics.QueueDepth("a", ready=1, delayed=0),
        metrics.QueueDepth("b", ready=0, delayed=1),
    ]


# --- status -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2, 3])
async def test_status_answers_ok(client, version):
    r = await client.get(f"/api/v{version}/status/")
    assert r.status_code == 200
    assert r.text == "OK"
    assert "no-cache" in r.headers["cache-control"]


async def test_status_answers_any_method_without_a_key(client):
    r = await client.post("/api/v3/status/")
    assert r.status_code == 200
    assert r.text == "OK"


async def test_status_reports_a_database_that_does_not_answer(settings, clock, caplog):
    from app.db.engine import Database

    broken = Database("sqlite+aiosqlite:////nonexistent/dir/db.sqlite")
    app = create_app(settings, db=broken, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        r = await c.get("/api/v3/status/")
    await broken.dispose()
    assert r.status_code == 503
    assert r.text == "database unavailable"


# --- per-actor figures ------------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of every family: (sample name, sorted labels) → value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def run_actors(stats: worker_metrics.ActorStats) -> None:
    """A real Dramatiq worker on an in-memory broker, observed by the metrics middleware."""
    import dramatiq

    stub = StubBroker()
    stub.add_middleware(worker_metrics.ActorMetrics(stats))

    @dramatiq.actor(broker=stub, actor_name="quick", max_retries=0)
    def quick() -> None:
        pass

    @dramatiq.actor(broker=stub, actor_name="broken", max_retries=0)
    def broken() -> None:
        raise RuntimeError("boom")

    worker = dramatiq.Worker(stub, worker_threads=2, worker_timeout=50)
    worker.start()
    try:
        for _ in range(3):
            quick.send()
        broken.send()
        stub.join(quick.queue_name, fail_fast=False)
        worker.join()
    finally:
        worker.stop()


async def test_operator_metrics_count_and_time_every_actor(operator_client, broker):
    run_actors(worker_metrics.LOCAL)
    r = await operator_client.get("/api/v3/metrics/", headers={"X-Metrics-Key": METRICS_KEY})
    assert r.status_code == 200
    found = samples(r.text)
    assert found[("cronbeat_actor_messages_total", (("actor", "quick"), ("outcome", "ok")))] == 3
    assert (
        found[("cronbeat_actor_messages_total", (("actor", "broken"), ("outcome", "failed")))] == 1
    )
    assert (
        "cronbeat_actor_messages_total",
        (("actor", "quick"), ("outcome", "failed")),
    ) not in found
    assert found[("cronbeat_actor_duration_seconds_count", (("actor", "quick"),))] == 3
    assert (
        found[("cronbeat_actor_duration_seconds_bucket", (("actor", "quick"), ("le", "+Inf")))] == 3
    )
    assert (
        found[("cronbeat_actor_duration_seconds_bucket", (("actor", "quick"), ("le", "60.0")))] == 3
    )
    assert 0 <= found[("cronbeat_actor_duration_seconds_sum", (("actor", "quick"),))] < 5
    assert found[("cronbeat_actor_queue_wait_seconds_count", (("actor", "broken"),))] == 1
    assert found[("cronbeat_actor_queue_wait_seconds_sum", (("actor", "broken"),))] >= 0


def test_histogram_buckets_are_cumulative_and_end_at_inf() -> None:
    stats = worker_metrics.ActorStats()
    for seconds in (0.001, 0.02, 0.02, 7.0, 500.0):
        stats.observe("sweep", "ok", seconds, waited=None)
    stats.observe("sweep", "skipped", 0.0, waited=None)
    (sweep,) = worker_metrics.figures(stats.snapshot())
    buckets = dict(sweep.cumulative_buckets())
    assert buckets["0.005"] == 1
    assert buckets["0.025"] == 3
    assert buckets["5.0"] == 3
    assert buckets["10.0"] == 4
    assert buckets["120.0"] == 4
    assert buckets["+Inf"] == 5  # skipped messages are counted, not timed
    assert sweep.messages == {"ok": 5, "skipped": 1}
    assert sweep.seconds == pytest.approx(507.041)
    assert sweep.waited_count == 0


async def test_operator_metrics_leave_out_actor_figures_they_cannot_read(
    operator_client, broker, monkeypatch, caplog
):
    def broken(_broker: object) -> dict[str, float]:
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(metrics, "read_fields", broken)
    r = await operator_client.get("/api/v3/metrics/", headers={"X-Metrics-Key": METRICS_KEY})
    assert r.status_code == 200
    assert "cronbeat_actor_messages_total" not in r.text
    assert "cronbeat_queue_depth" in r.text
    assert "could not read the actor metrics" in caplog.text


def test_actor_deltas_wait_in_the_worker_while_redis_is_away() -> None:
    from dramatiq.brokers.redis import RedisBroker

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    stats = worker_metrics.ActorStats()
    away = RedisBroker(url=f"redis://127.0.0.1:{closed_port}/0", namespace="cronbeat")
    middleware = worker_metrics.ActorMetrics.for_broker(away, stats)
    stats.observe("deliver_notifications", "ok", 0.2, waited=1.0)
    assert middleware.flush() is False
    assert stats.snapshot()["n|deliver_notifications|ok"] == 1.0  # kept for the next try


def test_the_metrics_middleware_sends_through_the_brokers_redis_client() -> None:
    """No second Redis client (nor connection pool) per worker process: the middleware the
    broker is built with sends through the broker's own client, under its namespace."""
    from workers.broker import make_broker

    # Redis connects lazily: building the broker needs no server.
    redis_broker = make_broker("redis://127.0.0.1:1/0")
    [middleware] = [
        m for m in redis_broker.middleware if isinstance(m, worker_metrics.ActorMetrics)
    ]
    assert middleware.client is redis_broker.client
    assert middleware.key == "cronbeat:metrics:actors"
    assert middleware.stats is not worker_metrics.LOCAL  # deltas, sent elsewhere

    stub = make_broker(None)
    [local] = [m for m in stub.middleware if isinstance(m, worker_metrics.ActorMetrics)]
    assert local.client is None
    assert local.stats is worker_metrics.LOCAL  # the web reads this process's totals


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs TEST_REDIS_URL")
def test_actor_figures_of_every_worker_process_add_up_in_redis() -> None:
    from dramatiq.brokers.redis import RedisBroker

    url = os.environ["TEST_REDIS_URL"]
    namespace = f"cronbeat-test-{uuid.uuid4().hex}"
    redis_broker = RedisBroker(url=url, namespace=namespace)
    try:
        for seconds in (0.01, 0.3):  # two worker processes, one message each
            stats = worker_metrics.ActorStats()
            stats.observe("deliver_notifications", "ok", seconds, waited=0.5)
            middleware = worker_metrics.ActorMetrics.for_broker(redis_broker, stats)
            assert middleware.client is redis_broker.client
            assert middleware.flush() is True
            assert stats.snapshot() == {}  # sent: nothing counted twice
        (delivery,) = worker_metrics.figures(worker_metrics.read_fields(redis_broker))
        assert delivery.actor == "deliver_notifications"
        assert delivery.messages == {"ok": 2}
        assert delivery.seconds == pytest.approx(0.31)
        assert delivery.waited == pytest.approx(1.0)
        assert dict(delivery.cumulative_buckets())["0.5"] == 2
    finally:
        for key in redis_broker.client.scan_iter(f"{namespace}*"):
            redis_broker.client.delete(key)
        redis_broker.close()


# --- PROMETHEUS_ENABLED -----------------------------------------------------------------------


async def test_prometheus_enabled_false_turns_the_project_endpoint_off(
    settings, db, clock, factory
):
    project, keys = await factory.project()
    app = create_app(replace(settings, prometheus_enabled=False), db=db, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        for url in (
            metrics_url(project, keys.api_key_readonly),
            f"/projects/{project.code}/checks/metrics/{keys.api_key_readonly}",
        ):
            r = await c.get(url)
            assert (r.status_code, r.content) == (404, b""), url
        r = await c.get(
            f"/projects/{project.code}/metrics",
            headers={"Authorization": f"Bearer {keys.api_key_readonly}"},
        )
        assert r.status_code == 404


def test_prometheus_enabled_is_read_from_the_environment() -> None:
    from app.config import ConfigError, load_settings

    env = {"SECRET_KEY": "k"}
    assert load_settings(env).prometheus_enabled is True
    assert load_settings({**env, "PROMETHEUS_ENABLED": "False"}).prometheus_enabled is False
    with pytest.raises(ConfigError, match="PROMETHEUS_ENABLED"):
        load_settings({**env, "PROMETHEUS_ENABLED": "maybe"})
