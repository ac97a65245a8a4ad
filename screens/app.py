"""The kiosk App: state and navigation only. Each screen talks to the `Terminal` service object."""
from __future__ import annotations

import importlib
import logging
import threading
from pathlib import Path
from typing import Any, Callable

from kivy.app import App
from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.i18n import gettext
from kiosk.session import CitizenSession
from kiosk.voice import VoicePrompter
from screens import theme
from screens.base import load_kv
from screens.voice_player import KivySoundPlayer

log = logging.getLogger(__name__)

# The citizen journey, in order. Each name is a module `screens/<name>.py` with its `<name>.kv`.
SCREENS = ("home", "id_login", "service_list", "guide", "form", "scan", "confirm", "receipt", "done")
# Finding items, 一件事, 代办, progress, 好差评 and 办不成事 (each a screen module like the above).
SCREENS += ("item_detail", "search")


class Translator:
    """Bound in kv as `app.tr[msgid]`: replacing `app.tr` re-translates every label at once.

    kv binds the attribute chain of a subscript (`app.tr[...]`) but not that of a method call
    (`app.tr._(...)`), so kv uses the subscript; Python code calls `app.tr._(message)`.
    """

    def __init__(self, language: str) -> None:
        self.language = language

    def __getitem__(self, message: str) -> str:
        return gettext(message, self.language)

    def _(self, message: str) -> str:
        return gettext(message, self.language)


class _KeepRunning(ExceptionHandler):
    """One bad callback must not take the kiosk down: log it, tell the citizen, go home."""

    def __init__(self, app: "KioskApp") -> None:
        super().__init__()
        self.app = app

    def handle_exception(self, inst):
        if isinstance(inst, (KeyboardInterrupt, SystemExit)):
            return ExceptionManager.RAISE
        log.error("unhandled error in the UI", exc_info=(type(inst), inst, inst.__traceback__))
        Clock.schedule_once(lambda dt: self.app.recover(), 0)
        return ExceptionManager.PASS


