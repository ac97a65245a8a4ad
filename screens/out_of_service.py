"""暂停服务: what is broken, in words, and where to go instead. Shown instead of the journey when a device it needs
(the card reader, the document camera) is missing; it returns home by itself once the devices are back."""
from kivy.properties import StringProperty

from kiosk.i18n import N_
from screens.base import KioskScreen, load_kv
from screens.device_banner import problem_lines


class OutOfServiceScreen(KioskScreen):
    voice_prompt = N_("This terminal cannot take applications right now.")
    broken = StringProperty("")

    def on_pre_enter(self, *args):
        self.refresh()

    def refresh(self) -> None:
        status = self.app.terminal.device_status
        self.broken = "\n".join(problem_lines(self.app, status.blocking))

    def spoken_prompt(self) -> str:
        return f"{self._(self.voice_prompt)} {self.broken} {self.where_to_go()}"

    def where_to_go(self) -> str:
        return self._("Please go to a staffed service window of {outlet}, or ask the staff at the information desk. Hotline: {hotline}.").format(
            outlet=self.app.cfg.kiosk.outlet, hotline=self.app.cfg.kiosk.hotline)

    def reset(self) -> None:
        self.broken = ""


SCREEN_CLASS = OutOfServiceScreen
load_kv("out_of_service")
