"""benchmarks/queue_load.py --smoke keeps working: hub processes under load from channels and clerks, on SQLite
and (when the test database is there) PostgreSQL; every request done, none claimed twice, none lost."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "queue_load.py"


@pytest.mark.slow
@pytest.mark.parametrize("engine,separate", [("sqlite", False), ("sqlite", True),
                                             pytest.param("postgres", False, marks=pytest.mark.postgres)])
def test_queue_load_smoke(engine, separate, tmp_path):
    """Clerks claim and start in one call (`"start": true`), or, with --separate-start, claim then start."""
    args = [sys.executable, str(BENCH), "--smoke"] + (["--separate-start"] if separate else [])
    if engine == "postgres":
        url = os.environ.get("KIOSK_TEST_PG_URL")
        if not url:
            pytest.skip("KIOSK_TEST_PG_URL is not set (deploy/test.sh sets it)")
        args += ["--db", url]
    env = dict(os.environ, KIOSK_DATA_DIR=str(tmp_path))
    env.pop("KIOSK_CONFIG", None)
    out = subprocess.run(args, capture_output=True, text=True, timeout=240, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    assert doc["benchmark"] == "queue_load" and doc["engine"] == ("postgresql" if engine == "postgres" else "sqlite")
    assert doc["created"] == doc["completed"] == doc["requests"] == 40
    assert doc["double_claims"] == 0 and doc["lost"] == 0 and doc["errors"] == 0
    assert doc["database"] == {"rows": 40, "not_done": 0, "claimed_twice_in_log": 0, "missing_rows": 0,
                               "not_started_once_in_log": 0}  # each started once, by its claim or on its own
    assert doc["separate_start"] is separate
    assert doc["requests_per_s"] > 0 and doc["claim_p50_ms"] is not None and doc["feed_seen"] == 40
    assert doc["create_p95_ms"] is not None and doc["feed_after_answer_p95_ms"] is not None
    # create, claim-and-start (or claim, start) and complete for each request, plus claims that found nothing
    calls = 4 if separate else 3
    assert doc["http_calls"] >= calls * doc["completed"] + doc["empty_claims"]
    assert doc["http_calls_per_request"] >= calls
    budget = doc["cpu_ms_per_request"]  # where the machine's CPU went, per request (Linux: /proc)
    assert set(budget) == {"hubs", "database", "clients", "machine"}
    assert budget["hubs"] > 0 and budget["clients"] > 0 and budget["machine"] >= budget["hubs"]
    assert (budget["database"] is None) == (engine == "sqlite")
    if engine == "postgres":  # pgqueuer comes with the test extra: the comparison runs in the suite too
        pytest.importorskip("pgqueuer", reason="pgqueuer is not installed (pip install -e '.[test]')")
        assert doc["reference"]["library"] == "pgqueuer" and doc["reference"]["completed"] == 40
        assert doc["reference"]["lost"] == 0 and doc["reference"]["double_claims"] == 0
        assert doc["claim_throughput_ratio"] > 0 and set(doc["comparison"]) == {"same", "ours", "reference"}
        ref = doc["reference"]["cpu_ms_per_request"]
        assert ref["pgqueuer_process"] > 0 and ref["database"] > 0 and ref["machine"] >= ref["pgqueuer_process"]
        assert budget["database"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("engine", [None, pytest.param("postgres", marks=pytest.mark.postgres)])
def test_queue_load_floor_smoke(engine):
    """`--floor`: the same clients against routes of the same shape that do nothing (the HTTP stack's own cost); on
    PostgreSQL also with one statement per call through the hub's statement path, and pgqueuer beside them."""
    args = [sys.executable, str(BENCH), "--floor", "--smoke"]
    if engine == "postgres":
        url = os.environ.get("KIOSK_TEST_PG_URL")
        if not url:
            pytest.skip("KIOSK_TEST_PG_URL is not set (deploy/test.sh sets it)")
        pytest.importorskip("pgqueuer", reason="pgqueuer is not installed (pip install -e '.[test]')")
        args += ["--db", url]
    out = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    assert doc["floor"] is True and doc["completed"] == doc["requests"] == 40 and doc["errors"] == 0
    assert doc["claims_per_s"] > 0 and doc["claim_p95_ms"] is not None and doc["server_cpu_ms_per_request"] > 0
    assert set(doc["cpu_ms_per_request"]) == {"server", "clients", "database", "machine"}
    assert doc["cpu_ms_per_request"]["clients"] > 0
    assert doc["statement_per_call"] is False
    if engine is None:
        assert "with_statement" not in doc and "reference" not in doc
        return
    stmt = doc["with_statement"]  # each call ran its statement (a failed one answers 500: an error)
    assert stmt["statement_per_call"] is True and stmt["completed"] == 40 and stmt["errors"] == 0
    assert stmt["claims_per_s"] > 0 and stmt["claim_throughput_ratio"] > 0
    assert doc["reference"]["library"] == "pgqueuer" and doc["reference"]["completed"] == 40


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return found


@pytest.mark.slow
def test_a_run_stopped_with_sigterm_leaves_no_hub_running(tmp_path):
    env = dict(os.environ, KIOSK_DATA_DIR=str(tmp_path))
    env.pop("KIOSK_CONFIG", None)
    bench = subprocess.Popen([sys.executable, str(BENCH), "--requests", "5000", "--channels", "2", "--clerks", "4"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    servers: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("hub serve" in c for c in servers.values()):
            servers = _children(bench.pid)
            time.sleep(0.2)
        assert any("hub serve" in c for c in servers.values()), servers
        bench.send_signal(signal.SIGTERM)
        bench.wait(60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in servers):
            time.sleep(0.2)
        assert not [pid for pid in servers if Path(f"/proc/{pid}").exists()], servers
    finally:
        if bench.poll() is None:
            bench.kill()
        for pid in servers:
            try:
                os.kill(pid, signal.SIGKILL)  # left behind by a failed run: never outlive the test
            except ProcessLookupError:
                pass
