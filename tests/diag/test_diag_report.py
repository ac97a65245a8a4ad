"""`kiosk diag`: every device and the system around it, at the levels of DESIGN §7; exit 0 with the report."""
import json
import os
import subprocess
import sys

import pytest

from devices.model import HealthLevel
from kiosk.config import Config
from kiosk.demo import DemoStack, sample_card
from kiosk.diag import run_diagnostics


def kiosk(*args, env_extra=None, tmp_path=None):
    env = dict(os.environ, KIOSK_KIOSK_DATA_DIR=str(tmp_path / "data"), **(env_extra or {}))
    env.pop("KIOSK_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, env=env, timeout=180)


def by_device(report):
    return {c["device"].split()[0]: c for c in report["checks"]}


def test_simulated_external_check_reads_prints_and_photographs(tmp_path):
    proc = kiosk("diag", "--simulated", "--level", "external", "--json", tmp_path=tmp_path,
                 env_extra={"KIOSK_HUB_URL": "http://127.0.0.1:9"})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    checks = by_device(report)
    assert checks["idcard"]["status"] == "online" and checks["idcard"]["details"]["card_read"] is True
    assert checks["printer"]["status"] == "online" and checks["printer"]["details"]["printed_bytes"] > 0
    assert checks["camera"]["status"] == "online" and checks["camera"]["details"]["page_found"] is True
    assert checks["hub"]["status"] == "offline" and checks["hub"]["errors"][0]["action"]
    assert report["overall"] == "error"
    assert "610" not in proc.stdout  # no ID number, masked or not, in a health report


def test_absent_devices_are_reported_with_actions(tmp_path):
    proc = kiosk("diag", "--json", tmp_path=tmp_path, env_extra={
        "KIOSK_DEVICES_IDCARD_PORT": str(tmp_path / "ttyNOPE"), "KIOSK_DEVICES_PRINTER_URI": "tcp://127.0.0.1:9",
        "KIOSK_DEVICES_CAMERA_SOURCE": str(tmp_path / "video99"), "KIOSK_HUB_URL": "http://127.0.0.1:9"})
    assert proc.returncode == 0, proc.stderr
    checks = by_device(json.loads(proc.stdout))
    for device in ("idcard", "printer", "camera"):
        assert checks[device]["status"] in ("no_device", "offline"), checks[device]
        assert all(e["message"] and e["action"] for e in checks[device]["errors"]), checks[device]
        assert checks[device]["errors"], checks[device]


@pytest.mark.slow
def test_everything_up_is_ok(tmp_path):
    with DemoStack(tmp_path) as stack:
        stack.reader.place(sample_card("resident"))
        cfg = stack.kiosk_config(base=Config())
        report = run_diagnostics(cfg, HealthLevel.EXTERNAL)
    checks = by_device(report)
    assert checks["hub"]["status"] == "online" and checks["hub"]["details"]["services"] >= 1
    assert report["overall"] == "ok", report
