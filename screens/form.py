"""The application form, prefilled from the ID card; the citizen adds a phone number and picks delivery."""
from kivy.properties import ListProperty, StringProperty

from kiosk.i18n import N_
from kiosk.session import DELIVERY_OPTIONS
from screens.base import KioskScreen, load_kv

DELIVERY_LABELS = {
    "自取": N_("Collect in person"),
    "邮寄": N_("By post to my ID card address"),
    "网点代发": N_("Collect at this outlet"),
}


class FormScreen(KioskScreen):
    voice_prompt = N_("Please enter your mobile phone number, then choose how to receive the result.")
    problem = StringProperty("")
    delivery = StringProperty("自取")
    applicant_name = StringProperty("")
    applicant_id = StringProperty("")
    applicant_address = StringProperty("")
    service_name = StringProperty("")
    allowed = ListProperty(list(DELIVERY_OPTIONS))  # what this service offers (办事指南)

    def on_pre_enter(self, *args):
        s = self.app.session
        self.applicant_name = s.display_name
        self.applicant_id = s.display_id_number
        self.applicant_address = s.display_address
        self.service_name = (s.service or {}).get("name", "")
        offered = [o for o in (s.service or {}).get("delivery") or DELIVERY_OPTIONS if o in DELIVERY_OPTIONS]
        self.allowed = offered or list(DELIVERY_OPTIONS)
        if s.delivery not in self.allowed:
            s.delivery = self.allowed[0]
        self.ids.phone.text = s.phone
        self.delivery = s.delivery
        self.problem = ""

    def reset(self) -> None:
        self.applicant_name = self.applicant_id = self.applicant_address = self.service_name = ""
        self.ids.phone.text = ""
        self.delivery = "自取"
        self.problem = ""

    def delivery_label(self, option: str) -> str:
        return self._(DELIVERY_LABELS[option])

    def pick_delivery(self, option: str) -> None:
        if option in self.allowed:
            self.delivery = option

    def next(self) -> None:
        s = self.app.session
        s.phone = self.ids.phone.text.strip()
        s.delivery = self.delivery
        if s.delivery == "邮寄" and s.card:
            s.mailing_address = s.card.get("address_latest") or s.card.get("address") or ""
        errors = s.form_errors()
        if "phone" in errors:
            self.problem = self._("Please enter your 11-digit mobile phone number.")
            return
        if errors:
            self.problem = self._("Please check the delivery choice.")
            return
        self.app.go("scan")


SCREEN_CLASS = FormScreen
load_kv("form")
