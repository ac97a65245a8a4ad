"""The installer screens' service object: devices taken from the running terminal while the installer works,
each group of diag checks on demand, the card-read test (masked), the printer test page, the camera's focus
meter, and the report's export. Screens call it from worker threads; it never touches Kivy."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

from devices.model import HealthLevel
from kiosk.config import Config

log = logging.getLogger("kiosk.installer")


class InstallerService:
    def __init__(self, cfg: Config, terminal=None) -> None:
        self.cfg = cfg
        self.terminal = terminal
        self.lang = cfg.kiosk.language
        self.results: dict[str, list[dict]] = {}  # group → its checks, newest run
        self._lock = threading.Lock()
        self._camera = None
        self.active = False  # the terminal's devices are ours

    # -- devices handed over -------------------------------------------------------------------
    def begin(self) -> None:
        """The terminal lets go of the reader, camera and printer: the checks open them themselves."""
        if self.terminal is not None and not self.active:
            self.terminal.stop()
        self.active = True

    def end(self) -> None:
        self.stop_camera()
        if self.terminal is not None and self.active:
            self.terminal.start()
        self.active = False

    # -- checks --------------------------------------------------------------------------------
    def run(self, groups: tuple[str, ...], level: HealthLevel = HealthLevel.INTERNAL) -> dict:
        from kiosk.diag import run_diagnostics

        with self._lock:  # one device user at a time
            report = run_diagnostics(self.cfg, level, None, self.lang, groups=groups)
        for group in groups:
            self.results[group] = [c for c in report["checks"] if _group_of(c["check"]) == group]
        return report

    def report(self) -> dict:
        from kiosk.diag import GROUPS, overall

        checks = [c for g in GROUPS for c in self.results.get(g, [])]
        return {"overall": overall(checks), "level": "internal", "config": self.cfg.source,
                "device_id": self.cfg.kiosk.device_id, "language": self.lang,
                "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "checks": checks}

    # -- tests with the devices ----------------------------------------------------------------
    def read_card(self, timeout: float = 15.0) -> dict:
        """One card read; only masked values leave this method."""
        from devices.idcard.ports import serial_path_of
        from devices.idcard.reader import read_card
        from kiosk.privacy.masking import mask_address, mask_document_number, mask_name

        printer_port = serial_path_of(self.cfg.devices.printer.uri)
        idc = self.cfg.devices.idcard
        with self._lock:
            card = read_card(idc.port, idc.baud, timeout=timeout, exclude_ports=[printer_port] if printer_port else [])
        return {"name": mask_name(card.name or card.name_en), "id_number": mask_document_number(card.id_number),
                "card_type": card.card_type, "valid_to": card.valid_to, "address": mask_address(card.address),
                "id_number_valid": card.id_number_valid, "photo_bytes": len(card.photo)}

    def print_test_page(self) -> int:
        from devices.printer.printer import open_printer
        from kiosk.receipt import render_receipt

        prn = self.cfg.devices.printer
        page = render_receipt("test", {}, paper=prn.paper, charset=prn.charset, qr=prn.qr, hotline=self.cfg.kiosk.hotline)
        with self._lock, open_printer(prn.uri) as printer:
            printer.print_bytes(page, 5.0)
        return len(page)

    def start_camera(self):
        from devices.scanner.camera import Camera

        if self._camera is None:
            cam = self.cfg.devices.camera
            self._camera = Camera(cam.source, width=cam.width, height=cam.height)
            self._camera.start()
        return self._camera

    def camera_view(self):
        """(preview frame with the page outlined, PageQuality) or (None, None) while no picture comes."""
        from devices.scanner.autocapture import draw_outline
        from kiosk.diag.camera_quality import page_quality

        camera = self.start_camera()
        small, det = camera.preview()
        if small is None:
            return None, None
        quality = page_quality(small, det.corners if det is not None else None)
        return draw_outline(small, det), quality

    def stop_camera(self) -> None:
        if self._camera is not None:
            self._camera.stop()
            self._camera = None

    # -- export --------------------------------------------------------------------------------
    def export(self, out_dir: str | Path | None = None, print_it: bool = True, send: bool = True) -> dict:
        """The report as a JSON file in the data directory, printed, and sent to the hub; what happened to each."""
        from kiosk.diag.export import print_summary, send_to_hub, write_json
        from kiosk.errors import KioskError

        report = self.report()
        out_dir = Path(out_dir or Path(self.cfg.kiosk.data_dir) / "diag")
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"diag-{self.cfg.kiosk.device_id}-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
        write_json(report, path)
        outcome: dict = {"file": str(path), "printed": None, "sent": None}
        if print_it:
            try:
                with self._lock:
                    outcome["printed"] = print_summary(report, self.cfg, self.lang)
            except Exception as exc:  # the file is the copy that matters; say what failed
                outcome["printed"] = f"error: {getattr(exc, 'message', exc)}"
        if send:
            try:
                outcome["sent"] = send_to_hub(report, self.cfg).get("id")
            except KioskError as exc:
                outcome["sent"] = f"error: {exc.message}"
        return outcome


def _group_of(check: str) -> str:
    head = check.split(".")[0]
    if head in ("hub", "clock", "platform"):
        return "network"
    if head in ("config", "fonts", "storage", "outbox"):
        return "system"
    return head
