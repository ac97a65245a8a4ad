"""The printing benchmark keeps working: --smoke prints one JSON document with its figures."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_smoke():
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "printer_receipt.py"), "--smoke"],
                       capture_output=True, text=True, timeout=120, cwd=str(ROOT))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    for key in ("render_ms_58", "render_ms_80", "decode_ms_80", "preview_ms_80", "bytes_native_qr_80", "bytes_image_qr_80",
                "serial_s_image_qr_80_9600", "status_ms_sim", "print_ms_sim"):
        assert key in doc
    assert doc["bytes_image_qr_80"] > doc["bytes_native_qr_80"]
