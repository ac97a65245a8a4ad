"""Printer health checks at the three levels of DESIGN §7, as a `HealthReport` for `kiosk diag`.

internal: open the device and read its status (no paper used); external: also print the page the caller gives
(the kiosk's 诊断测试页) and read the status again; interactive: the same as external — the installer then confirms
the printed items on screen, which is the caller's part.
"""
from __future__ import annotations

from devices.errors import DeviceError
from devices.model import DeviceErrorInfo, HealthLevel, HealthReport, Status
from devices.printer.printer import PrinterNotReady, open_printer


def check_health(uri: str, level: str = "internal", test_page: bytes | None = None, timeout: float = 1.0, **opts) -> HealthReport:
    lvl = HealthLevel(level)
    report = HealthReport(device=f"printer {uri}" if uri else "printer", status=Status.NO_DEVICE, level=lvl, details={"uri": uri})
    try:
        printer = open_printer(uri, **opts)
    except DeviceError as exc:
        report.errors.append(DeviceErrorInfo(exc.code, exc.message, exc.action))
        return report
    with printer:
        st = printer.status(timeout)
        report.details["before"] = st
        if lvl is not HealthLevel.INTERNAL and test_page:
            try:
                printer.print_bytes(test_page, timeout)
                report.details["printed_bytes"] = len(test_page)
            except PrinterNotReady as exc:
                st = exc.status
            except DeviceError as exc:
                report.errors.append(DeviceErrorInfo(exc.code, exc.message, exc.action))
            st = printer.status(timeout)
            report.details["after"] = st
    report.status = Status(st["status"])
    report.details["paper"] = st["paper"]
    report.errors.extend(DeviceErrorInfo(e["code"], e["message"], e["action"]) for e in st["errors"])
    return report
