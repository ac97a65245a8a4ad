"""Checks of the kiosk's three devices, several named checks per device:

idcard.reader (port, baud — a reader left at another baud is found and named), idcard.sam (SAM id),
idcard.card (external+: a test card is read); printer.status, printer.paper (near end), printer.test_page
(external+); camera.frames (the real mode delivered), camera.page and camera.focus (external+: a still, the page
outline, sharpness and exposure). Reports carry no personal data.
"""
from __future__ import annotations

import time
from typing import Callable

from devices.errors import DeviceAbsent, DeviceError, DeviceTimeout
from devices.model import HealthLevel, Status
from kiosk.config import Config
from kiosk.diag.camera_quality import page_quality
from kiosk.diag.result import CheckResult, translator
from kiosk.diag.wording import device_error

FAST_BAUD = 115200  # the reader's factory rate; a photo read at 9600 baud takes over a second longer
MIN_CAMERA_MP = 2.0  # a 200 dpi A4 page needs about 1650 × 2340 px; 640 × 480 makes pages unreadable
FIRST_FRAMES_S = 5.0


def _device_fail(res: CheckResult, exc: DeviceError, lang: str, status: Status, **values) -> CheckResult:
    message, action = device_error(exc.code, exc.message, exc.action, lang, **values)
    return res.fail(exc.code, message, action, status)


def check_idcard(cfg: Config, level: HealthLevel, lang: str, ask: Callable[[str], None] | None = None,
                 card_timeout: float = 10.0) -> list[CheckResult]:
    from devices.idcard.ports import serial_path_of
    from devices.idcard.reader import open_reader, read_card
    from devices.idcard.status_codes import SamFault

    _ = translator(lang)
    port, baud = cfg.devices.idcard.port, cfg.devices.idcard.baud
    printer_port = serial_path_of(cfg.devices.printer.uri)
    exclude = [printer_port] if printer_port else []
    reader_res = CheckResult("idcard.reader", "idcard", level, details={"port": port, "baud": baud})
    sam_res = CheckResult("idcard.sam", "idcard", level)
    results = [reader_res, sam_res]
    reader = None
    try:
        reader = open_reader(port, baud, exclude)
    except SamFault as exc:
        _device_fail(reader_res, exc, lang, Status.HARDWARE_ERROR, port=port)
    except DeviceAbsent as exc:
        _device_fail(reader_res, exc, lang, Status.NO_DEVICE, port=port)
    except DeviceError as exc:
        found = None
        if baud != "auto":  # silent at the configured rate: is it there at another one?
            try:
                probe = open_reader(port, "auto", exclude)
                found = probe.baud
                if str(found) == str(baud):
                    # Silent once, then answering at the configured rate (a busy machine, a slow first answer):
                    # not a wrong rate; the rest of the checks use this connection.
                    reader = probe
                    reader_res.details["answered_on_retry"] = True
                else:
                    probe.close()
            except DeviceError:
                pass
        if reader is None and found:
            reader_res.details["answers_at"] = found
            reader_res.fail("idcard_wrong_baud", _("the reader answers at {found} baud, not at the configured {baud}",
                                                   found=found, baud=baud),
                            _("set devices.idcard.baud = \"auto\" (or \"{found}\") in the config, or run `kiosk setup`",
                              found=found), Status.OFFLINE)
        elif reader is None:
            _device_fail(reader_res, exc, lang, Status.OFFLINE, port=port)
    if reader is None:
        sam_res.fail("sam_unchecked", _("the SAM was not checked: the reader does not answer"),
                     _("fix idcard.reader first"), Status.OFFLINE)
        return results
    try:
        reader_res.details.update(port=reader.port, baud=reader.baud)
        if reader.baud != FAST_BAUD:
            reader_res.warn("idcard_slow_baud", _("the reader runs at {baud} baud: each card read takes over a second longer than at 115200", baud=reader.baud),
                            _('set the reader back to 115200 baud with its vendor utility; keep devices.idcard.baud = "auto"'))
        try:
            sam_res.details["sam_id"] = reader.sam_id()
        except DeviceError as exc:
            _device_fail(sam_res, exc, lang, Status.HARDWARE_ERROR, port=reader.port)
    finally:
        reader.close()
    if level == HealthLevel.INTERNAL or reader_res.status in (Status.OFFLINE, Status.NO_DEVICE):
        return results
    card_res = CheckResult("idcard.card", "idcard", level)
    results.append(card_res)
    if level == HealthLevel.INTERACTIVE and ask is not None:
        ask(_("Place an ID card on the reader, then press Enter."))
    try:
        card = read_card(reader.port, reader.baud, timeout=card_timeout, exclude_ports=exclude)
        card_res.details.update(card_read=True, card_type=card.card_type, id_number_valid=card.id_number_valid,
                                photo_bytes=len(card.photo))
    except DeviceTimeout as exc:
        card_res.details["card_read"] = False
        _device_fail(card_res, exc, lang, Status.USER_ERROR, port=reader.port)
    except DeviceError as exc:
        card_res.details["card_read"] = False
        _device_fail(card_res, exc, lang, Status.HARDWARE_ERROR, port=reader.port)
    return results