class KioskApp(App):
    tr = ObjectProperty(Translator("zh_CN"))
    language = StringProperty("zh_CN")
    elder_mode = BooleanProperty(False)
    scale = NumericProperty(1.0)
    role = StringProperty("citizen")
    busy = BooleanProperty(False)
    busy_text = StringProperty("")
    status_line = StringProperty("")
    notice = StringProperty("")  # a short message shown over any screen
    idle_countdown = NumericProperty(0)
    pending_tasks = NumericProperty(0)

    def __init__(self, cfg, terminal, fonts=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.voice: VoicePrompter | None = None  # made in on_start: elder mode's spoken prompts
        self.cfg = cfg
        self.terminal = terminal
        self.fonts = fonts
        self.session = CitizenSession()
        self.catalog: list[dict] = []
        self.last_result = None
        self.role = cfg.kiosk.role
        self.language = cfg.kiosk.language
        self.tr = Translator(self.language)
        self.elder_mode = cfg.kiosk.elder_mode
        self._idle_event = None
        self._countdown_event = None
        self.title = "政务服务自助终端"

    # -- building ----------------------------------------------------------------------------
    def build(self):
        if self.fonts is not None:
            # Every default label and text input now draws with the Simplified Chinese faces.
            LabelBase.register(DEFAULT_FONT, fn_regular=str(self.fonts.regular), fn_bold=str(self.fonts.bold))
        Window.clearcolor = theme.BACKGROUND
        load_kv("widgets")
        importlib.import_module("screens.widgets")
        self.sm = ScreenManager(transition=NoTransition())
        for name in SCREENS:
            module = importlib.import_module(f"screens.{name}")
            self.sm.add_widget(module.SCREEN_CLASS(name=name))
        load_kv("root")
        root = Builder.load_string("KioskRoot:")
        root.ids.frame.add_widget(self.sm)
        return root

    def on_elder_mode(self, *_):
        self.scale = theme.ELDER_SCALE if self.elder_mode else 1.0
        self.speak_screen()

    def on_language(self, *_):
        self.tr = Translator(self.language)
        self.speak_screen()

    def on_start(self):
        self.on_elder_mode()
        self.voice = VoicePrompter(Path(self.cfg.kiosk.data_dir) / "voice", KivySoundPlayer())
        ExceptionManager.add_handler(_KeepRunning(self))
        if self.cfg.display.fullscreen:
            Window.bind(on_request_close=lambda *a, **k: True)  # no Alt-F4 on a kiosk
        Window.bind(on_touch_down=self._on_any_touch, on_key_down=self._on_any_key)
        self.terminal.add_card_listener(lambda event: Clock.schedule_once(lambda dt: self._on_card_event(event), 0))
        try:
            self.terminal.start()
        except Exception as exc:  # a missing reader must not stop the kiosk: the screen says so
            log.error("device start failed: %s", exc)
        self._refresh_status()
        Clock.schedule_interval(lambda dt: self._refresh_status(), 1.0)
        self.go("home")

    def on_stop(self):
        self.end_session(go_home=False)
        if self.voice is not None:
            self.voice.close()
        self.terminal.stop()

    # -- navigation and state ----------------------------------------------------------------
    @property
    def current(self) -> str:
        return self.sm.current

    def screen(self, name: str):
        return self.sm.get_screen(name)

    def go(self, name: str) -> None:
        self.notice = ""
        self.sm.current = name
        self._rearm_idle()
        self.speak_screen()

    def speak(self, text: str, personal: bool = False) -> None:
        """Say `text` (already translated) in elder mode; silence otherwise. Never blocks. `personal` prompts
        (an expiry date, a receipt number) are deleted when the session ends."""
        if self.voice is None:
            return
        if self.elder_mode and text:
            self.voice.say(text, self.language, personal)
        else:
            self.voice.stop()

    def speak_screen(self) -> None:
        """Say the current screen's main instruction (elder mode only)."""
        if self.voice is not None:
            screen = self.screen(self.current)
            self.speak(screen.spoken_prompt() if self.elder_mode else "", screen.prompt_is_personal)

    def toggle_language(self) -> None:
        self.language = "en" if self.language == "zh_CN" else "zh_CN"

    def toggle_elder_mode(self) -> None:
        self.elder_mode = not self.elder_mode

    def start_session(self) -> None:
        self.end_session(go_home=False)
        self.session = CitizenSession()
        self.go("id_login")

    def end_session(self, go_home: bool = True) -> None:
        """Wipe the citizen's data everywhere it was shown or kept."""
        self.session.wipe()
        if self.voice is not None:
            self.voice.forget_session()
        self.session = CitizenSession()
        self.last_result = None
        for name in SCREENS:
            self.screen(name).reset()
        try:
            self.terminal.release_camera()
        except Exception:
            log.exception("camera release failed")
        if go_home:
            self.go("home")

    def recover(self) -> None:
        self.busy = False
        self.end_session()
        self.notice = self.tr._("The system is busy. Please start again.")

    def _refresh_status(self) -> None:
        reader = self.terminal.card_reader_status
        label = {
            "online": self.tr._("Card reader ready"),
            "no_device": self.tr._("Card reader not connected"),
        }.get(reader, self.tr._("Card reader not responding"))
        self.status_line = label

    # -- devices -----------------------------------------------------------------------------
    def _on_card_event(self, event) -> None:
        kind = getattr(event, "kind", None)
        if kind == "placed" and self.current == "id_login":
            self.screen("id_login").card_placed(event.card)
        elif kind == "removed" and self.current == "done":
            self.end_session()
        elif kind in ("status", "error"):
            self._refresh_status()

    # -- background work ---------------------------------------------------------------------
    def run_bg(self, work: Callable[[], Any], on_done: Callable[[Any], None], on_error: Callable[[Exception], None],
               busy_text: str = "") -> None:
        """Run `work` off the UI thread; its result comes back on the UI thread."""
        self.pending_tasks += 1
        self.busy = True
        self.busy_text = busy_text

        def finish(result, error):
            self.pending_tasks -= 1
            self.busy = self.pending_tasks > 0
            if error is None:
                on_done(result)
            else:
                on_error(error)

        def runner():
            try:
                result = work()
            except Exception as exc:  # handed to the screen, which shows a translated message
                log.warning("background task failed: %s", exc, exc_info=not hasattr(exc, "message_id"))
                Clock.schedule_once(lambda dt, e=exc: finish(None, e), 0)
            else:
                Clock.schedule_once(lambda dt: finish(result, None), 0)

        threading.Thread(target=runner, name="kiosk-bg", daemon=True).start()

    # -- idle timeout ------------------------------------------------------------------------
    def _on_any_touch(self, *_):
        self._rearm_idle()

    def _on_any_key(self, *_):
        self._rearm_idle()

    def _rearm_idle(self) -> None:
        if self._idle_event is not None:
            self._idle_event.cancel()
        if self._countdown_event is not None:
            self._countdown_event.cancel()
            self._countdown_event = None
        self.idle_countdown = 0
        self._idle_event = Clock.schedule_once(self._idle_warning, self.cfg.kiosk.idle_timeout_s)

    def _idle_warning(self, *_):
        if self.current == "home" or self.busy:
            self._rearm_idle()
            return
        self.idle_countdown = int(self.cfg.kiosk.idle_warning_s)
        self._countdown_event = Clock.schedule_interval(self._idle_tick, 1.0)

    def _idle_tick(self, *_):
        self.idle_countdown -= 1
        if self.idle_countdown <= 0:
            self._countdown_event.cancel()
            self._countdown_event = None
            log.info("idle timeout: session wiped")
            self.end_session()
            return False
        return True

    def keep_going(self) -> None:
        self._rearm_idle()
