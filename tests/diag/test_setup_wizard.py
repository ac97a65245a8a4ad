"""`kiosk setup` and its core: devices found on a simulated site (reader on a pty answering GA 467, printer on
TCP, camera with its real modes), the config proposed and written atomically (a writer killed mid-write leaves
the old file intact), the installer PIN hashed into it."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

import kiosk.hub.auth
from argon2 import PasswordHasher
from kiosk.config import Config, load_config
from kiosk.config_writer import dump_config, write_config
from kiosk.diag.simulated import SimulatedSite
from kiosk.errors import InvalidInput
from kiosk.installer_pin import PinGate
from kiosk.setup_wizard import SearchSpace, discover, propose

kiosk.hub.auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def test_wizard_finds_simulated_devices_and_proposes_them(tmp_path):
    with SimulatedSite(tmp_path / "site") as site:
        host = site.printer_uri[len("tcp://"):]
        space = SearchSpace(reader_globs=[site.reader.port, str(tmp_path / "nothing*")], serial_globs=[], lp_globs=[],
                            usb=False, printer_hosts=[host, "127.0.0.1:9"], camera_sources=[site.camera_target])
        found = discover(space)
        assert [r["port"] for r in found.readers] == [site.reader.port]
        assert found.readers[0]["baud"] == 115200 and found.readers[0]["sam_id"].startswith("05.01-")
        assert [p["uri"] for p in found.printers] == [site.printer_uri]  # the closed port is not proposed
        assert found.cameras[0]["modes"] == [[640, 480], [1280, 960], [2592, 1944]]  # measured, not claimed
        cfg = propose(Config(), found, outlet="某某邮政网点", hub_url=site.hub_url, token=site.token, device_id="K0042")
        reader_port, printer_uri, camera, token = site.reader.port, site.printer_uri, site.camera_target, site.token
    assert cfg.devices.idcard.port == reader_port and cfg.devices.idcard.baud == "115200"
    assert cfg.devices.printer.uri == printer_uri
    assert cfg.devices.camera.source == camera and cfg.devices.camera.width == 0
    assert (cfg.kiosk.outlet, cfg.kiosk.device_id, cfg.hub.token) == ("某某邮政网点", "K0042", token)


def test_wizard_finds_a_reader_left_at_another_baud(tmp_path):
    with SimulatedSite(tmp_path / "site", ["idcard:wrong_baud"]) as site:
        found = discover(SearchSpace(reader_globs=[site.reader.port], serial_globs=[], lp_globs=[], usb=False,
                                     camera_sources=[]))
    assert found.readers[0]["baud"] == 9600
    assert propose(Config(), found).devices.idcard.baud == "9600"


def test_written_config_reads_back_identically(tmp_path):
    cfg = Config()
    cfg.kiosk.outlet = '邮政"网点"\\一'
    cfg.hub.token = "gk_abc_def"
    cfg.installer.pin_hash = "$argon2id$v=19$m=65536,t=3,p=4$abc$def"
    path = write_config(cfg, tmp_path / "etc" / "kiosk.toml")
    back = load_config(path, env={})
    back.source = cfg.source
    assert back == cfg
    assert oct(path.stat().st_mode & 0o777) == "0o640"  # it holds the device token


def test_write_refuses_a_bad_value_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "kiosk.toml"
    write_config(Config(), path)
    before = path.read_bytes()
    cfg = Config()
    cfg.devices.printer.paper = 66
    with pytest.raises(InvalidInput) as exc:
        write_config(cfg, path)
    assert "devices.printer.paper" in exc.value.message
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["kiosk.toml"]  # no temporary file left behind


def test_writer_killed_mid_write_leaves_the_old_file_intact(tmp_path):
    path = tmp_path / "kiosk.toml"
    old = Config()
    old.kiosk.outlet = "旧网点"
    write_config(old, path)
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from kiosk.config import Config
        from kiosk.config_writer import write_config
        cfg = Config()
        cfg.kiosk.outlet = "新网点" * 200
        def paused():
            print("half written", flush=True)
            time.sleep(60)
        write_config(cfg, {str(path)!r}, on_partial=paused)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "half written"
        temps = [p for p in tmp_path.iterdir() if p.name != "kiosk.toml"]
        assert temps and temps[0].stat().st_size > 0  # the new bytes were going somewhere else
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert path.read_bytes() == before
    assert load_config(path, env={}).kiosk.outlet == "旧网点"


def test_setup_command_writes_a_tested_config_from_simulated_devices(tmp_path):
    target = tmp_path / "kiosk.toml"
    env = dict(os.environ, HOME=str(tmp_path))
    env.pop("KIOSK_CONFIG", None)
    proc = subprocess.run([sys.executable, "-m", "kiosk", "setup", "--simulated", "--yes", "--pin", "--outlet", "测试网点",
                           "--device-id", "K0007", "--config", str(target), "--lang", "en"],
                          input="24681357\n24681357\n", capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hub.token" in proc.stdout and "written" in proc.stderr
    cfg = load_config(target, env={})
    assert cfg.kiosk.outlet == "测试网点" and cfg.kiosk.device_id == "K0007"
    assert cfg.devices.printer.uri.startswith("tcp://127.0.0.1:") and cfg.devices.camera.source.startswith("sim:")
    assert cfg.hub.token.startswith("gk_")
    assert PinGate(cfg.installer.pin_hash).check("24681357")
    assert "24681357" not in target.read_text("utf-8")


def test_dump_writes_every_section_including_platform_and_installer():
    text = dump_config(Config())
    for table in ("[kiosk]", "[hub]", "[platform]", "[devices.idcard]", "[devices.camera]", "[devices.printer]",
                  "[display]", "[installer]"):
        assert table in text


def test_a_known_serial_printer_port_is_never_probed_as_a_reader(tmp_path):
    with SimulatedSite(tmp_path / "site") as site:
        before = site.reader.received_frames
        found = discover(SearchSpace(reader_globs=[site.reader.port], serial_globs=[], lp_globs=[], usb=False,
                                     camera_sources=[], exclude_ports=[site.reader.port]))
        assert found.readers == [] and site.reader.received_frames == before


def test_setup_asks_and_keeps_the_proposals_on_enter(tmp_path):
    target = tmp_path / "kiosk.toml"
    env = dict(os.environ, HOME=str(tmp_path))
    env.pop("KIOSK_CONFIG", None)
    # Kiosk id, outlet typed; hub URL, token, reader, printer and camera: Enter keeps what was found.
    answers = "K0001\n新区邮政网点\n\n\n\n\n\n"
    proc = subprocess.run([sys.executable, "-m", "kiosk", "setup", "--simulated", "--config", str(target), "--lang", "en"],
                          input=answers, capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 6, proc.stdout + proc.stderr  # written; the one warning: no installer PIN yet
    assert "installer.pin_hash is empty" in proc.stdout
    cfg = load_config(target, env={})
    assert cfg.kiosk.outlet == "新区邮政网点"
    assert cfg.devices.idcard.port.endswith("/idcard") and cfg.devices.printer.uri.startswith("tcp://")
    assert cfg.installer.pin_hash == ""  # no --pin: the PIN is left as it was (none)


def test_setup_refuses_a_short_pin_and_writes_nothing(tmp_path):
    target = tmp_path / "kiosk.toml"
    env = dict(os.environ, HOME=str(tmp_path))
    env.pop("KIOSK_CONFIG", None)
    proc = subprocess.run([sys.executable, "-m", "kiosk", "setup", "--simulated", "--yes", "--pin", "--config",
                           str(target), "--lang", "en"], input="123\n123\n", capture_output=True, text=True, env=env,
                          timeout=180)
    assert proc.returncode == 5 and "6 to 12 digits" in proc.stderr
    assert not target.exists()
