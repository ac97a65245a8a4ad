"""我要代办 and 办不成事 at the kiosk, on the hub's 代办 API (docs/proxy-api.md): a proxy request with its mode, the
contact phone, the address for 上门辅助, the 委托书 with the citizen's finger signature for 全程代办; a 办不成事 report is
a request of kind "complaint" that the hub routes into the same escalation ladder."""
from __future__ import annotations

import base64
import datetime as dt
import io
import logging
import uuid

from kiosk import china_time
from kiosk.errors import KioskError
from kiosk.i18n import N_

log = logging.getLogger(__name__)

MODES = (
    ("remote_guidance", N_("Remote guidance"), N_("A clerk calls you and guides you step by step; you apply yourself.")),
    ("home_visit", N_("Help at your home"), N_("A clerk comes to your address with a tablet and helps you apply there.")),
    ("full_proxy", N_("Full proxy"), N_("You sign a letter of authorisation; the clerk applies and collects the result for you.")),
)
# The hub's refusals of a request the kiosk sent, in the citizen's words (its own words are for the log).
HUB_REFUSALS = {
    "outside_outlet_scope": N_("This service centre does not handle this service for others. You can apply for it yourself here or at a service window."),
    "in_person_required": N_("This service needs you in person, so it cannot be done for you. You can apply for it yourself here or at a service window."),
    "proxy_not_allowed": N_("This service cannot be done for you by others. You can apply for it yourself here or at a service window."),
}
REFUSED = N_("The service centre could not accept this. Please ask the staff, or call {hotline}.")
MANDATE_DAYS = 30
MANDATE_SCOPE = "代为申请、提交材料并领取办理结果"


def refusal_reason(item: dict) -> str | None:
    """Why this item cannot be handled by proxy (catalog wording), or None when it can."""
    if item.get("in_person_required"):
        return item.get("in_person_reason") or "必须本人办理"
    if not item.get("proxy_allowed"):
        return "本事项不开放代办"
    return None


def is_refusal(error) -> bool:
    """The hub refused what was sent (any 4xx): it was not kept, and sending it again will not help."""
    status = getattr(error, "status", None)
    return status is not None and 400 <= status < 500


def refusal_words(error, translate, hotline: str) -> str:
    """What the citizen is told when the hub refused what the kiosk sent: the reason in plain words and what to do,
    never the hub's technical message (that goes to the log for the staff)."""
    log.warning("the hub refused the citizen's request: %s", getattr(error, "message", error))
    reason = getattr(error, "reason", None)
    if reason in HUB_REFUSALS:
        return translate(HUB_REFUSALS[reason])
    return translate(REFUSED).format(hotline=hotline)


def signature_png(strokes: list[list[tuple[float, float]]], size: tuple[int, int], line: int = 4) -> bytes:
    """The finger signature as a small black-on-white PNG (strokes in widget coordinates, y up)."""
    from PIL import Image, ImageDraw

    w, h = max(1, int(size[0])), max(1, int(size[1]))
    scale = min(1.0, 600 / w)
    img = Image.new("L", (max(1, int(w * scale)), max(1, int(h * scale))), 255)
    draw = ImageDraw.Draw(img)
    for stroke in strokes:
        pts = [(x * scale, (h - y) * scale) for x, y in stroke]
        if len(pts) == 1:
            x, y = pts[0]
            draw.ellipse((x - line, y - line, x + line, y + line), fill=0)
        elif pts:
            draw.line(pts, fill=0, width=line, joint="curve")
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


