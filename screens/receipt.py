"""The receipt: printed if the printer can, and always shown on screen with its QR code."""
from __future__ import annotations

import io

from kivy.core.image import Image as CoreImage
from kivy.properties import StringProperty

from kiosk.i18n import N_
from kiosk.voice import spell_out
from screens.base import KioskScreen, load_kv

PRINTER_MESSAGES = {
    "printed": N_("Your receipt has been printed. Please take it."),
    "one_way": N_("Your receipt has been sent to the printer. If nothing came out, please ask the staff."),
    "paper_out": N_("The printer is out of paper. Please photograph the QR code below or note the receipt number; staff can reprint your receipt."),
    "cover_open": N_("The printer cover is open. Please note the receipt number below; staff can reprint your receipt."),
    "printer_offline": N_("The printer is not available. Please note the receipt number below; staff can reprint your receipt."),
}


class ReceiptScreen(KioskScreen):
    voice_prompt = N_("Your application has been submitted. Your receipt number is {no}.")
    receipt_no = StringProperty("")
    case_line = StringProperty("")
    printer_line = StringProperty("")
    promised_line = StringProperty("")
    pickup_line = StringProperty("")

    def on_pre_enter(self, *args):
        r = self.app.last_result
        if r is None:
            return
        self.receipt_no = r.receipt_no
        if r.case_no:
            self.case_line = self._("Case number: {case_no}").format(case_no=r.case_no)
        else:
            self.case_line = self._("Waiting to upload (待上传): your application is saved and will be sent automatically.")
        self.printer_line = self._(PRINTER_MESSAGES.get(r.printer_message, PRINTER_MESSAGES["printer_offline"]))
        self.promised_line = self._("Promised by: {date}").format(date=r.promised_by)
        code = getattr(r, "pickup_code", "")
        self.pickup_line = self._("Pickup code (取件码): {code}. Show it with your ID card to collect the result.").format(
            code=code) if code else ""
        self.ids.qr.texture = _qr_texture(r.tracking_url)

    prompt_is_personal = True

    def spoken_prompt(self) -> str:
        r = self.app.last_result
        if r is None:
            return ""
        said = self._(self.voice_prompt).format(no=spell_out(r.receipt_no))
        return f"{said} {self._(PRINTER_MESSAGES.get(r.printer_message, PRINTER_MESSAGES['printer_offline']))}"

    def reset(self) -> None:
        self.receipt_no = self.case_line = self.printer_line = self.promised_line = self.pickup_line = ""
        self.ids.qr.texture = None


def _qr_texture(payload: str):
    import qrcode

    img = qrcode.make(payload, box_size=8, border=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    buf.seek(0)
    return CoreImage(buf, ext="png").texture


SCREEN_CLASS = ReceiptScreen
load_kv("receipt")
