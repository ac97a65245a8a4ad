"""Choose a service (政务服务事项) from the catalog the hub got from the provincial platform."""
from kivy.properties import DictProperty, StringProperty

from kiosk.i18n import N_
from screens.base import KioskScreen, load_kv
from screens.widgets import BigButton


class ServiceButton(BigButton):
    service = DictProperty({})


class ServiceListScreen(KioskScreen):
    voice_prompt = N_("Please choose the service you need.")
    problem = StringProperty("")
    greeting_name = StringProperty("")

    def on_pre_enter(self, *args):
        self.greeting_name = self.app.session.display_name

    def reset(self) -> None:
        self.problem = ""
        self.greeting_name = ""
        self.ids.service_items.clear_widgets()

    def load(self) -> None:
        self.problem = ""
        self.ids.service_items.clear_widgets()
        self.app.run_bg(self.app.terminal.catalog, self._show, self._failed, busy_text=self._("Loading services…"))

    def _show(self, items) -> None:
        self.app.catalog = items
        self.ids.service_items.clear_widgets()
        for item in items:
            button = ServiceButton(service=item, kind="secondary")
            english = self.app.language == "en" and item.get("name_en")
            button.text = item["name_en"] if english else item["name"]
            button.bind(on_release=lambda b: self.choose(b.service))
            self.ids.service_items.add_widget(button)

    def _failed(self, error) -> None:
        self.problem = self._("The service list cannot be loaded right now. Please try again later or ask the staff.")

    def choose(self, service: dict) -> None:
        self.app.session.choose_service(service)
        self.app.go("guide")


SCREEN_CLASS = ServiceListScreen
load_kv("service_list")
