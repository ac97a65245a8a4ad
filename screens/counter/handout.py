"""代发: hand out a result that arrived at the outlet (办结 / 待领取).

Look it up by the citizen's card on the reader, the pickup code or receipt number typed in, or the receipt's QR
under the document camera. The card on the reader must be the applicant's or that of an agent with an effective
委托书; otherwise the hub refuses and the screen says why. A hand-out is recorded under the clerk's name and a
取件凭条 printed; a postal delivery (邮寄, free of charge) records the waybill number.
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, DictProperty, ListProperty, StringProperty

from kiosk import china_time
from kiosk.i18n import N_
from kiosk.privacy.masking import mask_document_number, mask_name
from screens.base import load_kv
from screens.counter.base import CounterScreen
from screens.widgets import BigButton

RESULT_STATES = {"ready": N_("Ready for pickup (待领取)"), "not_ready": N_("Not finished yet"),
                 "handed_out": N_("Already handed out")}


class CounterResultButton(BigButton):
    result = DictProperty({})


class CounterHandoutScreen(CounterScreen):
    voice_prompt = N_("Place the recipient's ID card on the reader, or enter the pickup code or receipt number.")
    problem = StringProperty("")
    message = StringProperty("")
    refused = BooleanProperty(False)
    card_line = StringProperty("")
    selected = DictProperty({})
    results = ListProperty([])
    _card: dict | None = None

    def reset(self) -> None:
        self._card = None
        self.card_line = self.problem = self.message = ""
        self.refused = False
        self.selected = {}
        self.results = []
        self.ids.code.text = ""
        self.ids.waybill.text = ""
        self.ids.result_items.clear_widgets()

    def on_leave(self, *args):
        self.reset()  # the citizen's card and result leave with them

    # -- finding the result ------------------------------------------------------------------
    def card_placed(self, card: dict) -> None:
        self._card = card
        self.card_line = self._("Card on the reader: {name} {id}").format(
            name=mask_name(card.get("name") or card.get("name_en")) or "", id=mask_document_number(card.get("id_number")))
        self.problem = self.message = ""
        self.refused = False
        if not self.selected:
            self._lookup(id_number=card.get("id_number", ""))

    def find_by_code(self) -> None:
        text = self.ids.code.text.strip()
        if not text:
            self.problem = self._("Enter the pickup code or the receipt number.")
            return
        by = {"pickup_code": text} if text.isdigit() and len(text) <= 8 else {"receipt_no": text}
        self._lookup(**by)

    def find_by_qr(self) -> None:
        from kiosk.counter.qr import read_receipt_qr

        def work():
            still = self.app.terminal.camera().capture_still()
            return read_receipt_qr(still)

        def done(receipt_no):
            if not receipt_no:
                self.problem = self._("No receipt QR code was found under the camera. Lay the receipt flat and try again.")
                return
            self.ids.code.text = receipt_no
            self._lookup(receipt_no=receipt_no)

        self.app.run_bg(work, done, lambda exc: setattr(self, "problem", self._(
            "The document camera is not available. Type the receipt number instead.")),
            busy_text=self._("Reading the QR code…"))

    def _lookup(self, **by) -> None:
        self.problem = self.message = ""
        self.refused = False
        self.app.run_bg(lambda: self.services.lookup(**by), self._show, self._failed,
                        busy_text=self._("Looking up…"))

    def _show(self, results: list) -> None:
        self.results = results
        self.selected = {}
        box = self.ids.result_items
        box.clear_widgets()
        if not results:
            self.problem = self._("No result was found for this card or number.")
            return
        for r in results:
            b = CounterResultButton(result=r, kind="secondary")
            b.text = "{item}\n{who} {id} · {state}".format(item=r["item_name"], who=r["applicant_name"],
                                                       id=r["applicant_id_number"],
                                                       state=self._(RESULT_STATES.get(r["result"], r["result"])))
            b.bind(on_release=lambda btn: self.select(btn.result))
            box.add_widget(b)
        ready = [r for r in results if r["result"] == "ready"]
        if len(ready) == 1:
            self.select(ready[0])

    def select(self, result: dict) -> None:
        self.selected = result
        self.problem = ""
        for b in self.ids.result_items.children:
            b.kind = "primary" if b.result.get("receipt_no") == result.get("receipt_no") else "secondary"

    def _failed(self, exc) -> None:
        self.problem = self.refusal_text(exc)
        self.after_refusal(exc)

    # -- handing out -------------------------------------------------------------------------
    def hand_out(self) -> None:
        if not self.selected:
            self.problem = self._("Choose the result to hand out first.")
            return
        if self._card is None:
            self.problem = self._("Please place the recipient's ID card on the reader.")
            return
        card = self._card
        body = {"receipt_no": self.selected["receipt_no"], "method": "counter",
                "card": {"id_number": card.get("id_number", ""), "name": card.get("name") or card.get("name_en") or ""}}
        self._send(body)

    def post(self) -> None:
        waybill = self.ids.waybill.text.strip()
        if not self.selected:
            self.problem = self._("Choose the result to hand out first.")
            return
        if not waybill:
            self.problem = self._("Please enter the waybill number (运单号) of the postal delivery.")
            return
        self._send({"receipt_no": self.selected["receipt_no"], "method": "post", "waybill_no": waybill})

    def _send(self, body: dict) -> None:
        selected = dict(self.selected)
        recipient_name = (self._card or {}).get("name") or ""

        def work():
            answer = self.services.perform("handout", "POST", "/api/v1/counter/handouts", body)
            return answer, self._print_slip(selected, body, answer, recipient_name)

        self.app.run_bg(work, self._handed, self._refused, busy_text=self._("Recording the hand-out…"))

    def _print_slip(self, result: dict, body: dict, answer: dict | None, recipient_name: str) -> str:
        """The 取件凭条, printed whether the hub confirmed now or the hand-out waits in the queue."""
        from kiosk.counter.printing import print_slip

        clerk = self.services.clerk
        data = {"receipt_no": result["receipt_no"], "case_no": result.get("case_no"), "item_name": result["item_name"],
                "applicant_name": result["applicant_name"], "applicant_id_number": result["applicant_id_number"],
                "pickup_code": (answer or {}).get("pickup_code") or result.get("pickup_code"),
                "recipient": (answer or {}).get("recipient") or ("post" if body["method"] == "post" else "applicant"),
                "recipient_name": recipient_name, "waybill_no": body.get("waybill_no"), "clerk": clerk.name,
                "outlet": clerk.outlet_name, "handed_at": china_time.now().isoformat(timespec="seconds"),
                "pending_upload": answer is None, "training": clerk.training}
        return print_slip(self.app.terminal, "handout", data, f"handout-{result['receipt_no']}")

    def _handed(self, outcome) -> None:
        answer, printer = outcome
        self.refused = False
        if answer is None:
            self.message = self.queued_text()
        elif answer.get("method") == "post":
            self.message = self._("Sent by post, free of charge: waybill {no}. The slip is printed.").format(no=answer["waybill_no"])
        else:
            self.message = self._("Handed out to {who}. Please give the result and the pickup slip (取件凭条).").format(
                who=self._("the applicant") if answer.get("recipient") == "applicant" else self._("the agent"))
        self.message += " " + self._(printer)
        self.selected = {}
        self.ids.result_items.clear_widgets()

    def _refused(self, exc) -> None:
        self.refused = True
        self.problem = self.refusal_text(exc)
        self.after_refusal(exc)


SCREEN_CLASS = CounterHandoutScreen
load_kv("counter/handout")
