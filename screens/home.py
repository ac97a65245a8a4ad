"""Home: large tiles for every journey (apply, guides without a card, 代办, progress, 好差评, 办不成事), the outlet's
name and hotline, elder mode and language switches."""
from kiosk.citizen.services import citizen_services
from kiosk.i18n import N_
from screens.base import KioskScreen, load_kv
from screens import voice_controls  # noqa: F401  (registers VoiceControls for the kv rule)


class HomeScreen(KioskScreen):
    voice_prompt = N_("Please swipe your ID card to start.")

    def on_pre_enter(self, *args):
        citizen_services(self.app).reset()

    def start(self, journey: str) -> None:
        """Open a journey from its tile. Journeys that need the card go through the ID card screen first."""
        app = self.app
        svc = citizen_services(app)
        svc.reset()
        if journey == "apply":
            app.start_session()
        elif journey == "browse":
            svc.mode = "browse"
            app.screen("service_list").load()
            app.go("service_list")
        elif journey == "proxy":
            svc.mode = "proxy"
            app.go("proxy_intro")
        elif journey == "query":
            app.go("query")
        elif journey == "evaluate":
            svc.query_by, svc.query_purpose, svc.after_login = "card", "evaluate", "query_result"
            app.start_session()
        elif journey == "complaint":
            svc.mode = "complaint"
            svc.after_login = "cannot_do"
            app.start_session()


SCREEN_CLASS = HomeScreen
load_kv("home")
