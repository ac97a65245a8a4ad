"""Config: defaults run the demo; a bad value names the file, the key and the reason; env overrides."""
import subprocess
import sys

import pytest

from kiosk.config import load_config
from kiosk.errors import ConfigError


def test_defaults_are_valid():
    cfg = load_config(env={"KIOSK_CONFIG": ""}, path=None) if False else load_config(env={})
    assert cfg.kiosk.role == "citizen"
    assert cfg.devices.printer.paper == 80


def test_file_values_and_env_overrides(tmp_path):
    f = tmp_path / "kiosk.toml"
    f.write_text('[kiosk]\ndevice_id = "K0042"\n[devices.printer]\npaper = 58\n', "utf-8")
    cfg = load_config(f, env={"KIOSK_HUB_URL": "http://127.0.0.1:9999", "KIOSK_KIOSK_ELDER_MODE": "yes"})
    assert cfg.kiosk.device_id == "K0042"
    assert cfg.devices.printer.paper == 58
    assert cfg.hub.url == "http://127.0.0.1:9999"
    assert cfg.kiosk.elder_mode is True


@pytest.mark.parametrize(
    "body, key, reason",
    [
        ("[devices.printer]\npaper = 57\n", "devices.printer.paper", "must be one of"),
        ("[kiosk]\nidle_timeout_s = -1\n", "kiosk.idle_timeout_s", "greater than 0"),
        ("[kiosk]\nrole = 'admin'\n", "kiosk.role", "must be one of"),
        ("[hub]\nurl = 'ftp://x'\n", "hub.url", "http"),
        ("[kiosk]\ndevice_idd = 'x'\n", "kiosk.device_idd", "unknown key"),
        ("[kiosk]\nelder_mode = 'maybe'\n", "kiosk.elder_mode", "true or false"),
        ("[kiosk\n", "-", "not valid TOML"),
    ],
)
def test_bad_values_name_file_key_and_reason(tmp_path, body, key, reason):
    f = tmp_path / "bad.toml"
    f.write_text(body, "utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(f, env={})
    assert err.value.path == str(f)
    assert err.value.key == key
    assert reason in err.value.reason


def test_bad_env_override_is_named(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(env={"KIOSK_DEVICES_PRINTER_PAPER": "wide"})
    assert err.value.path == "$KIOSK_DEVICES_PRINTER_PAPER"


def test_cli_reports_bad_config_with_exit_5(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("[devices.printer]\npaper = 57\n", "utf-8")
    proc = subprocess.run([sys.executable, "-m", "kiosk", "run", "--config", str(f)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 5
    assert proc.stdout == ""
    assert "devices.printer.paper" in proc.stderr and str(f) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_missing_config_file(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kiosk", "run", "--config", str(tmp_path / "nope.toml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 5
    assert "file not found" in proc.stderr


def test_the_example_config_is_valid_and_complete():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "deploy" / "kiosk.example.toml"
    cfg = load_config(example, env={})
    assert cfg.devices.camera.source == "auto"
    assert cfg.devices.printer.uri.startswith("usb://")
    assert cfg.source == str(example)


def test_camera_source_from_the_environment():
    cfg = load_config(env={"KIOSK_DEVICES_CAMERA_SOURCE": "sim:"})
    assert cfg.devices.camera.source == "sim:"
