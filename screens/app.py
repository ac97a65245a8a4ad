"""The kiosk App: state and navigation only. Each screen talks to the `Terminal` service object."""
from __future__ import annotations

import importlib
import itertools
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

from kivy.app import App
from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition

from kiosk import memory
from kiosk.i18n import N_, gettext
from kiosk.session import CitizenSession
from kiosk.voice import VoicePrompter
from screens import theme
from screens.base import after_next_frame, forget_typed_text, load_kv
from screens.lazy_screens import LazyScreenManager
from screens.text_surfaces import release_text_surfaces
from screens.voice_player import KivySoundPlayer

log = logging.getLogger(__name__)

# The citizen journey, in order. Each name is a module `screens/<name>.py` with its `<name>.kv`.
SCREENS = ("home", "id_login", "service_list", "guide", "form", "scan", "confirm", "receipt", "done", "out_of_service")
# Finding items, 一件事, 代办, progress, 好差评 and 办不成事 (each a screen module like the above).
SCREENS += ("item_detail", "search", "bundle_questions", "bundle_summary", "proxy_intro", "proxy_mode", "proxy_consent",
            "proxy_signature", "proxy_receipt", "query", "query_result", "evaluation", "evaluation_reason", "cannot_do")

# Screens where the session belongs to the card that opened it and nothing is filed yet: taking the card away
# here asks for it back (with a countdown), then ends the session with nothing kept.
BEFORE_SUBMISSION = ("service_list", "guide", "form", "scan", "confirm")

