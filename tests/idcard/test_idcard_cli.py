"""`kiosk idcard read | decode | simulate`: JSON contract, masking, exit codes, the simulator process."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from devices.idcard.card import JSON_KEYS
from devices.idcard.reader import read_card
from kiosk.cli import cli

from idcard_support import ROOT, SAMPLES, sample, vector, wait_for


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def no_config(tmp_path, monkeypatch):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("")
    monkeypatch.setenv("KIOSK_CONFIG", str(cfg))
    return cfg


def test_read_masks_by_default(runner, make_sim, no_config):
    sim = make_sim(card=sample("resident"))
    result = runner.invoke(cli, ["idcard", "read", "--port", sim.port, "--json", "--timeout", "3"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc) == list(JSON_KEYS)
    assert doc["name"] == "王**" and doc["id_number"] == "6*************1237"
    assert doc["address"] == "陕西省西安市雁塔区******" and doc["address_latest"] == "陕西省西安市新城区******"
    assert doc["id_number_valid"] is True and doc["ethnicity"] == "汉" and doc["fingerprint_bytes"] == 0
    assert "王小明" not in result.output and "610113199003071237" not in result.output


def test_read_unmasked_and_fingerprint(runner, make_sim, no_config):
    sim = make_sim(card=sample("gat_residence"))
    result = runner.invoke(cli, ["idcard", "read", "--port", sim.port, "--json", "--unmasked", "--fingerprint"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["name"] == "陈大文" and doc["pass_number"] == "H12345678" and doc["issue_count"] == "03"
    assert (0x30, 0x10) in sim.commands and (0x30, 0x01) not in sim.commands


def test_read_port_from_config(runner, make_sim, tmp_path):
    sim = make_sim(card=sample("foreign_2017"))
    cfg = tmp_path / "k.toml"
    cfg.write_text(f'[devices.idcard]\nport = "{sim.port}"\nbaud = "115200"\n')
    result = runner.invoke(cli, ["idcard", "read", "--config", str(cfg), "--json", "--unmasked"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["name_en"] == "SMITH JOHN"


def test_read_missing_port_exits_3(runner, tmp_path, no_config):
    result = runner.invoke(cli, ["idcard", "read", "--port", str(tmp_path / "none"), "--json"])
    assert result.exit_code == 3
    assert result.stdout == "" and "what to do" in result.stderr


def test_read_without_card_exits_4(runner, make_sim, no_config):
    sim = make_sim()
    result = runner.invoke(cli, ["idcard", "read", "--port", sim.port, "--json", "--timeout", "0.5"])
    assert result.exit_code == 4
    assert result.stdout == "" and "place the card" in result.stderr


def test_decode_vector(runner):
    result = runner.invoke(cli, ["idcard", "decode", "--hex", vector("frame_Y").hex(" "), "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["card_type"] == "foreign_permanent_2023" and doc["name_en"].startswith("A*")
    assert doc["id_number"] == "9*************0014"
    result = runner.invoke(cli, ["idcard", "decode", "--hex", vector("frame_Y").hex(), "--json", "--unmasked"])
    assert json.loads(result.stdout)["name_en"] == "ANDERSSON-LINDQVIST KARL JOHAN ERIK MAGNUSSON"


def test_decode_from_stdin_and_plain_output(runner):
    result = runner.invoke(cli, ["idcard", "decode", "--hex", "-"], input=vector("frame_J").hex())
    assert result.exit_code == 0
    assert "gat_residence" in result.stdout and "M****4321" in result.stdout


@pytest.mark.parametrize("mangle,words", [
    (lambda f: f[:-1] + bytes([f[-1] ^ 1]), "frame byte 1294: checksum"),
    (lambda f: f[:700], "should be 1295 bytes"),
    (lambda f: bytes.fromhex("AAAAAA9669000400008084"), "SW3 is 80"),
    (lambda f: b"\x00" + f[1:], "frame byte 0"),
])
def test_decode_invalid_frame_exits_5_with_the_reason(runner, mangle, words):
    result = runner.invoke(cli, ["idcard", "decode", "--hex", mangle(vector("frame_R")).hex(), "--json"])
    assert result.exit_code == 5
    assert result.stdout == ""
    assert words in result.stderr and "what to do" in result.stderr


def test_decode_bad_hex_exits_5(runner):
    result = runner.invoke(cli, ["idcard", "decode", "--hex", "AA AA XY", "--json"])
    assert result.exit_code == 5 and result.stdout == ""


def _simulate(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "idcard", "simulate", "--card-ms", "0", *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(ROOT))
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return proc, json.loads(line)["port"]


def test_simulate_process_takes_commands_and_ends_on_eof(tmp_path):
    proc, port = _simulate("--link", str(tmp_path / "idcard"))
    try:
        assert port == str(tmp_path / "idcard") and os.path.islink(port)
        proc.stdin.write(f"place {SAMPLES / 'foreign_2023.json'}\n")
        proc.stdin.flush()
        card = read_card(port, timeout=5)
        assert card.card_type == "foreign_permanent_2023"
        proc.stdin.write("unplug\n")
        proc.stdin.flush()
        assert wait_for(lambda: not os.path.lexists(port))
        proc.stdin.write("replug\nbogus\n")
        proc.stdin.flush()
        assert wait_for(lambda: os.path.lexists(port))
        assert read_card(port, timeout=5).name == "玛丽亚"
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    assert proc.stdout.read() == ""  # one line only
    assert "unknown command" in proc.stderr.read()
    assert not os.path.lexists(port)


def test_simulate_ends_on_sigterm(tmp_path):
    proc, port = _simulate("--card", str(SAMPLES / "resident.json"), "--module", "single", "--faults", "bad_checksum")
    try:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdin.close()
    assert not os.path.lexists(port)


def test_simulate_rejects_unknown_fault():
    proc = subprocess.run([sys.executable, "-m", "kiosk", "idcard", "simulate", "--faults", "gremlins"],
                          capture_output=True, text=True, cwd=str(ROOT), stdin=subprocess.DEVNULL, timeout=30)
    assert proc.returncode == 5 and proc.stdout == "" and "gremlins" in proc.stderr


def test_benchmark_smoke_prints_its_figures():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "idcard_read.py"), "--smoke"],
                          capture_output=True, text=True, cwd=str(ROOT), timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    for key in ("median_ms", "p95_ms", "wire_floor_ms", "idle_cpu_pct"):
        assert isinstance(doc[key], (int, float)), key
    assert doc["wire_floor_ms"] == pytest.approx(1359 * 10 / 115200 * 1000, abs=0.01)
