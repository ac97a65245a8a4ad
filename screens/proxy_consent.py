"""全程代办: the 代办服务委托书 on screen — who entrusts whom with what, until when — before the citizen signs."""
from __future__ import annotations

from kivy.properties import StringProperty

from kiosk import china_time
from kiosk.citizen.proxy import MANDATE_DAYS
from kiosk.citizen.services import citizen_services
from kiosk.i18n import N_
from screens import voice_controls  # noqa: F401
from screens.base import KioskScreen, load_kv
from screens.item_list import loc


class ProxyConsentScreen(KioskScreen):
    voice_prompt = N_("Please read the letter of authorisation. If you agree, press Sign.")
    body = StringProperty("")

    def on_pre_enter(self, *args):
        app = self.app
        item = citizen_services(app).chosen or {}
        until = china_time.last_second(MANDATE_DAYS).date().isoformat()
        self.body = "\n\n".join([
            self._("Principal (委托人): {name}, ID {id}").format(name=app.session.display_name,
                                                              id=app.session.display_id_number),
            self._("Agent (受托人): the 代办 clerk of {outlet} who takes your request; their name is printed on your slip"
                   " once assigned.").format(outlet=app.cfg.kiosk.outlet),
            self._("Entrusted matter: {item}").format(item=loc(item, "name", app.language)),
            self._("Scope: to apply, hand in the materials and collect the result on my behalf."),
            self._("Valid until: {day}. I may withdraw it at any time before the application is filed.").format(day=until),
            self._("The service is free of charge. I remain responsible for the truth of my papers and information."),
        ])

    def reset(self) -> None:
        self.body = ""


SCREEN_CLASS = ProxyConsentScreen
load_kv("proxy_consent")
