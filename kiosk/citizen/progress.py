"""进度查询: the citizen's cases and 代办 requests from the hub, and each status said in words with its dates.

Blocking calls (HTTP); screens run them through `app.run_bg`. Nothing personal comes back from the hub.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

from kiosk.china_time import promised_day, shown
from kiosk.i18n import N_

CASE_WORDS = {
    "queued": N_("Waiting to be sent to the department"),
    "submitted": N_("Sent to the department, waiting for acceptance"),
    "draft": N_("Being registered by the department"),
    "accepted": N_("Accepted by the department"),
    "in_progress": N_("Being processed"),
    "completed": N_("Finished: the result is ready"),
    "rejected": N_("Not accepted: please contact the department"),
    "failed": N_("Could not be sent: please ask the staff"),
}
REQUEST_WORDS = {
    "new": N_("Received: a proxy clerk will contact you"),
    "released": N_("Received: a proxy clerk will contact you"),
    "claimed": N_("A proxy clerk has taken it"),
    "in_progress": N_("Being handled by the proxy clerk"),
    "waiting_citizen": N_("Waiting for you: the clerk needs something from you"),
    "filed": N_("The application has been filed"),
    "done": N_("Done"),
    "cancelled": N_("Cancelled"),
    "refused": N_("Refused: {reason}"),
}
HISTORY_WORDS = {"draft": N_("Registered"), "accepted": N_("Accepted"), "in_progress": N_("Processing"),
                 "completed": N_("Finished"), "rejected": N_("Not accepted")}


def receipt_from_qr(text: str) -> str | None:
    """The receipt (or request) number in a QR payload: our tracking URL `…?r=<number>`, or a bare number. Anything
    else (a payment code, a web address of another service) is not ours: None."""
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith(("http://", "https://")):
        values = parse_qs(urlparse(text).query).get("r")
        return values[0].strip() if values and values[0].strip() else None
    if 8 <= len(text) <= 40 and all(ch.isalnum() or ch == "-" for ch in text) and text.count("-") >= 2:
        return text
    return None


def short_date(value: str | None) -> str:
    """YYYY-MM-DD of an ISO date; YYYY-MM-DD HH:MM in China's time of an ISO timestamp (`china_time.shown`)."""
    if value and len(value) <= 10:
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            return value
    return shown(value)


def describe(result: dict, _) -> dict:
    """{title, status, lines} of one result in the screen's language (`_` translates)."""
    lines: list[str] = []
    if result.get("kind") == "case":
        status = _(CASE_WORDS.get(result.get("status") or "", N_("Status: {status}"))).format(status=result.get("status"))
        lines.append(_("Receipt number: {no}").format(no=result.get("receipt_no")))
        if result.get("case_no"):
            lines.append(_("Case number: {no}").format(no=result["case_no"]))
        lines.append(_("Submitted: {when}").format(when=short_date(result.get("submitted_at"))))
        if result.get("promised_by"):
            lines.append(_("Promised by: {day}").format(day=short_date(result["promised_by"])))
        for h in result.get("history") or []:
            word = _(HISTORY_WORDS[h["status"]]) if h.get("status") in HISTORY_WORDS else (h.get("note") or h.get("status"))
            lines.append(f"  {short_date(h.get('at'))}  {word}")
        if result.get("proxied"):
            lines.append(_("Handled for you by a proxy clerk (代办)."))
    else:
        words = REQUEST_WORDS.get(result.get("status") or "", N_("Status: {status}"))
        status = _(words).format(status=result.get("status"), reason=result.get("reason") or "")
        kind = _("Report of something that could not get done") if result.get("kind") == "complaint" else _("Proxy request (代办)")
        lines.append(f"{kind}: {result.get('request_no')}")
        lines.append(_("Received: {when}").format(when=short_date(result.get("created_at"))))
        if result.get("sla_due_at") and not result.get("closed_at"):
            lines.append(_("Promised by: {day}").format(day=promised_day(result["sla_due_at"])))
        if result.get("closed_at"):
            lines.append(_("Closed: {when}").format(when=short_date(result["closed_at"])))
        if result.get("receipt_no"):
            lines.append(_("Application receipt: {no}").format(no=result["receipt_no"]))
    return {"title": result.get("item_name") or "", "status": status, "lines": lines}


def lookup(client, *, id_number: str | None = None, receipt_no: str | None = None) -> list[dict]:
    body = {"id_number": id_number} if id_number else {"receipt_no": receipt_no}
    return list(client._call("POST", "/api/v1/citizen/lookup", json=body).json()["results"])
