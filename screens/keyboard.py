"""The on-screen Chinese keyboard and the text field that opens it.

`ChineseTextField` is what screens put in their .kv (`#:import _keyboard screens.keyboard` first): tapping it
docks the keyboard at the bottom of the window over a dimmed screen. The keyboard types pinyin (full, initials or
mixed) with a candidate bar, English letters, digits and punctuation; a field with `mode: 'digits'` gets a numeric
pad instead. What is typed lands in the field at once, so closing the keyboard never loses anything. The pinyin
engine is `kiosk.ime`; it loads on a worker thread when the first field is made.

Other screens and the tours rely on: `ChineseTextField` (`keyboard_open`, `max_len`, `mode`, `digit_extras`,
`input_mode`, `label`), `current_panel()` → the open `KeyboardPanel` (`field`, `preedit`, `candidates`,
`press(key)`, `choose(i)`), `open_keyboard(field)`, `close_keyboard()`, and each `KeyButton`'s `key`.
"""
from __future__ import annotations

import logging
import threading

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.metrics import dp, sp
from kivy.properties import (BooleanProperty, ListProperty, NumericProperty, ObjectProperty, OptionProperty,
                             StringProperty)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.textinput import TextInput

from kiosk.i18n import N_
from kiosk.ime.composition import Composition
from kiosk.ime.engine import LettersOnlyEngine, PinyinEngine
from kiosk.ime.lexicon import LexiconError
from kiosk.ime.punctuation import CHINESE_PAGE, DIGITS, ENGLISH_PAGE
from screens.base import load_kv

log = logging.getLogger(__name__)

LETTER_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
# Quick keys on the digits page for addresses (3号楼2单元501室).
ADDRESS_WORDS = ("号", "楼", "栋", "单元", "室", "层", "路", "街", "巷", "村", "组")

_engine: PinyinEngine | None = None
_engine_lock = threading.Lock()


def _load_engine() -> PinyinEngine | LettersOnlyEngine:
    global _engine
    with _engine_lock:
        if _engine is None:
            try:
                _engine = PinyinEngine()
            except LexiconError as exc:  # a damaged install: Latin letters still work, and the keyboard says so
                log.error("Chinese input unavailable: %s (reinstall the package to restore kiosk/ime/lexicon.tsv.gz)",
                          exc)
                _engine = LettersOnlyEngine()
        return _engine


def preload_engine() -> None:
    """Load the pinyin lexicon on a worker thread (about a quarter of a second) before the first key."""
    if _engine is None:
        threading.Thread(target=_load_engine, name="ime-load", daemon=True).start()


def engine() -> PinyinEngine | LettersOnlyEngine:
    return _engine if _engine is not None else _load_engine()


def _(message: str) -> str:
    app = App.get_running_app()
    return app.tr._(message) if app is not None and hasattr(app, "tr") else message


class KeyButton(Button):
    """One key. `action` keys (delete, clear, pages) are grey; `primary` is the Done key."""

    key = StringProperty("")
    kind = OptionProperty("char", options=("char", "action", "primary", "candidate", "on"))
    weight = NumericProperty(1.0)