class ProxyService:
    def __init__(self, client, device_id: str, outlet_code: str) -> None:
        self.client = client
        self.device_id = device_id
        self.outlet_code = outlet_code

    def _post(self, path: str, body: dict, key: str | None = None) -> dict:
        headers = {"Idempotency-Key": key} if key else {}
        return self.client._call("POST", path, json=body, headers=headers).json()

    def _keep(self, outbox, key: str, kind: str, data_dir, body_for, files=None) -> str:
        """Queue the request under `key` with a number this kiosk issues (`body_for(number)` makes its body), once:
        the same key again (the screen came back) keeps the number and queues nothing new. Returns the number."""
        from kiosk.sync.receipt_numbers import next_receipt_no

        kept = outbox.body(key)
        if kept is not None:
            return kept.get("request_no")
        answered = outbox.result(key)
        if answered is not None:
            return answered.get("request_no")
        request_no = next_receipt_no(data_dir, self.device_id)
        outbox.enqueue(kind, "POST", "/api/v1/proxy-requests", body_for(request_no), key=key, files=files)
        return request_no

    def _send(self, outbox, key: str, what: str) -> dict | None:
        """Send the queued request now: the hub's answer, or None while it cannot be reached. Refused before: raises
        (the citizen is told why, never 待上传)."""
        if outbox.state(key) == "failed":
            from kiosk.sync.client import HubRejected

            raise HubRejected(outbox.error(key) or f"the hub refused the {what}", "", 422)
        return outbox.send(self.client, key)

    def report(self, outbox, *, key: str, data_dir, item: dict | None, applicant: dict, phone: str,
               details: str) -> dict:
        """办不成事反映 through the kiosk's action outbox, like `submit`: a number issued by this kiosk, kept on disk
        first, sent now or when the hub is back (exactly once, Idempotency-Key = `key`). Returns the hub's request
        or, while the hub cannot be reached, {"request_no", "item_name", "contact_phone", "pending": True}. A
        refusal raises the client's error (HubRejected)."""
        request_no = self._keep(outbox, key, "complaint", data_dir, lambda no: self.request_body(
            item=item, applicant=applicant, phone=phone, mode="remote_guidance", kind="complaint", details=details,
            request_no=no))
        request = self._send(outbox, key, "report")
        if request is None:
            return {"request_no": request_no, "item_name": (item or {}).get("name", ""), "contact_phone": phone,
                    "pending": True}
        return request

    def request_body(self, *, item: dict | None, applicant: dict, phone: str, mode: str, kind: str = "proxy",
                     address: str = "", details: str = "", green_reason: str | None = None,
                     request_no: str | None = None) -> dict:
        body = {"outlet": self.outlet_code, "kind": kind, "applicant": {k: applicant.get(k) for k in ("name", "id_number")}
                | {"card_type": applicant.get("card_type") or "111"}, "contact_phone": phone, "channel": "kiosk",
                "device_id": self.device_id, "mode": mode, "priority": "green" if green_reason else "normal"}
        if green_reason:
            body["green_reason"] = green_reason
        if item:
            body["item_code"], body["item_name"] = item["item_code"], item["name"]
        if address:
            body["address"] = address
        if details:
            body["details"] = details
        if request_no:
            body["request_no"] = request_no
        return body

    def create_mandate(self, request: dict, applicant: dict, signature: bytes, today: dt.date | None = None) -> dict:
        return self._post("/api/v1/mandates", self.mandate_body(request, applicant, signature, today))

    def mandate_body(self, request: dict, applicant: dict, signature: bytes, today: dt.date | None = None) -> dict:
        expires = china_time.last_second(MANDATE_DAYS, today)
        body = {"scope_items": [request["item_code"]], "scope_text": MANDATE_SCOPE,
                "expires_at": expires.isoformat(),
                "principal": {"name": applicant.get("name"), "id_number": applicant.get("id_number"),
                              "card_type": applicant.get("card_type") or "111"},
                "signature_png_b64": base64.b64encode(signature).decode("ascii")}
        if request.get("id"):
            body["request_id"] = request["id"]
        return body

    def submit(self, outbox, *, key: str, data_dir, item: dict, applicant: dict, phone: str, mode: str,
               address: str = "", green_reason: str | None = None, signature: bytes | None = None) -> dict:
        """我要代办 through the kiosk's action outbox, so it reaches the hub even if the hub is away now: the request
        (Idempotency-Key = `key`, a request number issued by this kiosk, the signature as an attached file uploaded
        with tus) and, with a signature, the signed 委托书 right after it, naming the request the hub numbered.

        Tries to send both at once. Returns the hub's request (with "mandate": the hub's 委托书 or None) or, while
        the hub cannot be reached, {"request_no", "item_name", "mode", "contact_phone", "pending": True, "mandate":
        {"status": "pending", "signed": True, …} or None}. A refusal raises the client's error (HubRejected)."""
        mandate_key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"govkiosk:mandate:{key}"))
        files = [{"code": "mandate_signature", "name": "代办服务委托书签名", "content": signature,
                  "suffix": ".png"}] if signature else None
        request_no = self._keep(outbox, key, "proxy_request", data_dir, lambda no: self.request_body(
            item=item, applicant=applicant, phone=phone, mode=mode, address=address, green_reason=green_reason,
            request_no=no), files)
        if signature and outbox.state(mandate_key) is None:
            outbox.enqueue("mandate", "POST", "/api/v1/mandates",
                           self.mandate_body({"item_code": item["item_code"]}, applicant, signature),
                           key=mandate_key, after=key, fill={"request_id": "id"})
        request = self._send(outbox, key, "request")
        mandate = None
        if request is not None and signature:
            try:
                mandate = outbox.send(self.client, mandate_key)
            except KioskError as exc:  # the request is in; the clerk has the signature with it and asks again
                log.warning("the 委托书 of request %s was refused: %s", request.get("request_no"), exc.message)
        if request is None:
            expires = china_time.last_second(MANDATE_DAYS).date().isoformat()
            return {"request_no": request_no, "item_name": item.get("name", ""), "mode": mode,
                    "contact_phone": phone, "pending": True,
                    "mandate": {"status": "pending", "signed": True, "scope_text": MANDATE_SCOPE,
                                "expires_at": expires} if signature else None}
        return {**request, "mandate": mandate or request.get("mandate")}
