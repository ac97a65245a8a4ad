"""The 代办服务委托书, signed by the citizen with a finger on the screen (or a paper one scanned under the
camera): the citizen's card on the reader names the principal, the clerk is the agent, the scope is the
request's item, and the term ends on the chosen day. The hub keeps the signature and activates the 委托书."""
from __future__ import annotations

from kivy.properties import BooleanProperty, DictProperty, NumericProperty, StringProperty

from kiosk import china_time
from kiosk.counter import services as svc
from kiosk.counter.paper import paper_png
from kiosk.i18n import N_
from kiosk.privacy.masking import mask_document_number, mask_name
from screens import signature_pad  # noqa: F401  (the kv rule of the shared SignaturePad)
from screens.base import load_kv
from screens.counter.base import CounterScreen

TERMS = (30, 90, 180)  # days the 委托书 is valid
# The document's own words: a legal text, in Chinese whatever the screen's language.
MANDATE_TEXT = ("本人自愿委托{outlet}代办员{agent}，代为申请「{item}」并领取办理结果，委托期限至{until}。"
                "代办不收取任何费用；本人仍为申请人，对所提交材料的真实性负责，并可随时撤回委托。")


class CounterSignatureScreen(CounterScreen):
    voice_prompt = N_("Please read the power of attorney and sign in the box with your finger.")
    request = DictProperty({})
    principal_line = StringProperty("")
    text = StringProperty("")
    problem = StringProperty("")
    scan_paper = BooleanProperty(False)
    term_days = NumericProperty(30)
    scanned = BooleanProperty(False)
    _card: dict | None = None
    _scan_png: bytes | None = None

    def prepare(self, request: dict) -> None:
        self.reset()
        self.request = request
        self._update_text()

    def reset(self) -> None:
        self.request = {}
        self._card = None
        self._scan_png = None
        self.principal_line = self.text = self.problem = ""
        self.scan_paper = self.scanned = False
        self.term_days = 30
        self.ids.pad.clear()

    def on_leave(self, *args):
        self._card = None
        self._scan_png = None
        self.principal_line = ""
        self.ids.pad.clear()

    def _update_text(self) -> None:
        r = self.request
        until = china_time.last_second(int(self.term_days)).date().isoformat()
        clerk = self.services.clerk
        self.text = MANDATE_TEXT.format(agent=clerk.name if clerk else "", outlet=clerk.outlet_name if clerk else "",
                                        item=r.get("item_name") or "", until=until)

    def set_term(self, days: int) -> None:
        self.term_days = days
        self._update_text()

    def card_placed(self, card: dict) -> None:
        self._card = card
        self.problem = ""
        self.principal_line = self._("Principal (委托人): {name} {id}").format(
            name=mask_name(card.get("name") or card.get("name_en")) or "", id=mask_document_number(card.get("id_number")))

    def scan(self) -> None:
        def work():
            return paper_png(self.app.terminal.camera().capture_still())

        def done(png):
            self._scan_png = png
            self.scanned = True

        self.app.run_bg(work, done, lambda exc: setattr(self, "problem", self._(
            "The document camera is not available. Please check its cable.")), busy_text=self._("Scanning, hold still…"))

    def confirm(self) -> None:
        if self._card is None:
            self.problem = self._("The citizen's ID card must be on the reader: it names who signs the power of attorney.")
            return
        if self.scan_paper:
            if not self._scan_png:
                self.problem = self._("Scan the signed paper power of attorney first.")
                return
            png = self._scan_png
        else:
            if not self.ids.pad.signed:
                self.problem = self._("Please sign in the box with your finger.")
                return
            png = self.ids.pad.png()
        request, card = dict(self.request), dict(self._card)
        expires = china_time.last_second(int(self.term_days))
        scope = f"代为申请「{request.get('item_name') or ''}」并领取结果"  # the document's own words, in Chinese

        def work():
            principal = {"name": card.get("name") or card.get("name_en") or "", "id_number": card.get("id_number", ""),
                         "card_type": card.get("card_type")}
            return svc.sign_mandate(self.services, request, principal, png, expires.isoformat(timespec="seconds"), scope)

        self.app.run_bg(work, self._signed, self._failed, busy_text=self._("Saving the power of attorney…"))

    def _signed(self, mandate: dict) -> None:
        detail = self.app.screen("counter_request_detail")
        detail.message = self._("Power of attorney signed and in force until {date}.").format(
            date=china_time.shown(mandate.get("expires_at"), "%Y-%m-%d"))
        detail.show(detail.request_id)
        self.app.go("counter_request_detail")

    def _failed(self, exc) -> None:
        self.problem = self.refusal_text(exc)
        self.after_refusal(exc)


SCREEN_CLASS = CounterSignatureScreen
load_kv("counter/proxy_signature")