def check_printer(cfg: Config, level: HealthLevel, lang: str, **opts) -> list[CheckResult]:
    from devices.printer.printer import PrinterNotReady, open_printer

    _ = translator(lang)
    uri = cfg.devices.printer.uri
    status_res = CheckResult("printer.status", "printer", level, details={"uri": uri})
    paper_res = CheckResult("printer.paper", "printer", level)
    results = [status_res, paper_res]
    if not uri:
        status_res.fail("printer_not_configured", _("no printer is configured"),
                        _("set devices.printer.uri in the config, or run `kiosk setup`"), Status.NO_DEVICE)
        paper_res.fail("paper_unchecked", _("the paper was not checked: no printer"), _("fix printer.status first"),
                       Status.NO_DEVICE)
        return results
    try:
        printer = open_printer(uri, **opts)
    except DeviceError as exc:
        _device_fail(status_res, exc, lang, Status.NO_DEVICE, uri=uri)
        paper_res.fail("paper_unchecked", _("the paper was not checked: the printer cannot be opened"),
                       _("fix printer.status first"), Status.NO_DEVICE)
        return results
    with printer:
        st = printer.status(1.0)
        if level != HealthLevel.INTERNAL and st["status"] == "online":
            from kiosk.receipt import render_receipt

            prn = cfg.devices.printer
            page = render_receipt("test", {}, paper=prn.paper, charset=prn.charset, qr=prn.qr, hotline=cfg.kiosk.hotline)
            page_res = CheckResult("printer.test_page", "printer", level)
            results.append(page_res)
            try:
                printer.print_bytes(page, 2.0)
                page_res.details["printed_bytes"] = len(page)
            except PrinterNotReady as exc:
                st = exc.status
                page_res.fail("test_page_held", _("the test page was not printed"), _("see printer.status"),
                              Status(st["status"]))
            except DeviceError as exc:
                _device_fail(page_res, exc, lang, Status.HARDWARE_ERROR, uri=uri)
            st = printer.status(1.0)
    status_res.details.update(online=st["online"], cover_open=st.get("cover_open"))
    paper_res.details["paper"] = st["paper"]
    status_res.status = Status(st["status"])
    for err in st["errors"]:
        message, action = device_error(err["code"], err["message"], err["action"], lang, uri=uri)
        if uri.startswith("usb://") and err["code"] in ("printer_gone", "printer_silent"):
            # The device was found and claimed but nothing comes back: on USB that is the endpoints, nearly always.
            err = dict(err, code="printer_usb_no_answer")
            message = _("the USB printer {uri} was found but does not answer on these endpoints", uri=uri)
            action = _("set the endpoints the printer really has: `lsusb -v -d VID:PID` lists them (most 58/80 mm printers: ?in=0x81&out=0x03, Epson: ?in=0x82&out=0x01), or run `kiosk setup`")
        if err["code"].startswith("paper_"):
            target = paper_res
            target.status = Status.USER_ERROR
        else:
            target = status_res
        target.errors.append(_err(err["code"], message, action))
    if st["paper"] == "near_end":
        paper_res.severity = "warning"
    elif st["paper"] == "empty":
        paper_res.status = Status.USER_ERROR
        paper_res.severity = "error"
    elif st["paper"] == "unknown" and status_res.status == Status.ONLINE:
        paper_res.details["note"] = _("this printer does not report its paper")
    if status_res.status in (Status.OFFLINE, Status.NO_DEVICE, Status.HARDWARE_ERROR) and not paper_res.errors:
        paper_res.status = Status.OFFLINE
        paper_res.errors.append(_err("paper_unchecked", _("the paper was not checked: the printer does not answer"),
                                     _("fix printer.status first")))
    if status_res.status == Status.USER_ERROR:
        if status_res.errors:
            status_res.severity = "error"  # cover open: nothing can be printed until somebody closes it
        else:
            status_res.status = Status.ONLINE  # paper out is the paper check's business
    return results


