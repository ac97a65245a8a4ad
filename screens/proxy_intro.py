"""我要代办: why and how, before anything is asked — free and voluntary, what the clerk may do, what the citizen
stays responsible for; items that need the person are never proxied."""
from kiosk.citizen.services import citizen_services
from kiosk.i18n import N_
from screens import voice_controls  # noqa: F401
from screens.base import KioskScreen, load_kv


class ProxyIntroScreen(KioskScreen):
    voice_prompt = N_("Proxy help is free and voluntary. Please read, then press Continue.")

    def carry_on(self) -> None:
        app = self.app
        svc = citizen_services(app)
        svc.mode = "proxy"
        if svc.proxy_item is not None:
            svc.chosen = svc.proxy_item
            svc.after_login = "proxy_mode"
        if app.session.logged_in:
            app.go(svc.after_login or "service_list")
            svc.after_login = ""
        else:
            app.start_session()


SCREEN_CLASS = ProxyIntroScreen
load_kv("proxy_intro")
