"""代办受理单: the request number and its QR on screen and on paper; what happens next."""
from __future__ import annotations

import datetime as dt
import io
import logging
import uuid

from kivy.core.image import Image as CoreImage
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from kiosk import china_time
from kiosk.citizen.proxy import MANDATE_SCOPE, is_refusal, refusal_words
from kiosk.citizen.services import applicant_of, citizen_services
from kiosk.i18n import N_
from kiosk.privacy.masking import mask_phone
from screens import voice_controls  # noqa: F401
from screens.base import KioskScreen, load_kv

log = logging.getLogger(__name__)

WAITING = N_("Waiting to upload (待上传): your request is saved on this machine with the number above and is sent to the service centre automatically as soon as it can be reached.")
HUB_DOWN = N_("Your request could not be sent: the service centre cannot be reached right now. Nothing was kept. Please try again in a few minutes or ask the staff.")
MODE_WORDS = {"remote_guidance": N_("Remote guidance"), "home_visit": N_("Help at your home"), "full_proxy": N_("Full proxy")}


class ProxyReceiptScreen(KioskScreen):
    voice_prompt = N_("Your proxy request has been received. Please keep the slip.")
    prompt_is_personal = True
    request_no = StringProperty("")
    details = StringProperty("")
    printer_line = StringProperty("")
    qr_texture = ObjectProperty(None, allownone=True)
    pending = BooleanProperty(False)  # kept on the kiosk, not yet at the hub (待上传)
    pending_line = StringProperty("")

    def spoken_prompt(self) -> str:
        if not self.request_no:
            return self._(self.voice_prompt)
        no = ", ".join(" ".join(part) for part in self.request_no.split("-"))
        if self.pending:
            kept = N_("Your proxy request is kept on this machine and will be sent automatically. Its number is {no}.")
            return self._(kept).format(no=no)
        return self._("Your proxy request has been received. Its number is {no}.").format(no=no)

    def submit(self, signature: bytes | None = None) -> None:
        """Send the request (and, for 全程代办, the signed 委托书) to the hub, then print the slip."""
        app = self.app
        svc = citizen_services(app)
        form = dict(svc.proxy_form)
        item = svc.chosen
        applicant = applicant_of(app.session.card)
        svc.proxy_key = svc.proxy_key or str(uuid.uuid4())
        key = svc.proxy_key
        terminal = app.terminal

        def work():
            proxy = svc.proxy()
            age = _age(app.session.card)
            # Through the kiosk's action outbox: kept on disk first, sent now or when the hub is back (exactly once).
            request = proxy.submit(svc.actions(), key=key, data_dir=app.cfg.kiosk.data_dir, item=item,
                                   applicant=applicant, phone=form["phone"], mode=form["mode"],
                                   address=form.get("address", ""), signature=signature,
                                   green_reason="elderly" if age is not None and age >= 60 else None)
            if request.get("pending") and svc._actions_worker is not None:
                svc._actions_worker.wake()
            mandate = request.get("mandate") if signature else None
            slip = _slip(app, request, mandate)
            try:
                from kiosk.receipt.counter_slips import render_counter_slip

                prn = app.cfg.devices.printer
                escpos = render_counter_slip("proxy_acceptance", slip, paper=prn.paper, charset=prn.charset, qr=prn.qr,
                                             hotline=app.cfg.kiosk.hotline)
                printed, message = terminal.print_receipt(escpos)
            except Exception as exc:  # the slip is on screen anyway
                log.warning("proxy slip not printed: %s", exc)
                printed, message = False, "printer_offline"
            return request, printed, message

        app.run_bg(work, self._done, self._failed, busy_text=self._("Sending your request…"))

    def _done(self, result) -> None:
        request, printed, message = result
        app = self.app
        svc = citizen_services(app)
        svc.proxy_key = None
        svc.last_case = {"request_no": request["request_no"], "item_name": request.get("item_name", "")}
        self.request_no = request["request_no"]
        due = china_time.promised_day(request.get("sla_due_at"))
        mode = self._(MODE_WORDS.get(request.get("mode"), request.get("mode", "")))
        phone = request.get("contact_phone", "")
        if request.get("pending"):
            phone = mask_phone(phone)
        self.details = "\n".join(x for x in [
            self._("Service: {name}").format(name=request.get("item_name", "")),
            self._("Help: {mode}").format(mode=mode),
            self._("A proxy clerk will call you at {phone}.").format(phone=phone),
            self._("Promised by: {day}").format(day=due) if due else "",
            self._("Free of charge. You can withdraw at any time before the application is filed."),
        ] if x)
        self.pending = bool(request.get("pending"))
        self.pending_line = self._(WAITING) if self.pending else ""
        self.printer_line = (self._("Please take your slip from the printer.") if printed else
                             self._("The slip could not be printed: please note the number or photograph the QR code."))
        self.qr_texture = _qr_texture(f"{app.cfg.kiosk.tracking_base_url}?r={self.request_no}")
        app.go("proxy_receipt")

    def _failed(self, error) -> None:
        if is_refusal(error):
            citizen_services(self.app).proxy_key = None  # refused as sent: a corrected request is a new one
            self.app.notice = refusal_words(error, self._, self.app.cfg.kiosk.hotline)
        else:
            self.app.notice = self._(HUB_DOWN)

    def rate(self) -> None:
        self.app.go("evaluation")

    def reset(self) -> None:
        self.request_no = self.details = self.printer_line = ""
        self.qr_texture = None
        self.pending = False
        self.pending_line = ""


def _age(card: dict | None) -> int | None:
    try:
        born = dt.date.fromisoformat(str((card or {}).get("birth_date")))
    except ValueError:
        return None
    today = china_time.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _slip(app, request: dict, mandate: dict | None) -> dict:
    card = app.session.card or {}
    doc = {"request_no": request["request_no"], "item_name": request.get("item_name") or "",
           "applicant_name": card.get("name") or "", "applicant_id_number": card.get("id_number") or "",
           "phone": citizen_services(app).proxy_form.get("phone", ""),
           "proxy_mode": request.get("mode"), "clerk": "待分配（代办员将致电联系您）", "outlet": app.cfg.kiosk.outlet,
           "accepted_at": request.get("created_at") or china_time.now().isoformat(timespec="seconds"),
           "tracking_url": f"{app.cfg.kiosk.tracking_base_url}?r={request['request_no']}"}
    if request.get("sla_due_at"):
        doc["sla_due_at"] = request["sla_due_at"]
    if request.get("pending"):
        doc["pending"] = True  # 待上传: kept on the kiosk until the hub is back
    if mandate:
        # Signed here; it takes effect once the clerk who takes the request confirms it (activate).
        status = "已签署待代办员确认" if mandate.get("status") == "pending" and mandate.get("signed") else mandate.get("status", "")
        doc.update(mandate_status=status, mandate_scope=mandate.get("scope_text") or MANDATE_SCOPE,
                   mandate_expires=china_time.shown(mandate.get("expires_at"), "%Y-%m-%d"))
    return doc


def _qr_texture(payload: str):
    import qrcode

    img = qrcode.make(payload, box_size=8, border=2).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    buf.seek(0)
    return CoreImage(buf, ext="png").texture


SCREEN_CLASS = ProxyReceiptScreen
load_kv("proxy_receipt")
