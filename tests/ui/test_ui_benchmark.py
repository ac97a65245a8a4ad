"""benchmarks/ui_startup.py --smoke runs end to end on the real app and prints every figure of issue 14's item 1.
No timing is asserted: the figures go to docs/performance.md."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("cold_start_s", "cold_start_ref_s", "cold_start_ratio", "cold_start_cpu_s", "frame_ms", "frame_ms_ref",
        "frame_cpu_ms", "screen_change_ms_max", "screen_change_ms_max_at", "screen_change_ms_p95",
        "rss_mb_after_first", "rss_mb_end", "journeys", "list_3000_ms", "list_3000_rows", "load_average")


def test_ui_startup_smoke_prints_one_json_line_with_every_figure():
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_NO_FILELOG": "1",
           "KIVY_NO_CONFIG": "1", "KIVY_CLIPBOARD": "dummy", "KIVY_LOG_MODE": "PYTHON"}
    env.pop("DISPLAY", None)
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ui_startup.py"), "--smoke"], env=env,
                          capture_output=True, text=True, timeout=1500, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stdout
    figures = json.loads(lines[0])
    missing = [k for k in KEYS if k not in figures]
    assert not missing, f"missing {missing} in {figures}"
    assert figures["smoke"] is True and figures["journeys"] == 1
    assert figures["journeys_failed"] == 0, figures
    assert len(figures["rss_mb_journeys"]) == 1
    assert figures["screen_change_ms_max_at"].split(" #")[0].split("→")[-1] in figures["screen_change_ms_max_by_screen"]
    assert figures["list_3000_rows"] == 3000  # the whole synthetic catalog is in the list's data
    assert figures["screen_changes"] >= 8  # home → id_login → … → done → home were all timed
    assert all(figures[k] is not None for k in KEYS)