def _err(code: str, message: str, action: str):
    from devices.model import DeviceErrorInfo

    return DeviceErrorInfo(code, message, action)


def check_camera(cfg: Config, level: HealthLevel, lang: str, ask: Callable[[str], None] | None = None) -> list[CheckResult]:
    from devices.scanner.camera import Camera
    from devices.scanner.detect import detect_page

    _ = translator(lang)
    cam_cfg = cfg.devices.camera
    frames_res = CheckResult("camera.frames", "camera", level, details={"source": cam_cfg.source})
    results = [frames_res]
    try:
        camera = Camera(cam_cfg.source, width=cam_cfg.width, height=cam_cfg.height)
    except DeviceError as exc:
        _device_fail(frames_res, exc, lang, Status.NO_DEVICE, source=cam_cfg.source)
        return results
    camera.start()
    try:
        deadline = time.monotonic() + FIRST_FRAMES_S
        first = None
        while time.monotonic() < deadline:
            seq, frame = camera.latest()
            if frame is not None:
                if first is None:
                    first = (seq, time.monotonic())
                elif seq >= first[0] + 5:
                    break
            time.sleep(0.05)
        seq, frame = camera.latest()
        if frame is None:
            err = camera.last_error
            status = camera.status if camera.status != Status.ONLINE else Status.OFFLINE
            if err is not None:
                _device_fail(frames_res, err, lang, status, source=cam_cfg.source)
            else:
                frames_res.fail("camera_no_frames", _("the camera sent no picture"),
                                _("check the document camera's USB cable and power"), status)
            return results
        h, w = frame.shape[:2]
        mp = w * h / 1e6
        frames_res.details.update(mode=[w, h], megapixels=round(mp, 1))
        if first is not None and seq > first[0]:
            frames_res.details["fps"] = round((seq - first[0]) / max(1e-3, time.monotonic() - first[1]), 1)
        if mp < MIN_CAMERA_MP:
            frames_res.fail("camera_low_resolution",
                            _("the camera gives only {w}×{h} ({mp:.1f} MP): scanned pages would be unreadable",
                              w=w, h=h, mp=mp),
                            _("set devices.camera.width and height to 0 (the highest mode); plug the camera into a USB 2.0/3.0 port directly, not a hub; list its modes with `kiosk setup --list`"),
                            Status.HARDWARE_ERROR)
        if level == HealthLevel.INTERNAL:
            return results
        if level == HealthLevel.INTERACTIVE and ask is not None:
            ask(_("Lay a page of paper flat under the document camera, then press Enter."))
        page_res = CheckResult("camera.page", "camera", level)
        focus_res = CheckResult("camera.focus", "camera", level)
        results += [page_res, focus_res]
        try:
            still = camera.capture_still()
        except DeviceError as exc:
            _device_fail(page_res, exc, lang, Status.OFFLINE, source=cam_cfg.source)
            focus_res.fail("focus_unchecked", _("focus was not checked: no still picture"), _("fix camera.page first"),
                           Status.OFFLINE)
            return results
        det = detect_page(still)
        page_res.details.update(page_found=det.corners is not None, confidence=round(float(det.confidence), 3))
        if det.corners is None:
            page_res.warn("camera_no_page", _("no page was found in the camera's picture"),
                          _("lay a page flat under the camera, away from bright light, and check the focus"))
        q = page_quality(still, det.corners)
        focus_res.details.update(q.as_dict())
        if q.focus_verdict == "blurred":
            focus_res.fail("camera_blurred", _("the picture is blurred (sharpness {score:.0f}, at least {need:.0f} wanted)", score=q.sharpness, need=q.sharp_min),
                           _("clean the lens; adjust the camera's focus ring or height until the meter is green"),
                           Status.USER_ERROR, "error")
        if q.exposure_verdict == "dark":
            focus_res.warn("camera_dark", _("the page is too dark (brightness {b:.0f} of 255)", b=q.brightness),
                           _("switch on the camera's lamp, or move the kiosk away from shade"))
        elif q.exposure_verdict == "bright":
            focus_res.warn("camera_overexposed", _("the page is over-exposed ({pct:.0f}% of it is pure white)",
                                                   pct=q.clipped * 100),
                           _("dim the camera's lamp, or turn the kiosk away from direct sunlight"))
        return results
    finally:
        camera.stop()
