"""Home: start with the ID card; switch language or elder mode."""
from kiosk.i18n import N_
from screens.base import KioskScreen, load_kv


class HomeScreen(KioskScreen):
    voice_prompt = N_("Please swipe your ID card to start.")


SCREEN_CLASS = HomeScreen
load_kv("home")