CARD_GONE_MESSAGE = N_("Your ID card was taken away, so this session has ended and nothing was kept.")
NEW_CARD_MESSAGE = N_("Another ID card was placed: the previous session has ended and nothing of it was kept.")
CANCEL_AFTER_S = 1.0  # a wait longer than this shows its progress and a Cancel button


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
    counter = ObjectProperty(None, allownone=True)  # the counter role's desk (screens.counter), else None
    busy_elapsed = NumericProperty(0)  # seconds the current wait has lasted (shown after CANCEL_AFTER_S)
    busy_cancel_text = StringProperty("")  # the Cancel button of the current wait ("" = it cannot be cancelled)
    card_return_countdown = NumericProperty(0)  # > 0 while the citizen is asked to put the card back
    portrait = BooleanProperty(False)
    volume = NumericProperty(1.0)
    device_problems = ListProperty([])  # codes from kiosk.terminal.DeviceStatus.problems
    staff_alarm = StringProperty("")  # shown on screen for staff (a hub refusing our token)

    def __init__(self, cfg, terminal, fonts=None, **kwargs) -> None:
        super().__init__(**kwargs)
        memory.limit_heap()  # camera frames and pages freed on workers must not pin hundreds of MB (kiosk.memory)
        self.voice: VoicePrompter | None = None  # made in on_start: elder mode's spoken prompts
        self.last_spoken = ""  # what was last handed to the voice (tests read it)
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
        self.portrait = getattr(cfg.display, "orientation", "landscape") == "portrait"
        self._idle_event = None
        self._countdown_event = None
        self._card_return_event = None
        self._busy_event = None
        self._repeating: list = []  # clock events cancelled when the app stops
        self._stopped = False
        self._tasks: dict[int, dict] = {}
        self._task_ids = itertools.count(1)
        self._card_seen_at = 0.0  # monotonic time of the last card read
        self._session_ended_at = 0.0
        self.title = "政务服务自助终端"

    # -- building ----------------------------------------------------------------------------
    def build(self):
        release_text_surfaces()  # no second copy of every label's pixels (screens.text_surfaces)
        if self.fonts is not None:
            # Every default label and text input now draws with the Simplified Chinese faces.
            LabelBase.register(DEFAULT_FONT, fn_regular=str(self.fonts.regular), fn_bold=str(self.fonts.bold))
        Window.clearcolor = theme.BACKGROUND
        load_kv("widgets")
        importlib.import_module("screens.widgets")
        importlib.import_module("screens.device_banner")  # used by home.kv
        self.sm = LazyScreenManager(transition=NoTransition())
        for name in SCREENS:  # each screen is built when first shown (home now), the rest while home idles;
            self.sm.add_lazy_module(name, f"screens.{name}")  # its module and .kv are loaded then, not at start
        self.sm.build("home")
        load_kv("root")
        root = Builder.load_string("KioskRoot:")
        root.ids.frame.add_widget(self.sm)
        if self.role == "counter":
            from screens.counter import install

            install(self, root)  # the clerk's screens, bar and training watermark
        return root

    def on_elder_mode(self, *_):
        self.scale = theme.ELDER_SCALE if self.elder_mode else 1.0
        self.speak_screen()

    def on_language(self, *_):
        self.tr = Translator(self.language)
        if getattr(self, "session", None) is not None:
            self.session.language = self.language
        self.speak_screen()

    def on_start(self):
        self.on_elder_mode()
        self.voice = VoicePrompter(Path(self.cfg.kiosk.data_dir) / "voice", KivySoundPlayer())
        ExceptionManager.add_handler(_KeepRunning(self))
        if self.cfg.display.fullscreen:
            Window.bind(on_request_close=lambda *a, **k: True)  # no Alt-F4 on a kiosk
        Window.bind(on_touch_down=self._on_any_touch, on_key_down=self._on_any_key)
        from kivy.graphics.opengl import glFinish

        # With software GL the swap returns before the frame is rasterised; the work left over then blocks the next
        # texture upload (a label's text, a preview frame) in the middle of the next screen change. Each frame is
        # finished where it ends instead.
        Window.bind(on_flip=lambda *_: glFinish())
        self.terminal.add_card_listener(lambda event: self._on_clock(self._on_card_event, event))
        self.terminal.status_listeners.append(lambda st: self._on_clock(self._on_device_status, st))
        # Home is drawn first; the devices, the outbox (its HTTP client import alone is ~0.3 s) and the installer's
        # screens start on the next clock tick after that first frame.
        after_next_frame(self._start_devices)
        self._refresh_status()
        self._repeating.append(Clock.schedule_interval(lambda dt: self._refresh_status(), 1.0))
        importlib.import_module("kiosk.watchdog").feed_from_clock(Clock)  # systemd restarts a frozen UI
        self.go("home")
        memory.freeze()  # what start-up made lives as long as the app: kept out of later collections (kiosk.memory)
        self.sm.prebuild()
        # The outbox keeps uploading pages after the citizen has gone: hand the freed heap back while home idles.
        self._repeating.append(Clock.schedule_interval(lambda dt: self.current == "home" and memory.trim(), 20))

    def _on_clock(self, handler, *args) -> None:
        """Run a device thread's news on the UI thread, unless the app has stopped by then."""
        Clock.schedule_once(lambda dt: None if self._stopped else handler(*args), 0)

    def _start_devices(self) -> None:
        try:
            self.terminal.start()
        except Exception as exc:  # a missing reader must not stop the kiosk: the screen says so
            log.error("device start failed: %s", exc)
        self._refresh_status()
        importlib.import_module("screens.installer").install(self)  # PIN pad behind a hidden gesture on home

    def on_stop(self):
        # The clock can run on after the app stops (tests, a closing window): what the app repeats or was told by
        # a device thread must not run then, since the screens' rules need a running app.
        self._stopped = True
        for event in self._repeating:
            event.cancel()
        self.sm.cancel_prebuild()
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
        if name == "home" and self.counter is not None:
            name = self.counter.home_screen()  # the clerk's desk, or the clerk's sign-in
        self.notice = ""
        self.sm.current = name
        self._rearm_idle()
        self.speak_screen()

    def speak(self, text: str, personal: bool = False, always: bool = False) -> None:
        """Say `text` (already translated) in elder mode; silence otherwise. Never blocks. `personal` prompts
        (an expiry date, a receipt number) are deleted when the session ends. `always`: said in every mode
        (a refusal the citizen must hear, such as 未检测到材料)."""
        self.last_spoken = text if (self.elder_mode or always) else ""
        if self.voice is None:
            return
        if (self.elder_mode or always) and text:
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

    def reset_preferences(self) -> None:
        """Language, elder mode and volume back to the kiosk's own settings: the next citizen starts fresh."""
        self.language = self.cfg.kiosk.language
        self.elder_mode = self.cfg.kiosk.elder_mode
        self.volume = 1.0
        try:
            from screens.voice_controls import VOLUME_STATE

            VOLUME_STATE.step = 0
        except ImportError:
            pass
        player = getattr(self.voice, "player", None)
        if player is not None and hasattr(player, "volume"):
            player.volume = self.volume

    def start_session(self) -> None:
        """刷身份证办理业务: a fresh session (keeping the language and elder mode just chosen on home)."""
        self.wipe_data(ended=False)
        if self.terminal.device_status.blocking:
            self.go("out_of_service")
            return
        self.go("id_login")

    def end_session(self, go_home: bool = True) -> None:
        """Wipe the citizen's data everywhere it was shown or kept, and their language, elder mode and volume."""
        self.wipe_data()
        self.reset_preferences()
        if go_home:
            self.go("home")
            after_next_frame(memory.collect)  # the citizen has gone: the session's garbage now, not in the next one's

    def wipe_data(self, ended: bool = True) -> None:
        """Forget the citizen's data. `ended`: a session really ended here (a card read before it belongs to it)."""
        self._stop_card_return()
        self.cancel_busy(notify=False)
        self.session.wipe()
        if self.voice is not None:
            self.voice.forget_session()
        self.session = CitizenSession(language=self.language)
        self.last_result = None
        if ended:
            self._session_ended_at = time.monotonic()
        for name in SCREENS:
            if self.sm.is_built(name):  # a screen not built yet shows nothing to forget
                self.screen(name).reset()
        forget_typed_text()  # the textures of the lines typed, kept by Kivy beyond the screens' own reset
        after_next_frame(forget_typed_text)  # and what a field dropped with a redraw due draws again in that frame
        memory.trim()  # the session's pages and pictures go back to the system, not into a fragmented heap
        try:
            self.terminal.release_camera()
            self.terminal.release_fonts()  # 19 MB of font collection mapped by the receipt's text (kiosk.terminal)
        except Exception:
            log.exception("camera or font release failed")

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
        refused = self.terminal.hub_token_refused
        self.staff_alarm = self.tr._(
            "STAFF: the hub refuses this kiosk's token. Applications wait on this kiosk (待上传) until hub.token is fixed."
        ) if refused else ""

    def _on_device_status(self, status) -> None:
        self.device_problems = list(status.problems)
        self._refresh_status()
        if self.current == "out_of_service":
            if status.blocking:
                self.screen("out_of_service").refresh()
            else:
                self.end_session()  # the devices are back

    # -- devices -----------------------------------------------------------------------------
    def _on_card_event(self, event) -> None:
        if self.counter is not None and self.counter.on_card(event):
            return
        kind = getattr(event, "kind", None)
        if kind == "placed":
            self._card_seen_at = time.monotonic()
            card = event.card
            data = card.to_dict() if hasattr(card, "to_dict") else dict(card)
            if self.current == "id_login":
                self.screen("id_login").card_placed(card)
            elif self.current == "done" or (self.current in ("receipt",) and not self.session.same_holder(data)):
                self._new_citizen(card)
            elif self.session.card is not None and self.current in BEFORE_SUBMISSION:
                if self.session.same_holder(data):
                    self._card_returned()
                else:
                    log.info("a different card was placed mid-journey: the session ends")
                    self._new_citizen(card)
        elif kind == "removed":
            if self.current == "done":
                self.end_session()
            elif self.current == "receipt":
                self.go("done")
            elif self.session.card is not None and self.current in BEFORE_SUBMISSION:
                self._card_taken_away()
        elif kind == "error" and self.current == "id_login":
            self.screen("id_login").card_unreadable(getattr(event, "error", None))
            self._refresh_status()
        elif kind in ("status", "error"):
            self._refresh_status()
            if self.current == "id_login":
                self.screen("id_login").reader_changed()

    def card_on_reader(self):
        """The card lying on the reader when a journey starts, if the reader can vouch that it is there now:
        a continuous module knows; a single-read module only for a card read since the last session ended."""
        card = self.terminal.current_card
        if card is None:
            return None
        if self.terminal.card_module == "continuous" or self._card_seen_at > self._session_ended_at:
            return card
        return False  # a card read in an earlier session: it must be lifted and placed again

    def _new_citizen(self, card) -> None:
        self.end_session(go_home=False)
        self.go("id_login")
        self.screen("id_login").card_placed(card)
        self.notice = self.tr._(NEW_CARD_MESSAGE)
        self.speak(self.notice)

    def _card_taken_away(self) -> None:
        if self._card_return_event is not None:
            return
        self.card_return_countdown = max(1, int(self.cfg.kiosk.card_return_s))
        self._card_return_event = Clock.schedule_interval(self._card_return_tick, 1.0)
        self.speak(self.tr._("Please put your ID card back on the reader."))

    def _card_return_tick(self, *_):
        self.card_return_countdown -= 1
        if self.card_return_countdown <= 0:
            self._stop_card_return()
            log.info("the card was not put back: session wiped")
            self.end_session()
            self.notice = self.tr._(CARD_GONE_MESSAGE)
            self.speak(self.notice)
            return False
        return True

    def _card_returned(self) -> None:
        self._stop_card_return()
        self._rearm_idle()

    def _stop_card_return(self) -> None:
        if self._card_return_event is not None:
            self._card_return_event.cancel()
            self._card_return_event = None
        self.card_return_countdown = 0

    def quit_journey(self) -> None:
        """结束办理: end the session now, keeping nothing."""
        self.end_session()

    # -- background work ---------------------------------------------------------------------
    def run_bg(self, work: Callable[[], Any], on_done: Callable[[Any], None], on_error: Callable[[Exception], None],
               busy_text: str = "", on_cancel: Callable[[], None] | None = None, cancel_text: str = "",
               cancel_keeps_task: bool = False) -> None:
        """Run `work` off the UI thread; its result comes back on the UI thread.

        With `on_cancel`, a wait longer than a second shows its progress and a Cancel button (`cancel_text`):
        pressing it calls `on_cancel` and drops the task's result when it comes (with `cancel_keeps_task`, the task
        goes on and its result still arrives: `on_cancel` tells it to stop waiting for something)."""
        if on_cancel is None:
            on_cancel = self._stopped_waiting
        task_id = next(self._task_ids)
        self._tasks[task_id] = {"on_cancel": on_cancel, "cancel_text": cancel_text, "started": time.monotonic(),
                                "keep": cancel_keeps_task}
        self.pending_tasks += 1
        self.busy = True
        self.busy_text = busy_text
        self._show_busy_controls()

        def finish(result, error):
            if self._tasks.pop(task_id, None) is None:
                return  # cancelled: the citizen has moved on
            self.pending_tasks -= 1
            self.busy = self.pending_tasks > 0
            self._show_busy_controls()
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

    def _stopped_waiting(self) -> None:
        self.notice = self.tr._("Stopped waiting. You can try again, go back, or end the session.")

    def _show_busy_controls(self) -> None:
        cancellable = [t for t in self._tasks.values() if t["on_cancel"] is not None]
        self.busy_cancel_text = (cancellable[-1]["cancel_text"] or self.tr._("Cancel")) if cancellable else ""
        if self._tasks and self._busy_event is None:
            self.busy_elapsed = 0
            self._busy_event = Clock.schedule_interval(self._busy_tick, 0.25)
        elif not self._tasks and self._busy_event is not None:
            self._busy_event.cancel()
            self._busy_event = None
            self.busy_elapsed = 0

    def _busy_tick(self, *_):
        if not self._tasks:
            return
        self.busy_elapsed = time.monotonic() - min(t["started"] for t in self._tasks.values())

    def cancel_busy(self, notify: bool = True) -> None:
        """The Cancel button of a wait: forget the cancellable tasks; their screens say what happens next."""
        for task_id, task in list(self._tasks.items()):
            callback = task["on_cancel"]
            if notify and callback is None:
                continue
            if notify and task["keep"]:
                task["on_cancel"] = None  # the work goes on, without waiting any longer
            else:
                self._tasks.pop(task_id)
                self.pending_tasks -= 1
            if notify:
                callback()
        self.busy = self.pending_tasks > 0
        self._show_busy_controls()

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
        if self.counter is not None and self.counter.idle_exempt(self.current):
            self._rearm_idle()  # the clerk's own screens end with the shift timeout instead
            return
        if self.current in ("home", "out_of_service") or self.busy:
            # Nobody is here: a language or elder mode chosen and left behind must not greet the next citizen.
            self.reset_preferences()
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
