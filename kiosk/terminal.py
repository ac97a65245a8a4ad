"""The terminal's services as the screens see them: card events, catalog, scanning, submitting, printing.

Screens never touch a serial port, a camera, SQL or HTTP: they call this object (from a worker thread for
anything blocking) and read what it returns. Device and network failures come back as `TerminalError`
with a message id the screen translates; nothing the citizen entered is lost when the hub is away (the
case waits in the local outbox and the receipt says 待上传).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from devices.files import atomic_write
from kiosk.config import Config
from kiosk.errors import KioskError
from kiosk.session import CitizenSession, Material, add_working_days

log = logging.getLogger(__name__)

RECEIPT_KEEP_S = 7 * 24 * 3600


class TerminalError(Exception):
    """A failure the screen shows: `message_id` is translated there, `detail` goes to the log."""

    def __init__(self, message_id: str, detail: str = "") -> None:
        super().__init__(detail or message_id)
        self.message_id = message_id
        self.detail = detail


@dataclass
class SubmitResult:
    receipt_no: str
    case_no: str | None
    pending_upload: bool
    printed: bool
    printer_message: str  # message id: "printed", "paper_out", "printer_offline", "one_way"
    tracking_url: str
    receipt_bytes: bytes
    preview_png: Path | None
    promised_by: str


class Terminal:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.data_dir = Path(cfg.kiosk.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        self._card_listeners: list[Callable] = []
        self._card_watcher = None
        self._camera = None
        self._camera_lock = threading.Lock()
        self._outbox = None
        self._outbox_worker = None
        self._hub = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.clean_leftovers()
        self._start_card_watcher()
        try:
            self.outbox_worker().start()
        except Exception:
            log.exception("outbox worker did not start")

    def clean_leftovers(self, now: float | None = None) -> None:
        """After a crash or power cut: scratch pages of an unfinished session are personal data with no owner
        any more, so they go; local receipt previews (masked) are kept for a week for staff, then go."""
        shutil.rmtree(self.data_dir / "sessions", ignore_errors=True)
        cutoff = (now or time.time()) - RECEIPT_KEEP_S
        for path in (self.data_dir / "receipts").glob("*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                log.warning("could not remove old receipt file %s", path.name)

    def stop(self) -> None:
        for stopper in (self._card_watcher, self._outbox_worker, self._camera):
            if stopper is not None:
                try:
                    stopper.stop()
                except Exception:
                    log.exception("stopping %s failed", type(stopper).__name__)
        self._card_watcher = self._outbox_worker = self._camera = None

    # -- ID card -----------------------------------------------------------------------------
    def add_card_listener(self, callback: Callable) -> None:
        """`callback(event)` runs on the reader's thread; the App hands it to the UI thread."""
        self._card_listeners.append(callback)

    def _start_card_watcher(self) -> None:
        from devices.idcard.ports import serial_path_of
        from devices.idcard.reader import CardWatcher

        idc = self.cfg.devices.idcard
        # A serial receipt printer must never receive ID-reader frames while ports are probed.
        printer_port = serial_path_of(self.cfg.devices.printer.uri)
        self._card_watcher = CardWatcher(idc.port, baud=idc.baud, poll_ms=idc.poll_ms, on_event=self._dispatch_card_event,
                                         exclude_ports=[printer_port] if printer_port else [], module=idc.module)
        self._card_watcher.start()

    def _dispatch_card_event(self, event) -> None:
        for cb in list(self._card_listeners):
            try:
                cb(event)
            except Exception:
                log.exception("card listener failed")

    @property
    def card_present(self) -> bool:
        """Whether the reader currently holds a card it has read (cleared when the card is taken away)."""
        w = self._card_watcher
        return bool(w is not None and getattr(w, "card", None) is not None)

    @property
    def card_reader_status(self) -> str:
        w = self._card_watcher
        return getattr(getattr(w, "status", None), "value", "no_device") if w else "no_device"

    # -- hub and catalog ---------------------------------------------------------------------
    def hub(self):
        if self._hub is None:
            from kiosk.sync.client import HubClient

            self._hub = HubClient(self.cfg.hub.url, self.cfg.hub.token, timeout=self.cfg.hub.timeout_s, verify_tls=self.cfg.hub.verify_tls)
        return self._hub

    def outbox(self):
        if self._outbox is None:
            from kiosk.sync.outbox import Outbox

            self._outbox = Outbox(self.data_dir)
        return self._outbox

    def outbox_worker(self):
        if self._outbox_worker is None:
            from kiosk.sync.outbox import OutboxWorker

            self._outbox_worker = OutboxWorker(self.outbox(), self.hub())
        return self._outbox_worker

    def catalog(self) -> list[dict]:
        """Services from the hub; the last good copy when the hub is unreachable."""
        cache = self.data_dir / "catalog.json"
        try:
            items = self.hub().catalog()
            _atomic_write(cache, json.dumps(items, ensure_ascii=False).encode("utf-8"))
            return items
        except (KioskError, OSError) as exc:
            log.warning("catalog from hub failed, using cached copy: %s", exc)
            if cache.is_file():
                return json.loads(cache.read_text("utf-8"))
            raise TerminalError("catalog_unavailable", str(exc)) from exc

    # -- scanning ----------------------------------------------------------------------------
    def camera(self):
        with self._camera_lock:
            if self._camera is None:
                from devices.scanner.camera import Camera

                cam = self.cfg.devices.camera
                self._camera = Camera(cam.source, width=cam.width, height=cam.height)
                self._camera.start()
            return self._camera

    def release_camera(self) -> None:
        with self._camera_lock:
            if self._camera is not None:
                self._camera.stop()
                self._camera = None

    def session_dir(self, session: CitizenSession) -> Path:
        if session.scratch is None:
            root = self.data_dir / "sessions"
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
            session.scratch = Path(tempfile.mkdtemp(prefix="s-", dir=root))
        return session.scratch

    def capture_material(self, session: CitizenSession, material: Material) -> Path:
        """Take a still, find the page, flatten and clean it, and attach it to `material` as a PDF."""
        from devices.errors import DeviceError
        from devices.scanner.pipeline import process_pages

        try:
            still = self.camera().capture_still()
        except DeviceError as exc:
            raise TerminalError("camera_unavailable", str(exc)) from exc
        scratch = self.session_dir(session)
        out = scratch / f"{material.code}-{len(material.pages) + 1}.pdf"
        try:
            settings = process_pages([still], str(out), mode="color", dpi=self.cfg.devices.camera.dpi)
        except DeviceError as exc:
            raise TerminalError("no_page_found", str(exc)) from exc
        data = out.read_bytes()
        material.pages = [out]
        material.document = out
        material.sha256 = hashlib.sha256(data).hexdigest()
        material.size = len(data)
        log.info("material captured", extra={"material": material.code, "bytes": len(data), "dpi": settings.get("dpi")})
        return out

    # -- submitting and the receipt ----------------------------------------------------------
    def submit(self, session: CitizenSession, wait_case_no_s: float = 8.0) -> SubmitResult:
        from kiosk.sync.receipt_numbers import next_receipt_no

        if not session.logged_in or session.service is None:
            raise TerminalError("session_incomplete")
        now = dt.datetime.now().astimezone()
        receipt_no = next_receipt_no(self.data_dir, self.cfg.kiosk.device_id)
        service = session.service
        promised = add_working_days(now.date(), int(service.get("promised_days", 20)))
        applicant = session.applicant()
        payload = {
            "receipt_no": receipt_no,
            "device_id": self.cfg.kiosk.device_id,
            "channel": "counter" if self.cfg.kiosk.role == "counter" else "kiosk",
            "item_code": service.get("item_code") or service["code"],
            "item_name": service["name"],
            "applicant": applicant,
            "form": {"delivery": session.delivery, "mailing_address": session.mailing_address or None},
            "materials": [
                {"code": m.code, "name": m.name, "pages": max(1, len(m.pages)), "sha256": m.sha256, "bytes": m.size}
                for m in session.materials if m.document is not None
            ],
            "delivery": session.delivery,
            "submitted_at": now.isoformat(timespec="seconds"),
        }
        files = [str(m.document) for m in session.materials if m.document is not None]
        # The case is safe on disk before anything goes over the network.
        self.outbox().enqueue(payload, files)
        case_no = None
        hub_promised = None
        delivered = False
        try:
            report = self.outbox().drain(self.hub())
            delivered = receipt_no in report.get("sent_receipts", [])
            log.info("outbox drained", extra={"report": json.dumps(report, ensure_ascii=False)[:300]})
            answer = self._wait_case_no(receipt_no, wait_case_no_s)
            case_no = answer.get("case_no")
            hub_promised = answer.get("promised_by")
        except (KioskError, OSError) as exc:
            log.warning("hub unreachable, case %s waits in the outbox: %s", receipt_no, exc)
        # 待上传 only while the case has not reached the hub; a case at the hub waiting for its 办件编号 prints 待分配.
        pending = not delivered
        tracking_url = f"{self.cfg.kiosk.tracking_base_url}?r={receipt_no}"
        data = {
            "receipt_no": receipt_no,
            "case_no": case_no,
            "pending_upload": pending,
            "item_name": service["name"],
            "applicant_name": applicant["name"],
            "applicant_id_number": applicant["id_number"],
            "phone": session.phone,
            "submitted_at": payload["submitted_at"],
            "promised_by": hub_promised or promised.isoformat(),
            "delivery": session.delivery,
            "outlet": self.cfg.kiosk.outlet,
            "tracking_url": tracking_url,
            "materials": [{"name": m["name"], "pages": m["pages"]} for m in payload["materials"]],
            "hotline": self.cfg.kiosk.hotline,
        }
        receipt_bytes, preview = self.render_receipt("acceptance", data, receipt_no)
        # The rendered receipt stays with the case (outbox, then hub) so a clerk can reprint it.
        try:
            self.outbox().attach_receipt(receipt_no, receipt_bytes)
            if self._outbox_worker is not None:
                self._outbox_worker.wake()
        except (KioskError, OSError):
            log.exception("the receipt copy could not be kept with case %s", receipt_no)
        printed, printer_message = self.print_receipt(receipt_bytes)
        return SubmitResult(receipt_no, case_no, pending, printed, printer_message, tracking_url, receipt_bytes, preview,
                            data["promised_by"])

    def _wait_case_no(self, receipt_no: str, budget_s: float) -> dict:
        deadline = time.monotonic() + budget_s
        answer: dict = {}
        while True:
            try:
                answer = self.hub().case_status(receipt_no)
            except KioskError:
                return answer
            if answer.get("case_no") or time.monotonic() >= deadline:
                return answer
            time.sleep(0.2)

    def render_receipt(self, kind: str, data: dict, receipt_no: str) -> tuple[bytes, Path | None]:
        from kiosk.receipt import preview_png, render_receipt

        prn = self.cfg.devices.printer
        escpos = render_receipt(kind, data, paper=prn.paper, charset=prn.charset, qr=prn.qr, hotline=self.cfg.kiosk.hotline)
        folder = self.data_dir / "receipts"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _atomic_write(folder / f"{receipt_no}.bin", escpos)
        png = folder / f"{receipt_no}.png"
        try:
            preview_png(escpos, str(png), paper=prn.paper)
        except Exception:
            log.exception("receipt preview failed")
            png = None
        return escpos, png

    def print_receipt(self, escpos: bytes) -> tuple[bool, str]:
        """Print if the printer says it can; `print_bytes` checks first and never leaves a job held."""
        from devices.errors import DeviceError
        from devices.printer.printer import PrinterNotReady, open_printer

        uri = self.cfg.devices.printer.uri
        if not uri:
            return False, "printer_offline"
        try:
            with open_printer(uri) as printer:
                printer.print_bytes(escpos)
        except PrinterNotReady as exc:
            st = exc.status
            log.warning("receipt not printed: %s", exc.code)
            if st.get("paper") == "empty":
                return False, "paper_out"
            if st.get("cover_open"):
                return False, "cover_open"
            return False, "printer_offline"
        except DeviceError as exc:
            log.warning("printing failed: %s", exc)
            return False, "printer_offline"
        # A one-way link (a file) cannot tell whether paper came out.
        return True, "one_way" if uri.startswith("file://") else "printed"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data, private=True)