class KeyboardPanel(BoxLayout):
    """Preview of the field, composition and candidate bar, and the pages of keys."""

    field = ObjectProperty(None, allownone=True)
    page = OptionProperty("letters", options=("letters", "digits", "symbols", "numeric"))
    chinese = BooleanProperty(True)
    caps = BooleanProperty(False)
    preedit = StringProperty("")
    preview = StringProperty("")  # the end of the field's text, shown beside what is being spelled
    title = StringProperty("")
    message = StringProperty("")
    count_text = StringProperty("")
    candidates = ListProperty([])  # texts on the shown page of candidates
    can_prev = BooleanProperty(False)
    can_next = BooleanProperty(False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.composition: Composition | None = None
        self._cand_buttons: list[KeyButton] = []
        self._all: list = []
        self._page_starts = [0]
        self._page_end = 0
        self.bind(page=self._rebuild_keys, chinese=self._rebuild_keys, caps=self._rebuild_keys)
        Clock.schedule_once(lambda dt: self._rebuild_keys(), 0)

    # -- attaching to a field ----------------------------------------------------------------
    def attach(self, field) -> None:
        self.field = field
        ime = engine()
        self.composition = Composition(ime)
        self.message = ""
        self.caps = False
        # A field starts in 中 unless it asks for English (URLs, tokens) or Chinese cannot be typed.
        self.chinese = field.input_mode == "chinese" and not isinstance(ime, LettersOnlyEngine)
        if isinstance(ime, LettersOnlyEngine):
            self.say(_("Chinese input is not available on this kiosk: please type in letters or ask the staff."))
        self.page = "numeric" if field.mode == "digits" else "letters"
        self.title = field.label or _label_above(field)
        self._rebuild_keys()
        self._refresh()

    def detach(self) -> None:
        if self.composition is not None and self.composition.active and self.field is not None:
            self._insert(self.composition.commit_first())
        self.field = None
        self.composition = None
        self._refresh()

    def say(self, message: str) -> None:
        """Show why a key did nothing; elder mode also speaks it (the app's voice, silent otherwise)."""
        self.message = message
        speak = getattr(App.get_running_app(), "speak", None)
        if callable(speak):
            speak(message)

    # -- keys ----------------------------------------------------------------------------------
    def press(self, key: str) -> None:
        """Every key goes through here (tests call it too)."""
        if self.field is None or self.composition is None:
            return
        self.message = ""
        comp = self.composition
        if key == "del":
            if not comp.backspace():
                self.field.do_backspace()
        elif key == "clear":
            if comp.active:
                comp.clear()
            else:
                self.field.text = ""
        elif key == "space":
            self._convert(" " if not comp.active else "")
        elif key == "done":
            if self._convert():
                close_keyboard()
                return
        elif key == "lang":
            if comp.active:
                self._convert(raw=True)
            if isinstance(comp.engine, LettersOnlyEngine):
                self.say(_("Chinese input is not available on this kiosk: please type in letters or ask the staff."))
            else:
                self.chinese = not self.chinese
        elif key == "caps":
            self.caps = not self.caps
        elif key.startswith("page:"):
            self.page = key[5:]
        elif key == "prev":
            if len(self._page_starts) > 1:
                self._page_starts.pop()
        elif key == "next":
            if self._page_end < len(self._all):
                self._page_starts.append(self._page_end)
        elif self.page == "numeric":
            self._insert(key)
        elif len(key) == 1 and key.isascii() and (key.isalpha() or key == "'") and self.chinese \
                and self.page == "letters":
            if not comp.type(key):
                self.say(_("That is as long as one spelling can be: choose a word first."))
        elif len(key) == 1 and key.isascii() and key.isalpha():
            self._insert(key.upper() if self.caps else key)
        elif key:
            # Digits, punctuation, address words: what is being spelled is converted first.
            snapshot = (comp.letters, list(comp.chosen))
            text = comp.punctuate(key, self.field.text, self.chinese)
            if not text:
                text = (comp.commit_first() if comp.active else "") + key
            if not self._insert(text):
                comp.letters, comp.chosen = snapshot
        if key not in ("prev", "next"):
            self._reset_pages()
        self._refresh()

    def _convert(self, extra: str = "", raw: bool = False) -> bool:
        """Convert what is being spelled (first candidates, or the letters as typed) and insert it with `extra`.
        When the field cannot take it, the spelling stays as it was (and the reason is shown)."""
        comp = self.composition
        snapshot = (comp.letters, list(comp.chosen))
        text = (comp.commit_raw() if raw else comp.commit_first()) + extra
        if self._insert(text):
            return True
        comp.letters, comp.chosen = snapshot
        return False

    def choose(self, index_on_page: int) -> None:
        comp = self.composition
        if comp is None or self.field is None:
            return
        index = self._page_starts[-1] + index_on_page
        if not 0 <= index < len(self._all):
            return
        snapshot = (comp.letters, list(comp.chosen))
        done = comp.choose(index)
        if done is not None and not self._insert(done):
            comp.letters, comp.chosen = snapshot
        self._reset_pages()
        self._refresh()

    def _insert(self, text: str) -> bool:
        """Put `text` into the field at its cursor; refused (with words) if it would pass `max_len`."""
        field = self.field
        if not text or field is None:
            return True
        allowed = field.allowed(text)
        if allowed != text:
            if field.mode == "digits":
                self.say(_("Only digits can be entered here."))
            if not allowed:
                return False
            text = allowed
        if field.max_len and len(field.text) + len(text) > field.max_len:
            self.say(_("At most {n} characters fit in this field.").format(n=int(field.max_len)))
            return False
        field.insert_text(text)
        return True

    # -- display -------------------------------------------------------------------------------
    def _reset_pages(self) -> None:
        self._page_starts = [0]

    def _refresh(self, *_args) -> None:
        comp = self.composition
        field = self.field
        self._all = comp.candidates if comp is not None else []
        self.preedit = comp.preedit if comp is not None else ""
        text = field.text if field is not None else ""
        # The end of the text, as much as fits beside the spelling (a character is at most one font size wide).
        scale = getattr(App.get_running_app(), "scale", 1.0)
        room = int((self.width - dp(60)) / (sp(28) * scale)) - len(self.preedit) // 2
        self.preview = text if len(text) <= max(room, 4) else "…" + text[-max(room - 1, 3):]
        self.count_text = f"{len(text)}/{int(field.max_len)}" if field is not None and field.max_len else ""
        self._layout_candidates()

    def _layout_candidates(self, *_args) -> None:
        """As many candidates as fit the bar's width on one page (elder mode: fewer, larger)."""
        bar = self.ids.get("cands") if hasattr(self, "ids") else None
        scale = getattr(App.get_running_app(), "scale", 1.0)
        width = (bar.width if bar is not None and bar.width > 10 else Window.width * 0.7)
        start = self._page_starts[-1] if self._page_starts else 0
        used = 0.0
        end = start
        char_w = sp(28) * scale
        gap = bar.spacing if bar is not None else 0
        while end < len(self._all):
            w = max(dp(64) * scale, len(self._all[end].text) * char_w + dp(28))
            if used + w > width and end > start:
                break
            used += w + gap
            end += 1
        self._page_end = end
        self.candidates = [c.text for c in self._all[start:end]]
        self.can_prev = start > 0
        self.can_next = end < len(self._all)
        if bar is not None:
            # Buttons are pooled: making a Button per candidate per key cost more than the engine's answer.
            while len(self._cand_buttons) < len(self.candidates):
                b = KeyButton(kind="candidate")
                b.size_hint_x = None  # after the kv rule, which ties size_hint_x to the weight
                b.bind(on_release=lambda btn, i=len(self._cand_buttons): self.choose(i))
                self._cand_buttons.append(b)
            shown = self._cand_buttons[:len(self.candidates)]
            for b, text in zip(shown, self.candidates):
                b.text = text
                b.width = max(dp(64) * scale, len(text) * char_w + dp(28))
            if bar.children[::-1] != shown:
                bar.clear_widgets()
                for b in shown:
                    bar.add_widget(b)

    def _rebuild_keys(self, *_args) -> None:
        box = self.ids.get("keys") if hasattr(self, "ids") else None
        if box is None:
            return
        box.clear_widgets()
        for row in self._rows():
            line = BoxLayout(orientation="horizontal", size_hint_y=None, spacing=dp(6))
            for label, key, kind, weight in row:
                b = KeyButton(text=label, key=key, kind=kind, weight=weight)
                b.bind(on_release=lambda btn: self.press(btn.key))
                line.add_widget(b)
            line.bind(minimum_height=line.setter("height"))
            box.add_widget(line)
        self._refresh()

    def _rows(self) -> list[list[tuple[str, str, str, float]]]:
        """(label, key, kind, width weight) per key, row by row, for the current page."""
        t = _
        if self.page == "numeric":
            extras = self.field.digit_extras if self.field is not None else ""
            extra = extras[:1]
            return [
                [(d, d, "char", 1) for d in "123"],
                [(d, d, "char", 1) for d in "456"],
                [(d, d, "char", 1) for d in "789"],
                [(extra, extra, "char", 1) if extra else ("", "", "action", 1), ("0", "0", "char", 1),
                 (t("Delete"), "del", "action", 1)],
                [(t("Clear"), "clear", "action", 1), (t("Done"), "done", "primary", 2)],
            ]
        bottom = [
            (t("ABC") if self.page != "letters" else "123", "page:letters" if self.page != "letters" else "page:digits",
             "action", 1.2),
            (t("Symbols"), "page:symbols", "on" if self.page == "symbols" else "action", 1.2),
            (t("Chinese") if self.chinese else t("English"), "lang", "action", 1.4),
            (t("Space"), "space", "action", 3),
            (t("Clear"), "clear", "action", 1.2),
            (t("Done"), "done", "primary", 2),
        ]
        if self.page == "digits":
            punct = ("，", "。", "、", "－", "／", "（", "）", "：", "＃", "@") if self.chinese else \
                (",", ".", "-", "/", "(", ")", ":", "#", "@", "&")
            return [
                [(d, d, "char", 1) for d in DIGITS],
                [(p, p, "char", 1) for p in punct],
                [(w, w, "char", len(w)) for w in ADDRESS_WORDS] + [(t("Delete"), "del", "action", 1.5)],
                bottom,
            ]
        if self.page == "symbols":
            marks = CHINESE_PAGE if self.chinese else ENGLISH_PAGE
            return [
                [(m, m, "char", 1) for m in marks[:10]],
                [(m, m, "char", 1) for m in marks[10:19]] + [(t("Delete"), "del", "action", 1.5)],
                [(m, m, "char", 1) for m in marks[19:]],
                bottom,
            ]
        up = self.caps and not self.chinese
        letters = [[(ch.upper() if up else ch, ch, "char", 1) for ch in row] for row in LETTER_ROWS]
        letters[1].append((t("Delete"), "del", "action", 1.5))
        if self.chinese:
            letters[2].insert(0, (t("Split"), "'", "action", 1.5))  # xi'an: 西安, not 先
            letters[2] += [("，", ",", "char", 1), ("。", ".", "char", 1)]
        else:
            letters[2].insert(0, (t("Caps"), "caps", "on" if self.caps else "action", 1.5))
            letters[2] += [(",", ",", "char", 1), (".", ".", "char", 1)]
        return letters + [bottom]


class KeyboardOverlay(FloatLayout):
    """Shades the window and docks the panel at the bottom. A touch outside the panel closes the keyboard and goes
    on to what is under it: tapping another field moves the keyboard there, tapping a search result opens it."""

    panel = ObjectProperty(None)

    def on_touch_down(self, touch):
        if self.panel is not None and self.panel.collide_point(*touch.pos):
            return super().on_touch_down(touch)
        close_keyboard()
        return False

    def on_touch_move(self, touch):
        super().on_touch_move(touch)
        return True

    def on_touch_up(self, touch):
        super().on_touch_up(touch)
        return True


_overlay: KeyboardOverlay | None = None


def current_panel() -> KeyboardPanel | None:
    """The open keyboard's panel, or None."""
    return _overlay.panel if _overlay is not None and _overlay.parent is not None else None


def open_keyboard(field) -> KeyboardPanel:
    global _overlay
    if _overlay is None:
        _overlay = KeyboardOverlay()
        _overlay.panel = _overlay.ids.panel
    panel = _overlay.panel
    if panel.field is not None and panel.field is not field:
        panel.field.keyboard_open = False
        panel.detach()
    if _overlay.parent is None:
        Window.add_widget(_overlay)
        app = App.get_running_app()
        sm = getattr(app, "sm", None)
        if sm is not None:  # a new screen (also the idle timeout going home) closes the keyboard
            sm.bind(current=_close_on_screen_change)
        for name in _APP_ALERTS:  # the app's own overlays (continue?, put the card back, busy) come first
            if app is not None and hasattr(app, name):
                app.bind(**{name: _close_on_alert})
    panel.attach(field)
    field.keyboard_open = True
    return panel


def _close_on_screen_change(*_args) -> None:
    # Not committed: the session may just have been wiped, and the spelling must not land in a reset field.
    close_keyboard(commit=False)


_APP_ALERTS = ("idle_countdown", "card_return_countdown", "busy")


def _close_on_alert(_app, value) -> None:
    if value:
        close_keyboard(commit=True)  # what was spelled stays in the field


def close_keyboard(commit: bool = True) -> None:
    """Hide the keyboard. `commit` converts what was being spelled; without it, the spelling is dropped."""
    if _overlay is None or _overlay.parent is None:
        return
    panel = _overlay.panel
    field = panel.field
    if not commit and panel.composition is not None:
        panel.composition.clear()
    panel.detach()
    if field is not None:
        field.keyboard_open = False
        field.dispatch("on_text_validate")
    app = App.get_running_app()
    sm = getattr(app, "sm", None)
    if sm is not None:
        sm.unbind(current=_close_on_screen_change)
    for name in _APP_ALERTS:
        if app is not None and hasattr(app, name):
            app.unbind(**{name: _close_on_alert})
    Window.remove_widget(_overlay)


class ChineseTextField(TextInput):
    """A one-line field for Chinese text (addresses, organisation names, search) or, with `mode: 'digits'`,
    numbers. Tapping it opens the on-screen keyboard; `max_len` caps what fits (0: no cap)."""

    max_len = NumericProperty(0)
    mode = OptionProperty("text", options=("text", "digits"))
    digit_extras = StringProperty("")  # e.g. "X" for an ID number: offered on the numeric pad
    label = StringProperty("")  # shown above the keyboard; defaults to the label of an enclosing row
    input_mode = OptionProperty("chinese", options=("chinese", "english"))  # "english" for URLs, tokens, Latin names
    keyboard_open = BooleanProperty(False)

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("multiline", False)
        kwargs.setdefault("keyboard_mode", "managed")  # never the system keyboard
        kwargs.setdefault("use_bubble", False)
        kwargs.setdefault("use_handles", False)
        kwargs.setdefault("write_tab", False)
        super().__init__(**kwargs)
        preload_engine()

    def allowed(self, text: str) -> str:
        """The part of `text` this field accepts (digits mode: digits and `digit_extras`)."""
        if self.mode == "digits":
            extras = self.digit_extras
            return "".join(ch for ch in text if ch in DIGITS or (ch in extras and ch != ""))
        return "".join(ch for ch in text if ch not in "\r\n\t")

    def insert_text(self, substring, from_undo=False):
        substring = self.allowed(substring)
        if self.max_len:
            substring = substring[: max(0, int(self.max_len) - len(self.text))]
        return super().insert_text(substring, from_undo=from_undo)

    def on_touch_down(self, touch):
        if self.collide_point(*touch.pos) and not self.disabled:
            Clock.schedule_once(lambda dt: self.open_keyboard(), 0)
        return super().on_touch_down(touch)

    def open_keyboard(self) -> KeyboardPanel:
        return open_keyboard(self)

    def close_keyboard(self) -> None:
        if self.keyboard_open:
            close_keyboard()


KeyboardTextField = ChineseTextField  # the name screens/form.py looks for


def replace_with_keyboard_field(screen, widget_id: str, label: str, max_len: int, **kwargs) -> "ChineseTextField":
    """Put the keyboard's text field where the screen's .kv placed a plain TextInput `widget_id` (same height, font
    and hint), under the same id; returns the new field."""
    old = screen.ids[widget_id]
    field = ChineseTextField(size_hint_y=None, height=old.height, font_size=old.font_size, max_len=max_len,
                             hint_text=old.hint_text, **kwargs)
    field.label = label
    parent = old.parent
    parent.add_widget(field, index=parent.children.index(old))
    parent.remove_widget(old)
    screen.ids[widget_id] = field
    return field


def _label_above(widget) -> str:
    """The label of the row a field sits in (form rows have a `label` property), for the keyboard's title."""
    parent = widget.parent
    for _ in range(4):
        if parent is None:
            break
        label = getattr(parent, "label", None)
        if isinstance(label, str) and label:
            return label
        parent = parent.parent
    return ""


# Messages used above through _(), listed for extraction.
_MESSAGES = (N_("Delete"), N_("Clear"), N_("Done"), N_("Space"), N_("Symbols"), N_("ABC"), N_("Chinese"),
             N_("English"), N_("Split"), N_("Caps"))

load_kv("keyboard")
