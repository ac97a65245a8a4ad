"""The terminal's services as the screens see them: card events, catalog, scanning, submitting, printing.

Screens never touch a serial port, a camera, SQL or HTTP: they call this object (from a worker thread for
anything blocking) and read what it returns. Device and network failures come back as `TerminalError`
with a message id the screen translates; nothing the citizen entered is lost when the hub is away (the
case waits in the local outbox and the receipt says 待上传).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from devices.files import atomic_write
from kiosk import china_time
from kiosk.config import Config
from kiosk.errors import KioskError
from kiosk import form_fields
from kiosk.session import CitizenSession, Material, Page, add_working_days

log = logging.getLogger(__name__)

RECEIPT_KEEP_S = 7 * 24 * 3600
STATUS_INTERVAL_S = 10.0  # how often the device monitor looks at the reader, camera, printer and hub
THUMB_WIDTH = 240
PAGE_QUALITY = 70

# Device trouble as the screens name it. Blocking problems stop a journey before it starts (out of service).
BLOCKING = {"reader_missing", "reader_fault", "camera_missing"}


TOKEN_REFUSED = "the hub refused the device token"  # HubClient's message for a 401


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
    pickup_code: str = ""  # the 取件码 printed on the receipt (none for a posted result)


@dataclass
class DeviceStatus:
    """What the device monitor saw last. `problems` are codes (see BLOCKING); `hub` is ok|unreachable|token_refused."""

    reader: str = "no_device"
    camera: str = "unknown"
    printer: dict | None = None
    hub: str = "unknown"
    problems: tuple[str, ...] = ()

    @property
    def blocking(self) -> list[str]:
        return [p for p in self.problems if p in BLOCKING]


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
        self._printer_lock = threading.Lock()
        self.hub_token_refused = False  # the hub answered 401 to this kiosk's token: an alarm for staff
        self.device_status = DeviceStatus()
        self._status_lock = threading.Lock()  # a status is read and published by one refresh at a time
        self._monitor_stop = threading.Event()
        self._monitor: threading.Thread | None = None
        self.status_listeners: list[Callable[[DeviceStatus], None]] = []  # called from the monitor thread

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.clean_leftovers()
        self._start_card_watcher()
        try:
            self.outbox_worker().start()
        except Exception:
            log.exception("outbox worker did not start")
        self._monitor_stop.clear()
        self._monitor = threading.Thread(target=self._monitor_loop, name="device-monitor", daemon=True)
        self._monitor.start()

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
        self._monitor_stop.set()
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
    def current_card(self):
        """The card the reader read last and still holds (a continuous module knows; a single module cannot tell)."""
        w = self._card_watcher
        return getattr(w, "card", None) if w is not None else None

    @property
    def card_module(self) -> str:
        """continuous | single | auto (not known yet): whether the reader tells a card left in place."""
        w = self._card_watcher
        return getattr(w, "module", "auto") if w is not None else "auto"

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
            self.hub_token_refused = False
            _atomic_write(cache, json.dumps(items, ensure_ascii=False).encode("utf-8"))
            return items
        except (KioskError, OSError) as exc:
            self._note_hub_error(exc)
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

    @staticmethod
    def release_fonts() -> None:
        """The receipt's CJK faces (`devices.printer.fonts`) are not kept between citizens; nothing is imported
        for this when no receipt was drawn yet."""
        fonts = sys.modules.get("devices.printer.fonts")
        if fonts is not None:
            fonts.release()

    def session_dir(self, session: CitizenSession) -> Path:
        if session.scratch is None:
            root = self.data_dir / "sessions"
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
            session.scratch = Path(tempfile.mkdtemp(prefix="s-", dir=root))
        return session.scratch

    def capture_page(self, session: CitizenSession, material: Material, replace: int | None = None) -> Page:
        """Take a still and make it one cleaned page of `material` (not attached yet: the screen decides).

        Refused with a TerminalError: "camera_unavailable", "no_page_found" (an empty desk, a page not found with
        confidence), "same_page" (the page is already captured for this or another material; detail = its name).
        The returned page's `warnings` ("blurred", "glare") are advice to give before the page is accepted.
        """
        from devices.errors import DeviceError
        from devices.scanner import enhance
        from devices.scanner.autocapture import page_signature, same_page
        from devices.scanner.detect import CONFIDENCE_THRESHOLD
        from devices.scanner.pipeline import encode_page, flatten_page

        camera = self.camera()
        try:
            still = camera.capture_still()
        except DeviceError as exc:
            if getattr(camera.status, "value", "") != "online":
                raise TerminalError("camera_unavailable", str(exc)) from exc
            try:  # a camera that is there but slow (a busy machine, a long exposure): once more, longer
                still = camera.capture_still(timeout=10.0)
            except DeviceError as again:
                raise TerminalError("camera_unavailable", str(again)) from again
        dpi = self.cfg.devices.camera.dpi
        try:
            flat = flatten_page(still, dpi, kind="id1" if material.is_id_card else "auto", require_page=True)
        except DeviceError as exc:
            raise TerminalError("no_page_found", str(exc)) from exc
        if not flat.detected or flat.confidence < CONFIDENCE_THRESHOLD:
            raise TerminalError("no_page_found", f"page confidence {flat.confidence:.2f}")
        import cv2

        from devices.scanner.camera import PREVIEW_WIDTH
        from devices.scanner.detect import detect_page

        # The signature is taken the way the preview takes it (frame at preview size, detected corners), so the
        # auto-capture trigger and this check recognise the same page alike.
        sh, sw = still.shape[:2]
        small = still if sw <= PREVIEW_WIDTH else cv2.resize(still, (PREVIEW_WIDTH, round(sh * PREVIEW_WIDTH / sw)),
                                                            interpolation=cv2.INTER_AREA)
        signature = page_signature(small, detect_page(small).corners)
        h, w = flat.image.shape[:2]
        for other in session.materials:
            for i, page in enumerate(other.pages):
                if other is material and i == replace:
                    continue
                if same_page(signature, page.signature):
                    raise TerminalError("same_page", other.name)
        cleaned = enhance.clean(flat.image, "color", dpi)
        scratch = self.session_dir(session)
        stem = f"{material.code}-{time.monotonic_ns()}"
        path = scratch / f"{stem}.jpg"
        _atomic_write(path, encode_page(cleaned, "jpeg", "color", dpi, PAGE_QUALITY))
        thumb = cv2.resize(cleaned, (THUMB_WIDTH, max(1, round(h * THUMB_WIDTH / w))), interpolation=cv2.INTER_AREA)
        _atomic_write(scratch / f"{stem}.thumb.jpg", encode_page(thumb, "jpeg", "color", 96, 80))
        warnings = [wn["code"] for wn in flat.warnings if wn.get("code") in ("blurred", "glare")]
        log.info("page captured", extra={"material": material.code, "warnings": ",".join(warnings),
                                         "confidence": round(flat.confidence, 3)})
        return Page(path=path, signature=signature, warnings=warnings)

    @staticmethod
    def thumbnail_of(page: Page) -> Path:
        return page.path.with_name(page.path.stem + ".thumb.jpg")

    def assemble(self, session: CitizenSession) -> None:
        """One PDF per material from its pages (in order), with its size and SHA-256."""
        from devices.scanner.pdf import jpegs_to_pdf

        dpi = self.cfg.devices.camera.dpi
        scratch = self.session_dir(session)
        for m in session.materials:
            if not m.pages:
                m.document, m.sha256, m.size = None, "", 0
                continue
            data = jpegs_to_pdf([p.path.read_bytes() for p in m.pages], dpi)
            out = scratch / f"{m.code}.pdf"
            _atomic_write(out, data)
            m.document, m.sha256, m.size = out, hashlib.sha256(data).hexdigest(), len(data)

    # -- submitting and the receipt ----------------------------------------------------------
    def card_still_there(self, session: CitizenSession) -> bool:
        """Whether the logged-in citizen's card is on the reader, as far as the reader can tell."""
        card = self.current_card
        if card is None:
            return self._card_watcher is None  # no reader at all (tests of the terminal alone)
        data = card.to_dict() if hasattr(card, "to_dict") else dict(card)
        return session.same_holder(data)

    def submit(self, session: CitizenSession, wait_case_no_s: float = 8.0,
               give_up: threading.Event | None = None) -> SubmitResult:
        """File the case: outbox first, then the hub. `give_up` set (the citizen pressed "don't wait") stops waiting
        for the hub: the case stays in the outbox and the receipt says 待上传."""
        from kiosk.sync.receipt_numbers import next_receipt_no

        if not session.logged_in or session.service is None:
            raise TerminalError("session_incomplete")
        if session.form_errors() or session.missing_materials():
            raise TerminalError("session_incomplete", ",".join(session.form_errors()))
        if not self.card_still_there(session):
            raise TerminalError("card_removed")
        self.assemble(session)
        now = china_time.now()
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
            "form": {"delivery": session.delivery, "mailing_address": session.mailing_address or None,
                     **{f["key"]: form_fields.normalise(f, session.form.get(f["key"])) for f in session.form_fields
                        if str(session.form.get(f["key"]) or "").strip()},
                     # 一件事: the questionnaire's answers and the items they decided (kiosk.bundles)
                     **({"_bundle": service["bundle"]} if service.get("bundle") else {})},
            "materials": [
                {"code": m.code, "name": m.name, "pages": len(m.pages), "sha256": m.sha256, "bytes": m.size}
                for m in session.materials if m.document is not None
            ],
            "delivery": session.delivery,
            "submitted_at": now.isoformat(timespec="seconds"),
        }
        # The 取件码 on the citizen's own receipt: the hub keeps only its HMAC and finds the result by it at 代发.
        pickup_code = new_pickup_code() if session.delivery != "邮寄" else ""
        if pickup_code:
            payload["pickup_code"] = pickup_code
        files = [str(m.document) for m in session.materials if m.document is not None]
        # The case is safe on disk before anything goes over the network.
        self.outbox().enqueue(payload, files)
        answer = self._deliver(receipt_no, wait_case_no_s, give_up or threading.Event())
        delivered = bool(answer.get("delivered"))
        case_no = answer.get("case_no")
        hub_promised = answer.get("promised_by")
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
            "pickup_code": pickup_code,
        }
        receipt_bytes, preview = self.render_receipt("acceptance", data, receipt_no)
        try:
            printed, printer_message = self.print_receipt(receipt_bytes)
        except BaseException:
            self._keep_receipt_copy(receipt_no, receipt_bytes)
            raise
        copy_bytes = receipt_bytes
        if pickup_code and printed:
            # The citizen holds the printed 取件码: the copy kept with the case leaves it out, so the hub holds the
            # code only as its HMAC (a receipt that could not be printed keeps it, for the clerk's reprint).
            from kiosk.receipt import render_receipt

            prn = self.cfg.devices.printer
            copy_bytes = render_receipt("acceptance", {**data, "pickup_code": ""}, paper=prn.paper, charset=prn.charset,
                                        qr=prn.qr, hotline=self.cfg.kiosk.hotline)
        self._keep_receipt_copy(receipt_no, copy_bytes)
        return SubmitResult(receipt_no, case_no, pending, printed, printer_message, tracking_url, receipt_bytes, preview,
                            data["promised_by"], pickup_code)

    def _keep_receipt_copy(self, receipt_no: str, escpos: bytes) -> None:
        """The rendered receipt stays with the case (outbox, then hub) so a clerk can reprint it."""
        try:
            self.outbox().attach_receipt(receipt_no, escpos)
            if self._outbox_worker is not None:
                self._outbox_worker.wake()
        except (KioskError, OSError):
            log.exception("the receipt copy could not be kept with case %s", receipt_no)

    def _deliver(self, receipt_no: str, wait_case_no_s: float, give_up: threading.Event) -> dict:
        """Drain the outbox and wait for the 办件编号 on a thread of its own, so that giving up returns at once
        (a hung hub keeps that thread until its timeout; the outbox worker sends the case later)."""
        answer: dict = {}

        def work() -> None:
            try:
                report = self.outbox().drain(self.hub(), should_stop=give_up.is_set)
                answer["delivered"] = receipt_no in report.get("sent_receipts", [])
                log.info("outbox drained", extra={"report": json.dumps(report, ensure_ascii=False)[:300]})
                if report.get("error") == TOKEN_REFUSED:
                    self.hub_token_refused = True
                if answer["delivered"]:
                    self.hub_token_refused = False
                    answer.update(self._wait_case_no(receipt_no, wait_case_no_s, give_up))
            except (KioskError, OSError) as exc:
                self._note_hub_error(exc)
                log.warning("hub unreachable, case %s waits in the outbox: %s", receipt_no, exc)

        worker = threading.Thread(target=work, name="submit-delivery", daemon=True)
        worker.start()
        while worker.is_alive() and not give_up.is_set():
            worker.join(0.1)
        if worker.is_alive():
            log.info("the citizen stopped waiting for the hub: case %s waits in the outbox", receipt_no)
            return {}
        return dict(answer)

    def _wait_case_no(self, receipt_no: str, budget_s: float, give_up: threading.Event | None = None) -> dict:
        deadline = time.monotonic() + budget_s
        answer: dict = {}
        while True:
            try:
                answer = self.hub().case_status(receipt_no)
            except KioskError:
                return answer
            if answer.get("case_no") or time.monotonic() >= deadline or (give_up is not None and give_up.is_set()):
                return answer
            time.sleep(0.2)

    def _note_hub_error(self, exc: Exception) -> None:
        if getattr(exc, "status", None) == 401:
            if not self.hub_token_refused:
                log.error("the hub refuses this kiosk's token: cases wait in the outbox until staff fix hub.token")
            self.hub_token_refused = True

    # -- device monitor ----------------------------------------------------------------------
    def _monitor_loop(self) -> None:
        while not self._monitor_stop.is_set():
            try:
                self.refresh_device_status()
            except Exception:
                log.exception("device status check failed")
            self._monitor_stop.wait(STATUS_INTERVAL_S)

    def refresh_device_status(self, probe_hub: bool = True) -> DeviceStatus:
        """Look at every device (and the hub's answer to our token) now; listeners get the result.

        The hub is asked first, which can take its whole timeout; the devices are read after it, and read and
        published under one lock, so a refresh that waited on the hub never publishes what the devices were before
        a later refresh saw them change (a camera unplugged meanwhile must not come back as present). Without
        `probe_hub` the hub keeps its last known state."""
        hub = self.device_status.hub
        if probe_hub:
            try:
                self.catalog_from_hub_only()
                hub = "ok"
            except (KioskError, OSError) as exc:
                self._note_hub_error(exc)
                hub = "unreachable"
        with self._status_lock:
            return self._publish_status(hub)

    def _publish_status(self, hub: str) -> DeviceStatus:
        st = DeviceStatus(reader=self.card_reader_status, camera=self._camera_presence(), printer=self._printer_status(),
                          hub=hub)
        if self.hub_token_refused:
            st.hub = "token_refused"
        elif st.hub == "token_refused":
            st.hub = "ok"  # the token was fixed since (a call to the hub succeeded)
        problems = []
        if st.reader == "no_device":
            problems.append("reader_missing")
        elif st.reader != "online":
            problems.append("reader_fault")
        if st.camera == "no_device":
            problems.append("camera_missing")
        prn = st.printer
        if prn is not None:
            if prn.get("paper") == "empty":
                problems.append("paper_out")
            elif prn.get("cover_open"):
                problems.append("cover_open")
            elif not prn.get("online"):
                problems.append("printer_offline")
            elif prn.get("paper") == "near_end":
                problems.append("paper_near_end")
        if st.hub == "token_refused":
            problems.append("hub_token_refused")
        st.problems = tuple(problems)
        self.device_status = st
        for fn in list(self.status_listeners):
            try:
                fn(st)
            except Exception:
                log.exception("device status listener failed")
        return st

    def catalog_from_hub_only(self) -> None:
        """An authenticated call to the hub (refreshing the catalog cache) that raises when the hub says no."""
        items = self.hub().catalog()
        self.hub_token_refused = False
        _atomic_write(self.data_dir / "catalog.json", json.dumps(items, ensure_ascii=False).encode("utf-8"))

    def _camera_presence(self) -> str:
        cam = self._camera
        if cam is not None:
            return getattr(cam.status, "value", "unknown")
        spec = self.cfg.devices.camera.source
        if spec.startswith("sim:"):
            from devices.scanner.simulator import device as sim_device

            return "online" if sim_device(spec).plugged else "no_device"
        from devices.scanner.source import resolve_device

        target = resolve_device(spec)
        if isinstance(target, int):
            target = f"/dev/video{target}"
        return "online" if os.path.exists(target) else "no_device"

    def _printer_status(self) -> dict | None:
        from devices.errors import DeviceError
        from devices.printer.printer import open_printer

        uri = self.cfg.devices.printer.uri
        if not uri:
            return None
        with self._printer_lock:
            try:
                with open_printer(uri) as printer:
                    return printer.status(timeout=1.0)
            except DeviceError as exc:
                log.info("printer status unavailable: %s", exc)
                return {"online": False, "paper": "unknown", "cover_open": False}

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
            with self._printer_lock, open_printer(uri) as printer:
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


def new_pickup_code() -> str:
    """A random six-digit 取件码 for the receipt (the hub refuses anything else: kiosk/hub/schemas.py)."""
    return f"{secrets.randbelow(10 ** 6):06d}"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data, private=True)
