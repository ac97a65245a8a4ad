"""benchmarks/console_stats.py --smoke keeps working: seeds a small county into its own PostgreSQL schema, times
every console view and prints one JSON line (no timing is asserted here)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "console_stats.py"


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_console_stats_smoke(tmp_path):
    url = os.environ.get("KIOSK_TEST_PG_URL")
    if not url:
        pytest.skip("KIOSK_TEST_PG_URL is not set (deploy/test.sh sets it)")
    env = dict(os.environ, KIOSK_DATA_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, str(BENCH), "--smoke", "--db", url], capture_output=True, text=True,
                         timeout=280, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["cases"] == 20_000 and doc["requests"] == 2_000
    assert set(doc["views_ms"]) >= {"board", "stats_30d", "stats_year", "evaluations", "devices", "report_pdf",
                                    "export_board_csv", "export_outlets_xlsx"}
    assert all(v > 0 for v in doc["views_ms"].values())


def test_console_stats_needs_postgresql(tmp_path):
    out = subprocess.run([sys.executable, str(BENCH), "--smoke", "--db", f"sqlite:///{tmp_path}/x.db"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and out.stdout == "" and "postgresql" in out.stderr
