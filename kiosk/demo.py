"""The embedded demo: platform simulator and hub as real processes on loopback, simulated devices that
speak the real protocols (ID reader on a pty, printer on TCP, camera from generated scenes), and a config
that points the kiosk at all of them. Used by `kiosk demo`, `kiosk tour` and the end-to-end tests.
"""
from __future__ import annotations

import copy
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from kiosk.config import Config
from kiosk.errors import Unavailable

log = logging.getLogger(__name__)

SAMPLES = Path(__file__).resolve().parent.parent / "devices" / "idcard" / "samples"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # The child gets SIGTERM when the process that started it dies, so nothing outlives a test or demo.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def sample_card(name: str = "resident") -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text("utf-8"))


DEMO_OUTLET = "YANTA"  # the demo's county outlet (代办 requests and 办不成事 reports from the kiosk go there)


class DemoStack:
    """Everything the kiosk talks to, started in one place and stopped in one place."""

    def __init__(self, workdir: str | os.PathLike, platform_fail_rate: float = 0.0, role: str = "citizen",
                 printer_state: str = "ok") -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.platform_fail_rate = platform_fail_rate
        self.role = role
        self.printer_state = printer_state
        self.processes: dict[str, subprocess.Popen] = {}
        self.reader = None
        self.printer = None
        self.platform_port = free_port()
        self.hub_port = free_port()
        self.platform_url = f"http://127.0.0.1:{self.platform_port}"
        self.hub_url = f"http://127.0.0.1:{self.hub_port}"
        self.hub_db = f"sqlite:///{self.workdir / 'hub.sqlite3'}"
        self.token = ""
        self.device_id = Config().kiosk.device_id

    # -- processes ---------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "KIOSK_PLATFORM_URL": self.platform_url,
            "KIOSK_HUB_DB_URL": self.hub_db,
            "KIOSK_KIOSK_DATA_DIR": str(self.workdir / "hub-data"),
            "PYTHONUNBUFFERED": "1",
        })
        env.pop("KIOSK_CONFIG", None)
        return env

    def _kiosk_cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "kiosk", *args]

    def _spawn(self, name: str, *args: str) -> None:
        logfile = open(self.workdir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(self._kiosk_cmd(*args), env=self._env(), stdout=logfile, stderr=logfile,
                                                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)

    def _wait_healthy(self, name: str, url: str, timeout: float = 30.0) -> None:
        from kiosk.hub.serving import wait_healthy

        def exited() -> str | None:
            proc = self.processes.get(name)
            if proc is None or proc.poll() is None:
                return None
            return f"the {name} stopped at start (exit {proc.returncode}); see {self.workdir / (name + '.log')}"

        try:
            wait_healthy(url, timeout, exited)
        except ChildProcessError as exc:
            raise Unavailable(str(exc)) from None
        except TimeoutError:
            raise Unavailable(f"the {name} did not answer on {url} within {timeout:.0f} s") from None

    def start_platform(self) -> None:
        self._spawn("platform-sim", "platform-sim", "serve", "--db", str(self.workdir / "platform.sqlite3"),
                    "--host", "127.0.0.1", "--port", str(self.platform_port), "--fail-rate", str(self.platform_fail_rate))
        self._wait_healthy("platform-sim", self.platform_url)

    def start_hub(self) -> None:
        env = self._env()
        subprocess.run(self._kiosk_cmd("hub", "migrate", "--db", self.hub_db), env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        out = subprocess.run(self._kiosk_cmd("hub", "token", "create", "--role", "kiosk", "--name", self.device_id,
                                             "--db", self.hub_db, "--json"),
                             env=env, check=True, capture_output=True, text=True)
        self.token = json.loads(out.stdout)["token"]
        # The outlet this kiosk stands in, so 我要代办 and 办不成事 have somewhere to go.
        subprocess.run(self._kiosk_cmd("hub", "outlet", "add", DEMO_OUTLET, "--name", Config().kiosk.outlet,
                                       "--level", "county", "--db", self.hub_db),
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.restart_hub()

    def restart_hub(self) -> None:
        """Start (again) the hub process on its database and port: tokens and cases are kept."""
        self._spawn("hub", "hub", "serve", "--db", self.hub_db, "--host", "127.0.0.1", "--port", str(self.hub_port))
        self._wait_healthy("hub", self.hub_url)

    def entrust(self, items: list[str]) -> None:
        """Entrust the demo's outlet with these items only (`kiosk hub outlet add --items`), as a county that
        delegates a few services to a post office does; the hub is restarted so it reads the change at once."""
        subprocess.run(self._kiosk_cmd("hub", "outlet", "add", DEMO_OUTLET, "--name", Config().kiosk.outlet,
                                       "--level", "county", "--items", ",".join(items), "--db", self.hub_db),
                       env=self._env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.stop_process("hub")
        self.restart_hub()

    def stop_process(self, name: str) -> None:
        proc = self.processes.pop(name, None)
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    # -- devices -----------------------------------------------------------------------------
    def start_devices(self) -> None:
        from devices.idcard.simulator import SimulatedReader
        from devices.printer.simulator import SimulatedPrinter

        self.reader = SimulatedReader(card=None, card_ms=0, link_path=str(self.workdir / "idcard"))
        self.reader.start()
        self.printer = SimulatedPrinter(port=0, state=self.printer_state, save=str(self.workdir / "printer.bin"))
        self.printer.start()

    # -- all ---------------------------------------------------------------------------------
    def start(self) -> "DemoStack":
        try:
            self.start_platform()
            self.start_hub()
            self.start_devices()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for device in (self.reader, self.printer):
            if device is not None:
                try:
                    device.stop()
                except Exception:
                    log.exception("stopping a simulated device failed")
        self.reader = self.printer = None
        for name in list(self.processes):
            self.stop_process(name)

    def __enter__(self) -> "DemoStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def kiosk_config(self, base: Config | None = None, elder: bool = False, language: str = "zh_CN") -> Config:
        cfg = copy.deepcopy(base) if base is not None else Config()
        cfg.kiosk.role = self.role
        cfg.kiosk.device_id = self.device_id
        cfg.kiosk.data_dir = str(self.workdir / "kiosk-data")
        cfg.kiosk.elder_mode = elder
        cfg.kiosk.language = language
        cfg.hub.url = self.hub_url
        cfg.kiosk.outlet_code = DEMO_OUTLET
        cfg.hub.token = self.token
        cfg.platform.url = self.platform_url
        cfg.devices.simulated = True
        if self.reader is not None:
            cfg.devices.idcard.port = self.reader.port
            cfg.devices.idcard.baud = "115200"
        if self.printer is not None:
            cfg.devices.printer.uri = self.printer.device
        cfg.devices.camera.source = "sim:"
        cfg.display.fullscreen = False
        return cfg
