"""`kiosk receipt render` and `kiosk printer status|test-page|simulate`: output, exit codes (DESIGN §5)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from devices.printer.decoder import decode
from devices.printer.simulator import SimulatedPrinter
from kiosk.cli import cli

ACCEPTANCE = {
    "receipt_no": "K0001-20261122-0011", "case_no": None, "pending_upload": True, "item_name": "居住证签注",
    "applicant_name": "李四", "applicant_id_number": "610124199001010063", "phone": "029-88881234",
    "submitted_at": "2026-11-22T11:00:00+08:00", "promised_by": "2026-11-25", "delivery": "网点代发",
    "outlet": "雁塔区中国移动营业厅", "tracking_url": "https://zwfw.example.gov.cn/track/K0001-20261122-0011",
    "materials": [{"name": "居住证", "pages": 1}],
}


@pytest.fixture
def env(tmp_path, monkeypatch):
    (tmp_path / "kiosk.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "kiosk.toml"))
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KIOSK_DEVICES_PRINTER_URI", raising=False)
    return tmp_path


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_render_acceptance_with_png(env):
    data = env / "d.json"
    data.write_text(json.dumps(ACCEPTANCE, ensure_ascii=False), encoding="utf-8")
    out, png = env / "r.bin", env / "r.png"
    r = run("receipt", "render", "--kind", "acceptance", "--data", str(data), "-o", str(out), "--png", str(png), "--paper", "58")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["bytes"] == out.stat().st_size and doc["paper"] == 58
    dec = decode(out.read_bytes())
    assert "办件编号：待上传" in dec.text and "029-****1234" in dec.text
    assert b"88881234" not in out.read_bytes()
    assert png.stat().st_size > 1000


def test_render_defaults_to_80mm(env):
    out = env / "t.bin"
    r = run("receipt", "render", "--kind", "test", "-o", str(out))
    assert r.exit_code == 0
    assert json.loads(r.stdout)["paper"] == 80
    assert decode(out.read_bytes()).cuts == 1


def test_missing_key_exits_5_naming_it(env):
    d = dict(ACCEPTANCE)
    d.pop("promised_by")
    data = env / "d.json"
    data.write_text(json.dumps(d), encoding="utf-8")
    out = env / "r.bin"
    r = run("receipt", "render", "--kind", "acceptance", "--data", str(data), "-o", str(out))
    assert r.exit_code == 5
    assert r.stdout == ""
    assert "'promised_by'" in r.stderr and "what to do" in r.stderr
    assert not out.exists() and sorted(p.name for p in env.iterdir()) == ["d.json", "kiosk.toml"]


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00", b"[1, 2]"])
def test_bad_data_file_exits_5(env, content):
    data = env / "d.json"
    data.write_bytes(content)
    r = run("receipt", "render", "--kind", "pickup", "--data", str(data), "-o", str(env / "r.bin"))
    assert r.exit_code == 5 and r.stdout == ""


def test_missing_data_file_exits_5(env):
    r = run("receipt", "render", "--kind", "pickup", "--data", str(env / "nope.json"), "-o", str(env / "r.bin"))
    assert r.exit_code == 5 and "does not exist" in r.stderr


def test_usage_errors_exit_2(env):
    assert run("receipt", "render", "--kind", "invoice", "-o", "x.bin").exit_code == 2
    assert run("receipt", "render", "--kind", "test", "-o", "x.bin", "--paper", "76").exit_code == 2


def test_status_json_of_each_state(env):
    with SimulatedPrinter(state="near_end") as sim:
        r = run("printer", "status", "--device", sim.device, "--json")
        assert r.exit_code == 0
        assert json.loads(r.stdout) == {"online": True, "status": "online", "paper": "near_end", "cover_open": False,
                                        "cutter_error": False, "errors": [json.loads(r.stdout)["errors"][0]]}
        sim.set_state("silent")
        r = run("printer", "status", "--device", sim.device, "--json", "--timeout", "0.2")
        assert r.exit_code == 0
        st = json.loads(r.stdout)
        assert (st["online"], st["paper"]) == (False, "unknown")


def test_status_absent_device_exits_3(env):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = run("printer", "status", "--device", f"tcp://127.0.0.1:{port}", "--json")
    assert r.exit_code == 3 and r.stdout == "" and "what to do" in r.stderr
    r = run("printer", "status", "--json")  # nothing configured
    assert r.exit_code == 3 and "uri" in r.stderr
    assert run("printer", "status", "--device", "bogus:thing", "--json").exit_code == 5


def test_test_page(env):
    with SimulatedPrinter() as sim:
        r = run("printer", "test-page", "--device", sim.device, "--json")
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout)["printed"] is True
        dec = decode(sim.received)
        assert "诊断测试页" in dec.text and dec.cuts == 1 and len(dec.qr_payloads) == 1
        sim.set_state("empty")
        before = sim.received
        r = run("printer", "test-page", "--device", sim.device)
        assert r.exit_code == 1 and "paper" in r.stderr and r.stdout == ""
        assert sim.received == before and sim.held == b""


def test_simulate_command(env):
    save = env / "printed.bin"
    proc = subprocess.Popen([sys.executable, "-c", "from kiosk.cli import main; main()", "printer", "simulate", "--save", str(save)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        line = proc.stdout.readline()
        doc = json.loads(line)
        assert list(doc) == ["device"] and doc["device"].startswith("tcp://127.0.0.1:")
        from devices.printer.printer import open_printer

        with open_printer(doc["device"]) as p:
            assert p.status()["paper"] == "ok"
            p.print_bytes(b"\x1b@hello\n")
            proc.stdin.write("state empty\n")
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline()) == {"state": "empty"}
            assert p.status()["paper"] == "empty"
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=10) == 0
        assert save.read_bytes() == b"\x1b@hello\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
