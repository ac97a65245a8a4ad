"""A whole simulated installation for `kiosk diag --simulated`: the platform simulator and a hub in this process
(uvicorn threads on loopback), the ID reader on a pty, the printer on TCP and the camera from page images, each
with the faults an installer meets. Training, and ruling out the PC itself.

    with SimulatedSite(workdir, faults=["printer:near_end"]) as site:
        cfg = site.configure(cfg)       # points the config at everything here
        report = run_diagnostics(cfg, clock=site.clock)
"""
from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

from kiosk.config import Config

log = logging.getLogger("kiosk.diag.simulated")

FAULTS: dict[str, tuple[str, ...]] = {
    "idcard": ("unplugged", "wrong_baud", "no_answer"),
    "printer": ("unplugged", "near_end", "empty", "cover_open", "silent", "wrong_endpoints"),
    "camera": ("unplugged", "stalled", "low_res", "blurred", "dark"),
    "hub": ("down", "token_rejected", "database_down"),
    "platform": ("down",),
    "clock": ("wrong",),
}
CLOCK_WRONG_S = -3600.0  # a kiosk an hour behind: a BIOS clock on local time read as UTC does this


def parse_faults(specs) -> dict[str, str]:
    """{"printer": "near_end"} from ["printer:near_end"]; raises ValueError naming the known faults."""
    out: dict[str, str] = {}
    for spec in specs:
        device, _, fault = spec.partition(":")
        if device not in FAULTS or fault not in FAULTS[device]:
            known = ", ".join(f"{d}:{f}" for d, fs in FAULTS.items() for f in fs)
            raise ValueError(f"unknown simulated fault {spec!r}; known: {known}")
        out[device] = fault
    return out


def _lose_database(engine) -> None:
    """The hub's database file gone from under a running hub: every new connection fails as SQLite fails it."""
    import sqlite3

    from sqlalchemy import event

    engine.dispose()

    @event.listens_for(engine, "do_connect")
    def _refuse(*_args):
        raise sqlite3.OperationalError("unable to open database file")


def _demo_page(size: tuple[int, int] = (2592, 1944)):
    """The simulated camera's A4 form at its full mode. Drawing it takes seconds, so it is kept in the user's cache."""
    import os

    import cv2

    from devices.scanner.synthetic import demo_scene

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "govkiosk" / f"diag-page-{size[0]}x{size[1]}.png"
    page = cv2.imread(str(cache), cv2.IMREAD_COLOR) if cache.is_file() else None
    if page is None or (page.shape[1], page.shape[0]) != size:
        page, _ = demo_scene(seed=1, size=size)
        try:
            from devices.files import atomic_write

            cache.parent.mkdir(parents=True, exist_ok=True)
            ok, png = cv2.imencode(".png", page)
            if ok:
                atomic_write(cache, png.tobytes())
        except OSError:
            pass  # no cache: drawn again next time
    return page


