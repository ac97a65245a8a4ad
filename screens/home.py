"""Home: start with the ID card; switch language or elder mode."""
from screens.base import KioskScreen, load_kv


class HomeScreen(KioskScreen):
    pass


SCREEN_CLASS = HomeScreen
load_kv("home")
