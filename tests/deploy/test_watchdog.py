"""A frozen UI is restarted: the real kiosk app pings systemd's watchdog from its Kivy clock, so when the UI thread
hangs the pings stop. A stand-in for systemd (its NOTIFY_SOCKET and WatchdogSec rules: READY=1, WATCHDOG=1 within
the period, else kill and Restart=always) runs the app, sees the freeze, restarts it, and the new one is ready."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.watchdog import SystemdNotifier

APP = Path(__file__).with_name("frozen_ui.py")
WATCHDOG_S = 10.0
pytestmark = pytest.mark.slow


class Supervisor:
    """The part of systemd the kiosk unit uses: Type=notify, WatchdogSec, Restart=always."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = str(tmp_path / "notify.sock")
        self.data_dir = str(tmp_path / "data")  # kept across restarts, as /var/lib/govkiosk is
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.events: list[tuple[int, str, float]] = []  # (start number, message, time)
        self.starts = 0
        self.proc = None

    def start(self, **env_extra) -> None:
        self.starts += 1
        env = dict(os.environ, NOTIFY_SOCKET=self.path, WATCHDOG_USEC=str(int(WATCHDOG_S * 1e6)),
                   SDL_VIDEODRIVER="offscreen", KIVY_NO_CONFIG="1", KIVY_NO_FILELOG="1", KIVY_LOG_MODE="PYTHON",
                   KIVY_NO_ARGS="1", KIOSK_TEST_DATA_DIR=self.data_dir, **env_extra)
        env.pop("DISPLAY", None)
        env.pop("WATCHDOG_PID", None)
        self.proc = subprocess.Popen([sys.executable, str(APP)], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def watch(self, until: float) -> str:
        """Receive notifications until `until`; 'timeout' when the watchdog period passes without a ping."""
        last = None
        while time.monotonic() < until:
            try:
                msg = self.sock.recv(256).decode()
                now = time.monotonic()
                self.events.append((self.starts, msg, now))
                if msg in ("READY=1", "WATCHDOG=1"):
                    last = now
            except socket.timeout:
                pass
            if last is not None and time.monotonic() - last > WATCHDOG_S:
                return "timeout"
            if self.proc.poll() is not None:
                return "exited"
        return "running"

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGABRT)  # systemd's WatchdogSignal= default
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        self.sock.close()


def test_a_frozen_ui_is_restarted(tmp_path):
    sup = Supervisor(tmp_path)
    try:
        sup.start(FREEZE_AFTER_S="20")
        outcome = sup.watch(time.monotonic() + 120)
        assert outcome == "timeout", outcome
        first = [m for n, m, _ in sup.events if n == 1]
        assert first[0] == "READY=1" and first.count("WATCHDOG=1") >= 3  # fed while the UI ran
        sup.kill()  # what systemd does at the watchdog timeout; Restart=always starts it again
        sup.start()
        assert sup.watch(time.monotonic() + 60) in ("running",)  # the new one comes up and keeps feeding it
        second = [m for n, m, _ in sup.events if n == 2]
        assert second[0] == "READY=1" and second.count("WATCHDOG=1") >= 3
    finally:
        sup.close()


def test_pings_come_at_a_third_of_the_period_and_only_for_our_pid():
    n = SystemdNotifier({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000"})
    assert n.enabled and n.interval_s == 10.0
    other = SystemdNotifier({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"})
    assert other.interval_s == 0.0  # the watchdog belongs to another process (xinit's child case is NotifyAccess)
    assert not SystemdNotifier({}).enabled and not SystemdNotifier({}).ping()
