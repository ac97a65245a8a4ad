"""The item list used by the category and search screens: a virtualised RecycleView, so a list of the whole
catalog costs only the rows on screen. Each row says up front whether the item needs the person, can be handled
here, or is a 一件事 bundle."""
from __future__ import annotations

from kivy.app import App
from kivy.properties import ColorProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.recycleview import RecycleView
from kivy.uix.recycleview.views import RecycleDataViewBehavior

from kiosk.i18n import N_
from screens import theme
from screens.base import load_kv

BUNDLE = N_("一件事: several services, one application")
IN_PERSON = N_("You must come in person: {reason}")
ELSEWHERE = N_("Not handled at this kiosk: go to {place}")
PROXY_OK = N_("Proxy help (代办) available")


def loc(item: dict, key: str, language: str) -> str:
    """`item[key + "_en"]` in English when the catalog has it, else `item[key]`."""
    if language == "en" and item.get(f"{key}_en"):
        return str(item[f"{key}_en"])
    value = item.get(key)
    return "" if value is None else str(value)


def row_data(item: dict, handled_here: bool, tr, language: str) -> dict:
    """What one row shows: the name, the department, and the one note that matters most before starting."""
    if item.get("kind") == "bundle":
        badge, color = tr._(BUNDLE), theme.PRIMARY
    elif item.get("in_person_required"):
        badge, color = tr._(IN_PERSON).format(reason=loc(item, "in_person_reason", language)), theme.DANGER
    elif not handled_here:
        badge, color = tr._(ELSEWHERE).format(place=loc(item, "place", language)), theme.DANGER
    elif item.get("proxy_allowed"):
        badge, color = tr._(PROXY_OK), theme.SUCCESS
    else:
        badge, color = "", theme.TEXT_MUTED
    return {"item_code": item.get("item_code", ""), "title": loc(item, "name", language),
            "subtitle": loc(item, "department", language), "badge": badge, "badge_color": color}


class ItemRow(RecycleDataViewBehavior, ButtonBehavior, BoxLayout):
    item_code = StringProperty("")
    title = StringProperty("")
    subtitle = StringProperty("")
    badge = StringProperty("")
    badge_color = ColorProperty(theme.TEXT_MUTED)

    def on_release(self):
        owner = self.parent.parent if self.parent is not None else None
        if owner is not None and owner.on_choose is not None:
            owner.on_choose(self.item_code)


class ItemList(RecycleView):
    on_choose = ObjectProperty(None, allownone=True)  # callback(item_code)

    def row_for(self, item_code: str):
        """The row widget on screen for `item_code` (for the driver), or None if scrolled away."""
        for w in self.layout_manager.children if self.layout_manager else []:
            if getattr(w, "item_code", None) == item_code:
                return w
        return None

    def show_index(self, index: int) -> None:
        """Scroll so that row `index` is on screen (a finger's scroll, for the scripted tour)."""
        rows = self.layout_manager
        n = len(self.data)
        if rows is None or n == 0:
            return
        row_h = rows.default_size[1] or 1
        extra = rows.height - self.height
        if extra <= 0:
            return
        self.scroll_y = max(0.0, min(1.0, 1 - (index * row_h) / extra))
        self.refresh_from_viewport()

    @property
    def app(self):
        return App.get_running_app()


load_kv("item_list")
