"""Kiosk window rules are set before the window exists: fullscreen, no cursor, Escape does not quit,
exactly one pointer source without multitouch emulation."""
import json
import subprocess
import sys

PROBE = """
import json
from screens.kivy_setup import configure
configure(fullscreen=True, width=1280, height=800, show_cursor=False)
from kivy.config import Config
print(json.dumps({
    "fullscreen": Config.get("graphics", "fullscreen"),
    "show_cursor": Config.get("graphics", "show_cursor"),
    "exit_on_escape": Config.get("kivy", "exit_on_escape"),
    "inputs": dict(Config.items("input")),
    "keyboard_mode": Config.get("kivy", "keyboard_mode"),
}))
"""


def test_kiosk_window_settings(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KIVY_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=60, check=True)
    cfg = json.loads(out.stdout.strip().splitlines()[-1])
    assert cfg["fullscreen"] == "auto"
    assert cfg["show_cursor"] == "0"
    assert cfg["exit_on_escape"] == "0"
    assert cfg["keyboard_mode"] == "system"
    assert cfg["inputs"] == {"mouse": "mouse,disable_multitouch,disable_on_activity"}
