"""Find a service item (政务服务事项): categories by department and by life event, the 一件事 bundles, and a
search button; the list is virtualised. What choosing an item does depends on the journey: apply, read the guide
(no card), ask for 代办, or report 办不成事."""
from __future__ import annotations

from kivy.clock import Clock
from kivy.metrics import dp
from kivy.properties import BooleanProperty, StringProperty

from kiosk.citizen.services import citizen_services
from kiosk.i18n import N_
from kiosk.platform.catalog_tables import LIFE_EVENTS
from screens import item_list, voice_controls  # noqa: F401  (kv rules)
from screens.base import KioskScreen, load_kv
from screens.item_list import row_data
from screens.widgets import BigButton

HEADINGS = {
    "apply": N_("Choose a service"),
    "browse": N_("Service guides"),
    "proxy": N_("Which service should we handle for you?"),
    "complaint": N_("Which service could not get done?"),
}


class ServiceListScreen(KioskScreen):
    voice_prompt = N_("Please choose the service you need.")
    problem = StringProperty("")
    greeting_name = StringProperty("")
    heading = StringProperty("")
    tab = StringProperty("department")
    category = StringProperty("")
    logged_in = BooleanProperty(False)
    _category_rows: list = []  # the (key, label) rows the category buttons show now
    _category_sets: dict | None = None  # (key, label) rows → their buttons, kept: a tab shown before comes back drawn

    def on_kv_post(self, base_widget):
        self.ids.service_items.on_choose = self.choose_code

    @property
    def svc(self):
        return citizen_services(self.app)

    def on_pre_enter(self, *args):
        self.logged_in = self.app.session.logged_in
        self.greeting_name = self.app.session.display_name
        self.heading = self._(HEADINGS.get(self.svc.mode, HEADINGS["apply"]))
        if self.logged_in and (self.svc.after_login or self.svc.pending_item):
            # A journey that needed the card for something other than this list: carry on there.
            Clock.schedule_once(lambda dt: self._after_login(), 0)
        elif self.svc.catalog:
            self.refresh()

    def _after_login(self) -> None:
        svc = self.svc
        target, svc.after_login = svc.after_login, ""
        item, svc.pending_item = svc.pending_item, None
        if target:
            self.app.go(target)
        elif item is not None:
            self.choose_code(item["item_code"])

    def reset(self) -> None:
        self.problem = ""
        self.greeting_name = ""
        self.tab = "department"
        self.category = ""
        self.ids.service_items.data = []

    def load(self) -> None:
        self.problem = ""
        self.app.run_bg(self.svc.load_catalog, self._loaded, self._failed, busy_text=self._("Loading services…"))

    def _loaded(self, items) -> None:
        self.app.catalog = items
        self.refresh()

    def _failed(self, error) -> None:
        self.problem = self._("The service list cannot be loaded right now. Please try again later or ask the staff.")

    # -- categories ------------------------------------------------------------------------
    def show_tab(self, tab: str) -> None:
        self.tab = tab
        self.category = ""
        self.refresh()

    def categories(self) -> list[tuple[str, str]]:
        lang = self.app.language
        index = self.svc.index
        if self.tab == "department":
            return [(key, (en if lang == "en" else name) + f"  ({n})") for key, name, en, n in index.departments()]
        if self.tab == "event":
            return [(key, (en if lang == "en" else name) + f"  ({n})") for key, name, en, n in index.life_events(LIFE_EVENTS)]
        return []

    def refresh(self) -> None:
        cats = self.categories()
        box = self.ids.categories
        if cats and self.category not in [c for c, _ in cats]:
            self.category = cats[0][0]
        if cats != self._category_rows:
            # Buttons only when the categories changed, and each set made once (by department, by life event,
            # in each language): a button's label is drawn by software text rendering, too slow to redo on
            # every entry into the list, every tab change and every tap on a category.
            box.clear_widgets()
            sets = self._category_sets = self._category_sets or {}
            buttons = sets.get(tuple(cats))
            if buttons is None:
                buttons = sets[tuple(cats)] = [self._category_button(key, label) for key, label in cats]
            for button in buttons:
                box.add_widget(button)
            self._category_rows = cats
        for button in box.children:
            button.kind = "primary" if button.category_key == self.category else "secondary"
        self.show_items(self.items_shown())

    def _category_button(self, key: str, label: str) -> BigButton:
        button = BigButton(text=label)
        button.category_key = key
        button.bind(on_release=lambda b, k=key: self.pick(k), texture_size=self._fit)
        return button

    def _fit(self, button, texture_size) -> None:
        """A category name that wraps (English, elder mode, portrait) makes its button taller, never clipped."""
        button.height = max(dp(72) * self.app.scale, texture_size[1] + dp(16))

    def pick(self, category: str) -> None:
        self.category = category
        self.refresh()

    def items_shown(self) -> list[dict]:
        index = self.svc.index
        if self.tab == "bundle":
            return index.bundles()
        if self.tab == "event":
            return index.in_life_event(self.category)
        return index.in_department(self.category)

    def show_items(self, items: list[dict]) -> None:
        svc, tr, lang = self.svc, self.app.tr, self.app.language
        self.ids.service_items.data = [row_data(i, svc.handled_here(i), tr, lang) for i in items]
        self.ids.service_items.scroll_y = 1

    def first_row(self):
        """The row of the first item shown (for the scripted tour)."""
        self.ids.service_items.refresh_from_layout()
        data = self.ids.service_items.data
        return self.ids.service_items.row_for(data[0]["item_code"]) if data else None

    def open_search(self) -> None:
        self.app.go("search")

    # -- choosing --------------------------------------------------------------------------
    def choose_code(self, item_code: str) -> None:
        item = self.svc.by_code().get(item_code)
        if item is not None:
            choose_item(self.app, item)


def choose_item(app, item: dict) -> None:
    """What tapping an item does in the current journey."""
    svc = citizen_services(app)
    svc.chosen = item
    mode = svc.mode
    if mode == "complaint":
        app.screen("cannot_do").set_item(item)
        app.go("cannot_do")
    elif mode == "proxy":
        if item.get("in_person_required") or not item.get("proxy_allowed") or item.get("kind") == "bundle":
            app.go("item_detail")  # says why it cannot be proxied and where the nearest window is
        else:
            app.go("proxy_mode")
    elif mode == "browse" or not app.session.logged_in:
        app.go("item_detail")
    elif item.get("kind") == "bundle":
        app.screen("bundle_questions").start(item)
        app.go("bundle_questions")
    elif not svc.handled_here(item):
        app.go("item_detail")
    else:
        app.session.choose_service(item)
        app.go("guide")


SCREEN_CLASS = ServiceListScreen
load_kv("service_list")
