"""办不成事反映: in a few taps, what could not get done (the item), where, what happened and how to reach the
citizen; the hub files it as a request of kind "complaint" on the 代办 escalation ladder and gives a number."""
from __future__ import annotations

import uuid

from kivy.properties import DictProperty, StringProperty

from kiosk import china_time
from kiosk.citizen.proxy import is_refusal, refusal_words
from kiosk.citizen.services import applicant_of, citizen_services
from kiosk.i18n import N_, gettext
from kiosk.privacy.masking import mask_mobile
from kiosk.session import MOBILE_RE
from screens import voice_controls  # noqa: F401
from screens.base import KioskScreen, load_kv
from screens.item_list import loc

WHERE = (("kiosk", N_("At a self-service kiosk")), ("window", N_("At a service window")),
         ("outlet", N_("At a post office or other outlet")), ("online", N_("Online or on the phone app")))
WHAT = (("sent_back", N_("I was sent back and forth")), ("refused", N_("I was told it cannot be done")),
        ("papers", N_("They kept asking for more papers")), ("system", N_("The system was down")),
        ("other", N_("Something else")))
KEPT = N_("Waiting to upload (待上传): your report is saved on this machine with the number above and is sent to the service centre automatically as soon as it can be reached.")


STAFF_LANGUAGE = "zh_CN"  # the service centre reads the report in Chinese, whatever language the citizen chose


def report_details(where: str, what: str, words: str) -> str:
    """The report as the service centre reads it: where and what happened in Chinese, then the citizen's words."""
    return "；".join(x for x in (f"地点：{gettext(dict(WHERE)[where], STAFF_LANGUAGE)}",
                                 f"情况：{gettext(dict(WHAT)[what], STAFF_LANGUAGE)}", words) if x)


class CannotDoScreen(KioskScreen):
    voice_prompt = N_("Tell us what could not get done: choose the service, where and what happened.")
    item_name = StringProperty("")
    where = StringProperty("")
    what = StringProperty("")
    problem = StringProperty("")
    number = StringProperty("")
    pending_line = StringProperty("")  # the report is kept on this kiosk until the hub can be reached
    details = StringProperty("")  # once sent: what was reported and how the citizen will be called back
    item = DictProperty({})

    def on_kv_post(self, base_widget):
        self._attach_words()

    def _attach_words(self) -> None:
        try:
            from screens.keyboard import replace_with_keyboard_field
        except Exception:
            return
        replace_with_keyboard_field(self, "words", self._("In your own words (optional)"), 100)

    def on_pre_enter(self, *args):
        self.item_name = loc(self.item, "name", self.app.language) if self.item else ""
        if not self.ids.phone.text and self.app.session.phone:
            self.ids.phone.text = self.app.session.phone

    def set_item(self, item: dict) -> None:
        self.item = dict(item)

    def choose_item(self) -> None:
        svc = citizen_services(self.app)
        svc.mode = "complaint"
        self.app.screen("service_list").load()
        self.app.go("service_list")

    def pick_where(self, key: str) -> None:
        self.where = key
        self.problem = ""

    def pick_what(self, key: str) -> None:
        self.what = key
        self.problem = ""

    def send(self) -> None:
        app = self.app
        phone = self.ids.phone.text
        words = self.ids.words.text.strip()
        if not self.where or not self.what:
            self.problem = self._("Please choose where it happened and what happened.")
        elif not MOBILE_RE.fullmatch(phone):
            self.problem = self._("Please enter an 11-digit mobile number so we can call you back.")
        if self.problem:
            app.speak(self.problem)
            return
        details = report_details(self.where, self.what, words)
        svc = citizen_services(app)
        applicant = applicant_of(app.session.card)
        item = dict(self.item) if self.item else None
        key = svc.proxy_key = svc.proxy_key or str(uuid.uuid4())

        def work():
            # Through the kiosk's action outbox: kept on disk first, sent now or when the hub is back (exactly once).
            report = svc.proxy().report(svc.actions(), key=key, data_dir=app.cfg.kiosk.data_dir, item=item,
                                        applicant=applicant, phone=phone, details=details)
            if report.get("pending") and svc._actions_worker is not None:
                svc._actions_worker.wake()
            return report

        app.run_bg(work, self._sent, self._failed, busy_text=self._("Sending your report…"))

    def _sent(self, request) -> None:
        svc = citizen_services(self.app)
        svc.proxy_key = None
        self.number = request["request_no"]
        due = china_time.promised_day(request.get("sla_due_at"))
        self.problem = ""
        spoken_no = ", ".join(" ".join(p) for p in self.number.split("-"))
        self.details = "\n".join(x for x in [
            self._("Service: {name}").format(name=self.item_name) if self.item_name else "",
            self._("Where: {place}").format(place=self._(dict(WHERE)[self.where])) if self.where else "",
            self._("What happened: {what}").format(what=self._(dict(WHAT)[self.what])) if self.what else "",
            self._("We will call you back at {phone}.").format(phone=mask_mobile(self.ids.phone.text)),
            self._("We will call you back by {day}.").format(day=due) if due and not request.get("pending") else "",
        ] if x)
        if request.get("pending"):
            self.pending_line = self._(KEPT)
            self.app.speak(self._("Your report number is {no}. It is kept on this machine and sent automatically.").format(
                no=spoken_no), personal=True)
            return
        self.pending_line = ""
        self.app.speak(self._("Your report number is {no}. We will call you by {day}.").format(
            no=spoken_no, day=due), personal=True)

    def _failed(self, error) -> None:
        if is_refusal(error):
            citizen_services(self.app).proxy_key = None  # refused as sent: a corrected report is a new one
            self.problem = refusal_words(error, self._, self.app.cfg.kiosk.hotline)
        else:  # not even kept on this machine (its disk is full, say): nothing was recorded
            self.problem = self._("Your report could not be kept or sent. Please ask the staff, or call {hotline}.").format(
                hotline=self.app.cfg.kiosk.hotline)

    def reset(self) -> None:
        self.item = {}
        self.item_name = self.where = self.what = self.problem = self.number = self.pending_line = self.details = ""
        self.ids.phone.text = ""
        self.ids.words.text = ""


SCREEN_CLASS = CannotDoScreen
load_kv("cannot_do")
