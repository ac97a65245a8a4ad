"""`kiosk hub …` and `kiosk platform-sim serve` as real processes: tokens, serving, clear errors."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import requests

from hub_support import APP_ID, SECRET, wait_for
from kiosk.hub.serving import free_port
from kiosk.platform.http_adapter import ReferenceHttpAdapter

KIOSK = [sys.executable, "-c", "from kiosk.cli import main; main()"]


def _env(tmp_path, **extra) -> dict:
    env = dict(os.environ, KIOSK_DATA_DIR=str(tmp_path / "data"), **extra)
    env.pop("KIOSK_CONFIG", None)
    return env


def _run(args, env, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(KIOSK + args, capture_output=True, text=True, env=env, timeout=timeout)


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def test_token_create_prints_once_and_stores_only_a_hash(tmp_path):
    env = _env(tmp_path)
    db = tmp_path / "hub.db"
    out = _run(["hub", "token", "create", "--role", "kiosk", "--name", "K0001", "--json", "--db", f"sqlite:///{db}"], env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["role"] == "kiosk" and doc["name"] == "K0001" and doc["token"].startswith("gk_")
    [(stored,)] = sqlite3.connect(db).execute("SELECT token_hash FROM api_tokens").fetchall()
    assert stored.startswith("$argon2") and doc["token"] not in stored
    dump = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("hub.db"))
    assert doc["token"].encode() not in dump
    plain = _run(["hub", "token", "create", "--role", "clerk", "--name", "c1", "--db", f"sqlite:///{db}"], env)
    assert plain.returncode == 0 and plain.stdout.strip().startswith("gk_") and len(plain.stdout.splitlines()) == 1
    bad = _run(["hub", "token", "create", "--role", "admin", "--name", "x", "--db", f"sqlite:///{db}"], env)
    assert bad.returncode == 2 and bad.stdout == ""


def test_migrate_and_bad_database_urls(tmp_path):
    env = _env(tmp_path)
    ok = _run(["hub", "migrate", "--db", f"sqlite:///{tmp_path}/m.db"], env)
    assert ok.returncode == 0 and ok.stdout == ""
    again = _run(["hub", "migrate", "--db", f"sqlite:///{tmp_path}/m.db"], env)  # idempotent
    assert again.returncode == 0
    bad = _run(["hub", "migrate", "--db", "mysql://x@y/z"], env)
    assert bad.returncode == 5 and "unsupported database URL" in bad.stderr and "what to do" in bad.stderr
    port = free_port()
    down = _run(["hub", "migrate", "--db", f"postgresql+psycopg://u:secretpw@127.0.0.1:{port}/db"], env)
    assert down.returncode == 3 and "cannot open the hub database" in down.stderr
    assert "secretpw" not in down.stderr and "Traceback" not in down.stderr


def test_platform_sim_and_hub_serve_as_processes(tmp_path):
    sim_port, hub_port = free_port(), free_port()
    env = _env(tmp_path, KIOSK_PLATFORM_URL=f"http://127.0.0.1:{sim_port}")
    sim = subprocess.Popen(KIOSK + ["platform-sim", "serve", "--db", str(tmp_path / "p.db"), "--port", str(sim_port)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    hub = None
    try:
        wait_for(lambda: _up(f"http://127.0.0.1:{sim_port}/healthz"), timeout=30)
        published = ReferenceHttpAdapter(f"http://127.0.0.1:{sim_port}", APP_ID, SECRET).fetch_catalog()
        assert len(published) >= 150
        db = f"sqlite:///{tmp_path}/hub.db"
        token = json.loads(_run(["hub", "token", "create", "--role", "kiosk", "--name", "K0001", "--json", "--db", db],
                                env).stdout)["token"]
        hub = subprocess.Popen(KIOSK + ["hub", "serve", "--db", db, "--port", str(hub_port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for(lambda: _up(f"http://127.0.0.1:{hub_port}/healthz"), timeout=30)
        r = requests.get(f"http://127.0.0.1:{hub_port}/api/v1/catalog", headers={"Authorization": f"Bearer {token}"},
                         timeout=10)
        assert r.status_code == 200 and len(r.json()) == len(published)
        busy = _run(["hub", "serve", "--db", db, "--port", str(hub_port)], env)
        assert busy.returncode == 1 and "cannot listen" in busy.stderr and busy.stdout == ""
    finally:
        if hub is not None:
            _stop(hub)
        _stop(sim)
    assert hub.returncode is not None and sim.returncode is not None
    assert sim.stdout.read() == b"" and hub.stdout.read() == b""


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        time.sleep(0.1)
        return False


def test_throughput_benchmark_smoke():
    bench = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "hub_throughput.py")
    out = subprocess.run([sys.executable, bench, "--smoke", "--rounds", "2", "--hubs", "2", "--request-threads", "3"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    for key in ("engine", "intake_cases_per_s_2", "intake_cases_per_s_4", "relay_cases_per_s", "relay_c1_cases_per_s",
                "relay_speedup", "relay_intake_ratio", "delay_p95_s", "catalog_full_ms", "catalog_304_ms",
                "load_average_start", "all_relayed"):
        assert key in doc, key
    assert doc["engine"] == "sqlite" and doc["all_relayed"] is True
    assert doc["intake_4"]["sent"] == doc["cases_per_phase"] and doc["intake_4"]["errors"] == []
    assert doc["relay"]["cases"] == doc["relay_c1"]["cases"] == doc["cases_per_phase"]
    # the second round runs 4 kiosks before 2, and its relay drains both phases' cases
    assert len(doc["rounds"]) == len(doc["intake_ratios"]) == 2 and doc["rounds_run"] == 2
    assert doc["rounds"][1]["relay_cases"] == 2 * doc["cases_per_phase"]
    assert doc["intake_4"]["kiosks_cpu_ms_per_case"] > 0 and doc["kiosk_nice"] == 19
    # two hub processes on one database, each relaying: every accepted case reached the platform exactly once
    assert doc["hubs"] == 2 and doc["platform_submitted"] == doc["cases_accepted"] == 5 * doc["cases_per_phase"]
    assert doc["request_threads"] == 3 and doc["details_from_round"] == 1
    # the CPU ratio is each round's hub CPU per case at 4 kiosks over that at 2, its median printed
    cpu = [r["hub_cpu_ms_per_case_many"] / r["hub_cpu_ms_per_case_few"] for r in doc["rounds"]]
    assert doc["hub_cpu_ratios"] == [round(c, 3) for c in cpu]
    assert doc["hub_cpu_ratio"] == round(sum(doc["hub_cpu_ratios"]) / 2, 2)
    # the system part of it and the hubs' context switches (every thread's), per case
    for r in doc["rounds"]:
        assert 0 <= r["hub_sys_ms_per_case_few"] <= r["hub_cpu_ms_per_case_few"]
        assert r["hub_switches_per_case_many"] > 0
    # the steady rate: the cases the hub accepted while every kiosk was still sending, a part of the phase
    for phase in (doc["intake_2"], doc["intake_4"]):
        assert 0 < phase["steady_cases"] <= phase["sent"] and 0 < phase["steady_seconds"] <= phase["seconds"]
        # (the seconds printed are rounded to the millisecond)
        assert phase["steady_cases_per_s"] == pytest.approx(phase["steady_cases"] / phase["steady_seconds"], rel=0.03)
    steady = [round(r["steady_many"] / r["steady_few"], 3) for r in doc["rounds"]]
    assert doc["intake_steady_ratios"] == steady and doc["intake_steady_ratio"] == round(sum(steady) / 2, 2)
    many = [r["hub_switches_per_case_many"] for r in doc["rounds"]]
    assert doc["hub_switches_per_case_4"] == round(sum(many) / 2, 2)
