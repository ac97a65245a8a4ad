"""The installer's health report: every device at the chosen level, plus the system around it (fonts, data
directory, hub, outbox). Reports carry no personal data."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from devices.model import DeviceErrorInfo, HealthLevel, HealthReport, Status
from kiosk.config import Config

MIN_FREE_MB = 500
_BAD = {Status.NO_DEVICE, Status.HARDWARE_ERROR, Status.OFFLINE}


def _system_checks(cfg: Config, level: HealthLevel) -> list[HealthReport]:
    from kiosk.fonts import FontMissing, ensure_ui_fonts

    reports = []
    fonts = HealthReport("fonts", Status.ONLINE, level, {})
    try:
        ui = ensure_ui_fonts(cfg.kiosk.data_dir)
        fonts.details.update(regular=str(ui.regular), bold=str(ui.bold))
    except FontMissing as exc:
        fonts.status = Status.HARDWARE_ERROR
        fonts.errors.append(DeviceErrorInfo("font_missing", exc.message, exc.action))
    reports.append(fonts)

    storage = HealthReport("storage", Status.ONLINE, level, {"data_dir": cfg.kiosk.data_dir})
    data_dir = Path(cfg.kiosk.data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".diag-probe"
        probe.write_bytes(b"ok")
        probe.unlink()
        free_mb = shutil.disk_usage(data_dir).free // (1024 * 1024)
        storage.details["free_mb"] = free_mb
        if free_mb < MIN_FREE_MB:
            storage.status = Status.USER_ERROR
            storage.errors.append(DeviceErrorInfo("disk_low", f"only {free_mb} MB free for the kiosk's data",
                                                  "free disk space; scanned pages and the outbox need room"))
    except OSError as exc:
        storage.status = Status.HARDWARE_ERROR
        storage.errors.append(DeviceErrorInfo("data_dir_unwritable", f"cannot write to {data_dir}: {exc.strerror}",
                                              "fix the owner and permissions of the data directory (kiosk.data_dir)"))
    reports.append(storage)

    hub = HealthReport("hub", Status.OFFLINE, level, {"url": cfg.hub.url})
    try:
        from kiosk.errors import KioskError
        from kiosk.sync.client import HubClient

        client = HubClient(cfg.hub.url, cfg.hub.token, timeout=min(cfg.hub.timeout_s, 3.0), verify_tls=cfg.hub.verify_tls)
        if client.health():
            hub.status = Status.ONLINE
            if level != HealthLevel.INTERNAL:
                try:
                    hub.details["services"] = len(client.catalog())
                except KioskError as exc:
                    hub.status = Status.USER_ERROR
                    hub.errors.append(DeviceErrorInfo("hub_refused", exc.message, exc.action))
        else:
            hub.errors.append(DeviceErrorInfo("hub_unreachable", f"the hub at {cfg.hub.url} does not answer",
                                              "check the network and hub.url; cases wait in the outbox meanwhile"))
    except Exception as exc:  # a diagnosis never stops at the first broken part
        hub.errors.append(DeviceErrorInfo("hub_unreachable", str(exc), "check the network and hub.url"))
    reports.append(hub)

    outbox = HealthReport("outbox", Status.ONLINE, level, {})
    try:
        from kiosk.sync.outbox import Outbox

        st = Outbox(cfg.kiosk.data_dir).status()
        outbox.details.update({k: v for k, v in st.items() if isinstance(v, (int, float, str, bool))})
    except Exception as exc:
        outbox.status = Status.HARDWARE_ERROR
        outbox.errors.append(DeviceErrorInfo("outbox_unreadable", str(exc), "see the log; do not delete the outbox file"))
    reports.append(outbox)
    return reports


def _device_checks(cfg: Config, level: HealthLevel, ask: Callable[[str], None] | None) -> list[HealthReport]:
    from devices.idcard.health import health_check as idcard_health
    from devices.idcard.ports import serial_path_of
    from devices.printer.health import check_health as printer_health
    from devices.scanner.health import check_health as camera_health

    reports = []
    printer_port = serial_path_of(cfg.devices.printer.uri)
    if level == HealthLevel.INTERACTIVE and ask is not None:
        ask("Place an ID card on the reader, then press Enter.")
    reports.append(idcard_health(cfg.devices.idcard.port, cfg.devices.idcard.baud, level,
                                 exclude_ports=[printer_port] if printer_port else [], card_timeout=10.0))
    test_page = None
    if level != HealthLevel.INTERNAL:
        from kiosk.receipt import render_receipt

        prn = cfg.devices.printer
        test_page = render_receipt("test", {}, paper=prn.paper, charset=prn.charset, qr=prn.qr, hotline=cfg.kiosk.hotline)
    if cfg.devices.printer.uri:
        reports.append(printer_health(cfg.devices.printer.uri, level.value, test_page=test_page))
    else:
        reports.append(HealthReport("printer", Status.NO_DEVICE, level, {"uri": ""}, [DeviceErrorInfo(
            "printer_not_configured", "no printer is configured", "set devices.printer.uri in the config")]))
    reports.append(camera_health(cfg.devices.camera.source, level, cfg.devices.camera.width, cfg.devices.camera.height, ask))
    return reports


def overall(reports: list[HealthReport]) -> str:
    if any(r.status in _BAD for r in reports):
        return "error"
    if any(r.errors or r.status != Status.ONLINE for r in reports):
        return "warning"
    return "ok"


def run_diagnostics(cfg: Config, level: HealthLevel = HealthLevel.INTERNAL,
                    ask: Callable[[str], None] | None = None) -> dict:
    reports = _device_checks(cfg, level, ask) + _system_checks(cfg, level)
    return {"overall": overall(reports), "level": level.value, "config": cfg.source,
            "checks": [r.as_dict() for r in reports]}