class SimulatedSite:
    def __init__(self, workdir: str | Path, faults=(), device_id: str = "K0001") -> None:
        self.workdir = Path(workdir)
        self.faults = parse_faults(faults)
        self.device_id = device_id
        self.reader = self.printer = None
        self.platform_srv = self.hub_srv = None
        self.hub_app = None
        self.hub_url = self.platform_url = ""
        self.token = ""
        self.camera_target = ""
        self._camera_dev = None
        self.printer_opts: dict = {}  # open_printer options (a fake USB bus for the USB faults)
        self.clock = time.time if self.faults.get("clock") != "wrong" else (lambda: time.time() + CLOCK_WRONG_S)

    # -- services ----------------------------------------------------------------------------------
    def _start_services(self) -> None:
        from kiosk.hub.app import create_app as hub_app
        from kiosk.hub.auth import create_token
        from kiosk.hub.serving import ServerThread, free_port
        from kiosk.platform.http_adapter import ReferenceHttpAdapter
        from kiosk.platform.simulator import create_app as platform_app

        plat = Config().platform
        if self.faults.get("platform") == "down":
            self.platform_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        else:
            self.platform_srv = ServerThread(platform_app(self.workdir / "platform.sqlite3")).start()
            self.platform_url = self.platform_srv.url
        if self.faults.get("hub") == "down":
            self.hub_url = f"http://127.0.0.1:{free_port()}"
            self.token = "gk_000000000000_hub-is-down"
            return
        adapter = ReferenceHttpAdapter(self.platform_url, plat.app_id, plat.secret, plat.signing, timeout=3.0)
        app = hub_app(f"sqlite:///{self.workdir / 'hub.sqlite3'}", adapter, relay=False)
        with app.state.hub.sessions() as s, s.begin():
            self.token = create_token(s, "kiosk", self.device_id)
        if self.faults.get("hub") == "token_rejected":
            key_id = self.token.split("_")[1]
            self.token = f"gk_{key_id}_this-is-not-the-token"
        if self.faults.get("hub") == "database_down":
            _lose_database(app.state.hub.engine)
        self.hub_app = app
        self.hub_srv = ServerThread(app).start()
        self.hub_url = self.hub_srv.url

    # -- devices -----------------------------------------------------------------------------------
    def _start_devices(self) -> None:
        import cv2
        import numpy as np

        from devices.idcard.simulator import SimulatedReader
        from devices.printer.simulator import SimulatedPrinter
        from devices.scanner import simulator as camsim
        from kiosk.demo import sample_card

        fault = self.faults.get("idcard")
        reader_faults = {"wrong_baud": ["wrong_baud:9600"], "no_answer": ["no_answer:always"]}.get(fault, [])
        self.reader = SimulatedReader(card=sample_card("resident"), card_ms=0, faults=reader_faults,
                                      link_path=str(self.workdir / "idcard"))
        self.reader.start()
        if fault == "unplugged":
            self.reader.unplug()
        fault = self.faults.get("printer")
        state = fault if fault in ("near_end", "empty", "cover_open", "silent") else "ok"
        self.printer = SimulatedPrinter(port=0, state=state, save=str(self.workdir / "printer.bin"))
        self.printer.start()
        self.printer_uri = self.printer.device
        if fault == "unplugged":
            self.printer.stop()  # the port refuses, as a printer switched off on the network does
        elif fault == "wrong_endpoints":
            from devices.printer.fakeusb import FakeUsbPrinter

            # A USB printer with the cheap models' endpoints, configured with Epson's.
            fake = FakeUsbPrinter(vid=0x0416, pid=0x5011, in_ep=0x81, out_ep=0x03)
            self.printer_uri = "usb://0416:5011?in=0x82&out=0x01"
            self.printer_opts = {"usb_find": fake.find}
        fault = self.faults.get("camera")
        pages = self.workdir / "camera"
        pages.mkdir(parents=True, exist_ok=True)
        page = _demo_page()
        if fault == "blurred":
            page = cv2.GaussianBlur(page, (21, 21), 0)
        elif fault == "dark":
            page = (page.astype(np.float32) * 0.25).astype(np.uint8)
        cv2.imwrite(str(pages / "page.jpg"), page, [cv2.IMWRITE_JPEG_QUALITY, 92])
        self.camera_target = f"sim:{pages}"
        dev = self._camera_dev = camsim.device(self.camera_target)
        dev.default_mode = (640, 480)
        if fault == "unplugged":
            dev.unplug()
        elif fault == "stalled":
            dev.stall(True)
        elif fault == "low_res":
            dev.ignore_mode = True  # the camera takes the request and keeps sending 640 × 480

    # -- public ------------------------------------------------------------------------------------
    def start(self) -> "SimulatedSite":
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_services()
            self._start_devices()
        except BaseException:
            self.stop()
            raise
        return self

    def configure(self, base: Config) -> Config:
        cfg = copy.deepcopy(base)
        cfg.kiosk.device_id = self.device_id
        cfg.hub.url, cfg.hub.token = self.hub_url, self.token
        cfg.platform.url = self.platform_url
        cfg.devices.simulated = True
        cfg.devices.idcard.port = self.reader.port
        cfg.devices.idcard.baud = "115200"
        cfg.devices.printer.uri = self.printer_uri
        cfg.devices.camera.source = self.camera_target
        cfg.devices.camera.width = cfg.devices.camera.height = 0
        if cfg.source == "<defaults>":
            cfg.source = "<simulated>"
        return cfg

    def stop(self) -> None:
        for dev in (self.reader, self.printer):
            if dev is not None:
                try:
                    dev.stop()
                except Exception:
                    log.exception("stopping a simulated device failed")
        self.reader = self.printer = None
        if self._camera_dev is not None:
            self._camera_dev.replug()
            self._camera_dev.stall(False)
            self._camera_dev.ignore_mode = False
        for srv in (self.hub_srv, self.platform_srv):
            if srv is not None:
                srv.stop()
        self.hub_srv = self.platform_srv = None

    def __enter__(self) -> "SimulatedSite":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
