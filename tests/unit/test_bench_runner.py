"""bench/run_all.py: runs each benchmark script and writes one report with the machine."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "bench" / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = module
    spec.loader.exec_module(module)
    return module


def fake_bench(directory: Path, name: str, body: str) -> None:
    (directory / f"{name}.py").write_text(f"import json, sys\n{body}\n")


def test_one_report_of_every_benchmark_present(run_all, tmp_path) -> None:
    benches = tmp_path / "bench"
    benches.mkdir()
    fake_bench(benches, "ping", 'print(json.dumps({"argv": sys.argv[1:], "pings_per_s": 781}))')
    fake_bench(benches, "alerts", 'print(json.dumps({"delivered": 1000}))')
    out = tmp_path / "results" / "latest.json"
    status = run_all.main(
        [
            "--quick",
            "--bench-dir", str(benches),
            "--out", str(out),
            "--args", "ping=--db sqlite",
            "--pg-server", "postgresql://nobody@127.0.0.1:1",
            "--redis-url", "redis://127.0.0.1:1/0",
        ]
    )  # fmt: skip
    assert status == 0
    report = json.loads(out.read_text())
    assert set(report["benchmarks"]) == {"ping", "alerts"}  # no pages.py here: skipped
    ping = report["benchmarks"]["ping"]
    assert ping["exit_code"] == 0
    assert ping["result"]["pings_per_s"] == 781
    assert ping["result"]["argv"] == [*run_all.QUICK_ARGS["ping"], "--db", "sqlite"]
    assert report["benchmarks"]["alerts"]["result"] == {"delivered": 1000}
    machine = report["machine"]
    assert machine["cores"] >= 1
    assert machine["cpu_model"] and machine["os"] and machine["python"]
    assert machine["postgresql"] is None and machine["redis"] is None  # unreachable: unknown
    assert report["quick"] is True


def test_a_failing_benchmark_fails_the_run_but_is_reported(run_all, tmp_path) -> None:
    benches = tmp_path / "bench"
    benches.mkdir()
    fake_bench(benches, "ping", "sys.exit(3)")
    fake_bench(benches, "alerts", 'print("not json")')
    out = tmp_path / "latest.json"
    assert run_all.main(["--bench-dir", str(benches), "--out", str(out)]) == 1
    report = json.loads(out.read_text())
    assert report["benchmarks"]["ping"]["exit_code"] == 3
    assert report["benchmarks"]["alerts"]["result"] is None
    assert "not JSON" in report["benchmarks"]["alerts"]["error"]


def test_args_must_name_a_benchmark(run_all) -> None:
    with pytest.raises(SystemExit):
        run_all.parse_args(["--args", "nosuch=--x"])
