"""Search the whole catalog as you type: Chinese, full pinyin or initials (`ylbx` → 养老保险…), through the
on-screen keyboard. Each key press searches the index (well under a millisecond for the catalog) and refreshes
the virtualised list, so results follow the finger."""
from __future__ import annotations

import logging
import time

from kivy.clock import Clock
from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.citizen.services import citizen_services
from kiosk.i18n import N_
from screens import item_list, letter_pad, voice_controls  # noqa: F401  (kv rules)
from screens.base import KioskScreen, load_kv
from screens.item_list import row_data
from screens.service_list import choose_item


log = logging.getLogger(__name__)


class SearchScreen(KioskScreen):
    voice_prompt = N_("Type the name of the service, or its pinyin initials.")
    count_text = StringProperty("")
    last_ms = NumericProperty(0)
    keyboard = BooleanProperty(False)  # the shared Chinese keyboard is in use (else the letter pad)
    keyboard_open = BooleanProperty(False)  # it is open on the search field: the list makes room for it

    def on_kv_post(self, base_widget):
        self.ids.results.on_choose = self.choose_code
        self._attach_keyboard()
        self.ids.search_field.bind(text=lambda w, text: self.search(self.query()))
        self._panel = None
        self._field_height = 0.0
        self._room_trigger = Clock.create_trigger(self.make_room, 0)
        self.bind(keyboard_open=self._room_trigger)

    def _attach_keyboard(self) -> None:
        """The shared on-screen Chinese keyboard's text field when it is installed (tapping it opens the keyboard
        with the candidate bar); else a plain field with the letter pad below (pinyin and initials)."""
        try:
            from screens.keyboard import replace_with_keyboard_field
        except Exception as exc:  # not installed, or unfinished: the letter pad still searches by pinyin
            log.info("search uses the letter pad (%s)", exc)
            return
        field = replace_with_keyboard_field(self, "search_field", self._("Search for a service"), 30, multiline=False)
        self.ids.keyboard_box.clear_widgets()
        self.keyboard = True
        field.bind(keyboard_open=self._keyboard_toggled)

    def _keyboard_toggled(self, field, is_open) -> None:
        """While the keyboard spells pinyin, the letters are searched too (ylbx finds 养老保险 before a word is
        chosen)."""
        from screens.keyboard import current_panel

        if self._panel is not None:
            self._panel.unbind(preedit=self._spelled, top=self._room_trigger)
            self._panel = None
        panel = current_panel() if is_open else None
        if panel is not None and panel.field is field:
            self._panel = panel
            panel.bind(preedit=self._spelled, top=self._room_trigger)
        self.keyboard_open = self._panel is not None
        # The field gives way too: the keyboard shows its label and text.
        if self.keyboard_open:
            self._field_height = self._field_height or field.height
        field.height = 0 if self.keyboard_open else (self._field_height or field.height)
        field.opacity = 0 if self.keyboard_open else 1
        self._room_trigger()

    def make_room(self, *_args) -> None:
        """The keyboard is docked over the bottom of the window. While it is open the screen's title, field and
        count give way (the keyboard shows the field's label and text itself) and the results list ends above the
        keyboard (the room below the list grows to the keyboard's top), so the first results stay in sight; rows
        shrink when not even one would fit (elder mode's tall keyboard)."""
        room = self.ids.keyboard_room
        rows = self.ids.results.layout_manager
        row_h = dp(104) * self.app.scale  # the list's own row height (item_list.kv)
        panel = self._panel
        if panel is None or panel.parent is None or not self.keyboard:
            room.height = 0
            if rows is not None and rows.default_size[1] != row_h:
                rows.default_size = (None, row_h)
            return
        box = self.ids.results.parent
        kids = box.children  # bottom first
        at = kids.index(room)
        # Where the room starts and the list would start, from the sizes of what is under and over them (not from
        # positions, which the layout has not caught up with yet).
        bottom = box.y + box.padding[3] + sum(c.height + box.spacing for c in kids[:at])
        top = box.top - box.padding[1] - sum(c.height + box.spacing for c in kids[at + 2:])
        keyboard_top = box.to_widget(*panel.to_window(panel.x, panel.top))[1]
        room.height = max(0.0, min(keyboard_top + dp(4) - bottom - box.spacing, top - bottom - box.spacing - dp(96)))
        fits = top - (bottom + room.height + box.spacing)
        if rows is not None:
            rows.default_size = (None, row_h if fits >= row_h else max(dp(96), fits))
        self.ids.results.scroll_y = 1

    def _spelled(self, panel, preedit) -> None:
        self.search(self.query())

    def query(self) -> str:
        """What is searched: the field's text and the pinyin letters still being spelled."""
        spelled = self._panel.preedit if self._panel is not None else ""
        return self.ids.search_field.text + "".join(ch for ch in spelled.lower() if "a" <= ch <= "z")

    def on_pre_enter(self, *args):
        citizen_services(self.app).back_to = "search"
        self.search(self.query())

    def search(self, text: str) -> None:
        started = time.perf_counter()
        svc = citizen_services(self.app)
        hits = svc.index.search(text) if text.strip() else []
        tr, lang = self.app.tr, self.app.language
        self.ids.results.data = [row_data(i, svc.handled_here(i), tr, lang) for i in hits]
        self.ids.results.scroll_y = 1
        if not text.strip():
            self.count_text = self._("Type a name, full pinyin or initials, for example ylbx for 养老保险.")
        elif hits:
            self.count_text = self._("{n} service(s) found").format(n=len(hits))
        else:
            self.count_text = self._("Nothing found. Try fewer letters, or browse by department.")
        self.last_ms = (time.perf_counter() - started) * 1000.0

    def choose_code(self, item_code: str) -> None:
        item = citizen_services(self.app).by_code().get(item_code)
        if item is not None:
            choose_item(self.app, item)

    def back(self) -> None:
        citizen_services(self.app).back_to = ""
        self.app.go("service_list")

    def reset(self) -> None:
        self.ids.search_field.text = ""
        self.ids.results.data = []


SCREEN_CLASS = SearchScreen
load_kv("search")
