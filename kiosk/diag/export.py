"""Where a diag report goes once made: a JSON file, a printed summary on the kiosk's own printer, and a copy on
the hub (`POST /api/v1/diag/reports`), where a supervisor lists each kiosk's last report."""
from __future__ import annotations

import json
import os

import requests

from devices.files import atomic_write
from devices.printer.document import Document
from devices.printer.encoder import encode
from devices.printer.profile import PrinterProfile
from kiosk.config import Config
from kiosk.diag.result import translator
from kiosk.errors import KioskError, Unavailable


def write_json(report: dict, path: str | os.PathLike) -> None:
    atomic_write(path, json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8"))


def summary_document(report: dict, lang: str = "zh_CN") -> Document:
    _ = translator(lang)
    doc = Document()
    doc.text(_("Kiosk health report"), align="center", width=2, height=2, bold=True)
    doc.field(_("Kiosk: "), str(report.get("device_id", "")))
    doc.field(_("Time: "), str(report.get("created_at", "")))
    doc.field(_("Level: "), str(report.get("level", "")))
    doc.field(_("Overall: "), verdict(report["overall"], lang), bold=True)
    doc.rule()
    for check in report["checks"]:
        mark = {"ok": "OK", "warning": "!!", "error": "XX"}[check.get("severity", "ok")]
        doc.field(f"{mark} ", check.get("check", check["device"]))
        for err in check["errors"]:
            doc.text(f"  {err['message']}")
            doc.text(f"  → {err['action']}")
    doc.rule()
    doc.feed(2)
    doc.cut()
    return doc


def print_summary(report: dict, cfg: Config, lang: str = "zh_CN", **printer_opts) -> int:
    """Print the summary on the configured printer; returns the bytes sent."""
    from devices.printer.printer import open_printer

    prn = cfg.devices.printer
    data = encode(summary_document(report, lang), PrinterProfile(paper=prn.paper, charset=prn.charset, qr=prn.qr))
    with open_printer(prn.uri, **printer_opts) as printer:
        printer.print_bytes(data, 5.0)
    return len(data)


def send_to_hub(report: dict, cfg: Config) -> dict:
    """Store a copy of the report on the hub; returns the hub's summary row. Raises KioskError with an action."""
    try:
        resp = requests.post(cfg.hub.url.rstrip("/") + "/api/v1/diag/reports", json=report,
                             headers={"Authorization": f"Bearer {cfg.hub.token}"}, timeout=cfg.hub.timeout_s,
                             verify=cfg.hub.verify_tls)
    except requests.RequestException as exc:
        raise Unavailable(f"the hub at {cfg.hub.url} is unreachable ({type(exc).__name__})",
                          "save the report as a file (--out) and send it when the network is back") from None
    if resp.status_code == 401:
        raise KioskError("the hub refused the device token", "fix hub.token (see the hub.token check)")
    if resp.status_code >= 400:
        raise KioskError(f"the hub refused the report: HTTP {resp.status_code}", "save the report as a file (--out)")
    return resp.json()


def verdict(value: str, lang: str) -> str:
    _ = translator(lang)
    return {"ok": _("ok"), "warning": _("needs attention"), "error": _("not working")}[value]
