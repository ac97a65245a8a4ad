"""Scan the materials on the document camera (高拍仪): live preview with the detected page outline; each material
has the pages the catalog declares (the ID card: front, then back), every captured page is shown as a thumbnail
that can be looked at large, retaken or deleted, and pages can be added where the item allows.

Auto-capture fires only on a page that is new and confidently detected; an empty frame is refused with
未检测到材料 in words and voice; a blurred or glared page gets its advice before it is accepted."""
from __future__ import annotations

import logging
import threading
import time

from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.i18n import N_
from screens.base import KioskScreen, load_kv

log = logging.getLogger(__name__)

PREVIEW_INTERVAL_S = 0.1
PREVIEW_MIN_WIDTH = 320  # the preview is drawn at the size it is shown (never below this, never above the frame)
CAMERA_GRACE_S = 1.5  # the camera reports itself absent this long after opening: it is not there
CAMERA_SILENT_S = 6.0  # no picture at all for this long: it is not working

ADVICE = {
    "blurred": N_("The photo is blurred: hold the page still, keep it flat and wait a moment for the camera to focus."),
    "glare": N_("Light is reflected off the page: move it away from the light or tilt it slightly."),
}
LEFTOVER_PAGE = N_("A page is already lying under the camera; it may have been left by the previous user. Take it away and lay your own page there, or tap Take photo if it is yours.")
NO_MATERIAL = N_("No material detected (未检测到材料). Lay the page flat inside the frame on the dark mat, away from bright light.")


class ScanScreen(KioskScreen):
    voice_prompt = N_("Please lay each paper flat under the camera, then press Take photo.")
    material_name = StringProperty("")
    page_prompt = StringProperty("")
    progress = StringProperty("")
    problem = StringProperty("")
    all_done = BooleanProperty(False)
    index = NumericProperty(0)  # the material being captured
    retake = NumericProperty(-1)  # the page of that material being retaken (-1: the next page)
    thumbs = ListProperty([])  # thumbnail paths of the current material's pages
    overview = ListProperty([])  # [(index, label, done)] for every material
    can_add_page = BooleanProperty(False)
    adding = BooleanProperty(False)  # capturing a page beyond the declared count
    material_complete = BooleanProperty(False)
    pending = ObjectProperty(None, allownone=True)  # a captured page waiting for "use anyway" after advice
    viewing = NumericProperty(-1)  # page shown large (-1: none)
    view_source = StringProperty("")
    camera_ok = BooleanProperty(False)

    _preview_stop = None
    _trigger = None
    _leftover_said = False
    # One preview texture, reused for every frame and every session (re-made only when the shown size changes):
    # a texture per frame or per scan would be made, uploaded and freed by the software GL again and again.
    _texture = None
    _display_width = 640  # pixels the preview is drawn at (the widget's width), read by the preview thread

    def on_kv_post(self, base_widget):
        # One rebuild of the thumbnails and chips per frame, however many of the three lists changed together.
        rebuild = Clock.create_trigger(lambda dt: _rebuild_rows(self))
        for prop in ("thumbs", "overview", "index"):
            self.bind(**{prop: lambda *a: rebuild()})
        self._frame_lock = threading.Lock()
        self._latest = None  # (stop event, frame) waiting for the UI thread: only the newest one is drawn
        self.ids.preview.bind(width=self._preview_resized)

    def _preview_resized(self, widget, width) -> None:
        self._display_width = max(PREVIEW_MIN_WIDTH, int(width) // 4 * 4)

    def on_pre_enter(self, *args):
        self.problem = ""
        self.camera_ok = False
        self._select_first_missing()
        self.app.run_bg(self.app.terminal.camera, lambda cam: self._start_preview(), self._camera_failed,
                        busy_text=self._("Starting the document camera…"))

    def on_leave(self, *args):
        self._stop_preview()

    def reset(self) -> None:
        self._stop_preview()
        self.ids.preview.texture = None  # hidden until the next session's first frame is drawn into it
        with self._frame_lock:
            self._latest = None
        self.problem = ""
        self.index = 0
        self.retake = -1
        self.adding = False
        self.pending = None
        self.viewing = -1
        self.view_source = ""
        self.thumbs = []
        self.overview = []
        self.all_done = False
        self.camera_ok = False
        self._leftover_said = False
        if self._trigger is not None:
            self._trigger.new_session()  # what the previous citizen left under the camera is not this one's

    # -- what is shown -----------------------------------------------------------------------
    def _select_first_missing(self) -> None:
        materials = self.app.session.materials
        missing = [i for i, m in enumerate(materials) if not m.complete]
        self.index = missing[0] if missing else max(0, len(materials) - 1)
        self.retake = -1
        self.adding = False
        self._update()

    def _page_prompt(self, material, slot: int) -> str:
        if material.is_id_card and material.declared_pages == 2 and slot < 2:
            return self._("Front of the card (the side with the photo)") if slot == 0 else \
                self._("Back of the card (the side with the national emblem)")
        return self._("Page {n} of {total}").format(n=slot + 1, total=max(material.declared_pages, slot + 1))

    def _update(self) -> None:
        materials = self.app.session.materials
        lang = self.app.language
        current = materials[self.index] if materials else None
        self.all_done = not self.app.session.missing_materials()
        if current is None:
            self.material_name = self.page_prompt = ""
            return
        self.material_name = current.display_name(lang)
        self.material_complete = current.complete
        slot = self.retake if self.retake >= 0 else len(current.pages)
        if self.retake >= 0:
            self.page_prompt = self._("Retake: {page}").format(page=self._page_prompt(current, slot))
        elif not current.complete or self.adding:
            self.page_prompt = self._page_prompt(current, slot)
        else:
            self.page_prompt = self._("All pages taken. Tap a picture to look at it, retake or delete it.")
        self.can_add_page = current.can_add_page and self.retake < 0 and not self.adding
        self.thumbs = [str(self.app.terminal.thumbnail_of(p)) for p in current.pages]
        self.overview = [(i, f"{m.display_name(lang)}  {len(m.pages)}/{m.declared_pages}"
                          + ("" if m.required else self._(" (optional)")), m.complete)
                         for i, m in enumerate(materials)]
        done = sum(1 for m in materials if m.complete)
        self.progress = self._("{done} of {total} materials scanned").format(done=done, total=len(materials))

    def spoken_prompt(self) -> str:
        return f"{self._(self.voice_prompt)} {self.material_name} {self.page_prompt}".strip()

    def choose_material(self, index: int) -> None:
        if 0 <= index < len(self.app.session.materials):
            self.index = index
            self.retake = -1
            self.adding = False
            self.pending = None
            self.problem = ""
            self._forget_last_taken()
            self._update()

    def _wants_page(self) -> bool:
        materials = self.app.session.materials
        if not materials or self.pending is not None or self.viewing >= 0:
            return False
        m = materials[self.index]
        return self.retake >= 0 or self.adding or not m.complete

    # -- preview -----------------------------------------------------------------------------
    # Page detection on a preview frame takes 20-45 ms, more than a frame: it runs on a worker thread,
    # and only the texture upload happens on the UI thread.
    def _start_preview(self) -> None:
        self._stop_preview()
        stop = threading.Event()
        self._preview_stop = stop
        if self._trigger is None:
            from devices.scanner.autocapture import StillnessTrigger

            self._trigger = StillnessTrigger()
        threading.Thread(target=self._preview_loop, args=(stop, self._trigger), name="scan-preview", daemon=True).start()

    def _stop_preview(self) -> None:
        stop = getattr(self, "_preview_stop", None)
        if stop is not None:
            stop.set()
            self._preview_stop = None

    def _preview_loop(self, stop: threading.Event, trigger) -> None:
        from devices.scanner.autocapture import draw_outline

        opened_at = time.monotonic()
        seen_frame = False
        frame = detection = None
        try:
            while not stop.is_set():
                try:
                    camera = self.app.terminal.camera()
                    frame, detection = camera.preview()
                except Exception as exc:
                    frame = detection = None
                    Clock.schedule_once(lambda dt, e=exc: self._camera_failed(e), 0)
                    return
                if frame is None:
                    waited = time.monotonic() - opened_at
                    status = getattr(camera.status, "value", "")
                    # Absent: said at once; silent: a first high-resolution frame may take a few seconds.
                    if not seen_frame and (waited > CAMERA_GRACE_S and status == "no_device" or waited > CAMERA_SILENT_S):
                        Clock.schedule_once(lambda dt, st=status: None if stop.is_set() else self._camera_failed(st), 0)
                        opened_at = time.monotonic() + 3600  # said once; keep looking in case it comes back
                else:
                    if not seen_frame or not self.camera_ok:  # first picture, or pictures again after a failure
                        seen_frame = True
                        Clock.schedule_once(lambda dt: None if stop.is_set() else self._camera_ready(), 0)
                    self._queue_frame(stop, _for_display(draw_outline(frame, detection), self._display_width))
                    # 拍照稳定后自动拍摄: a new page, confidently found, has stayed still for about half a second.
                    if self.app.cfg.devices.camera.auto_capture:
                        if trigger.update(frame, detection, time.monotonic()):
                            Clock.schedule_once(lambda dt, st=stop: None if st.is_set() else self._auto_capture(), 0)
                        elif trigger.leftover_in_view and not self._leftover_said:
                            self._leftover_said = True
                            Clock.schedule_once(lambda dt, st=stop: None if st.is_set() else self._leftover_hint(), 0)
                stop.wait(PREVIEW_INTERVAL_S)
        finally:
            trigger.stopped(frame, detection)  # the page left under the camera, kept for the next citizen's session

    def _camera_ready(self) -> None:
        self.camera_ok = True
        if self.problem == self._("The document camera is not available. Please ask the staff for help, or use a staffed service window."):
            self.problem = ""

    def _leftover_hint(self) -> None:
        """The page under the camera was left by the previous citizen: it is not taken by itself."""
        if self.problem or self.app.busy or not self._wants_page():
            return
        self.problem = self._(LEFTOVER_PAGE)
        self.app.speak(self.problem, always=True)  # heard by whoever stands there, in every mode

    def _auto_capture(self) -> None:
        if self.app.busy or not self._wants_page():
            return
        log.info("auto-capture: a new page is still")
        self.capture()

    def _queue_frame(self, stop: threading.Event, frame) -> None:
        """Hand a frame to the UI thread. When the UI thread is late, the frame waiting is replaced, not queued
        behind: a busy kiosk draws fewer frames instead of holding (and later drawing) every one."""
        with self._frame_lock:
            waiting = self._latest is not None
            self._latest = (stop, frame)
        if not waiting:
            Clock.schedule_once(self._show_latest, 0)

    def _show_latest(self, _dt=None) -> None:
        with self._frame_lock:
            latest, self._latest = self._latest, None
        if latest is not None and not latest[0].is_set():
            self._show_frame(latest[1])

    def _show_frame(self, frame) -> None:
        """Draw a frame made by `_for_display` (RGB, rows bottom-up, the size it is shown at)."""
        h, w = frame.shape[:2]
        texture = self._texture
        if texture is None or texture.size != (w, h):
            texture = self._texture = Texture.create(size=(w, h), colorfmt="rgb")
        texture.blit_buffer(memoryview(frame).cast("B"), colorfmt="rgb", bufferfmt="ubyte")
        preview = self.ids.preview
        if preview.texture is not texture:
            preview.texture = texture
        preview.canvas.ask_update()

    def _camera_failed(self, exc) -> None:
        log.warning("document camera unavailable: %s", exc)
        self.camera_ok = False
        self.problem = self._("The document camera is not available. Please ask the staff for help, or use a staffed service window.")
        self.app.speak(self.problem)

    # -- capture -----------------------------------------------------------------------------
    def capture(self) -> None:
        materials = self.app.session.materials
        if not materials or self.pending is not None:
            return
        material = materials[self.index]
        if not self._wants_page():
            self.problem = self._("This material is complete. Tap a picture to retake it, or choose another material.")
            return
        replace = self.retake if self.retake >= 0 else None
        self.problem = ""
        self.app.run_bg(lambda: self.app.terminal.capture_page(self.app.session, material, replace),
                        lambda page: self._captured(material, page, replace), self._capture_failed,
                        busy_text=self._("Scanning, hold still…"))

    def _captured(self, material, page, replace) -> None:
        if material not in self.app.session.materials:
            return  # the session ended meanwhile
        if self._trigger is not None:
            self._trigger.taken(page.signature)
        if page.warnings:
            self.pending = (material, page, replace)
            self.problem = " ".join(self._(ADVICE[w]) for w in page.warnings if w in ADVICE)
            self.app.speak(self.problem)
            return
        self._attach(material, page, replace)

    def _attach(self, material, page, replace) -> None:
        if replace is not None and replace < len(material.pages):
            material.pages[replace] = page
        else:
            material.pages.append(page)
        self.pending = None
        self.retake = -1
        self.adding = False
        if material.complete and not self.app.session.missing_materials():
            self._update()
            return
        if material.complete:
            self._select_first_missing()
        else:
            self._update()

    def use_anyway(self) -> None:
        if self.pending is not None:
            material, page, replace = self.pending
            self.problem = ""
            self._attach(material, page, replace)

    def retake_pending(self) -> None:
        """Refuse the advised photo: the same slot is captured again (the same page may be shot again)."""
        self.pending = None
        self.problem = ""
        self._forget_last_taken()
        self._update()

    def _forget_last_taken(self) -> None:
        if self._trigger is not None:
            self._trigger.forget_taken()

    def _capture_failed(self, exc) -> None:
        code = getattr(exc, "message_id", "")
        if code == "no_page_found":
            self.problem = self._(NO_MATERIAL)
            self.app.speak(self.problem, always=True)
        elif code == "same_page":
            self.problem = self._("This page has already been captured (as {name}). Please lay the next page under the camera.").format(
                name=getattr(exc, "detail", ""))
            self.app.speak(self.problem)
        else:
            self._camera_failed(exc)

    # -- pages: look, retake, delete, add ------------------------------------------------------
    def view_page(self, page_index: int) -> None:
        material = self.app.session.materials[self.index]
        if 0 <= page_index < len(material.pages):
            self.viewing = page_index
            self.view_source = str(material.pages[page_index].path)

    def close_view(self) -> None:
        self.viewing = -1
        self.view_source = ""

    def retake_page(self) -> None:
        if self.viewing >= 0:
            self.retake = self.viewing
            self.adding = False
            self.close_view()
            self._forget_last_taken()
            self._update()

    def delete_page(self) -> None:
        material = self.app.session.materials[self.index]
        if 0 <= self.viewing < len(material.pages):
            page = material.pages.pop(self.viewing)
            for path in (page.path, self.app.terminal.thumbnail_of(page)):
                try:
                    path.unlink()
                except OSError:
                    pass
            self.close_view()
            self.retake = -1
            self._forget_last_taken()
            self._update()

    def add_page(self) -> None:
        material = self.app.session.materials[self.index]
        if material.can_add_page:
            self.adding = True
            self.retake = -1
            self._update()

    def next(self) -> None:
        if self.app.session.missing_materials():
            self.problem = self._("Please scan every required material first.")
            return
        self.app.go("confirm")


def _for_display(frame, width: int):
    """The preview frame as the texture takes it, made on the preview thread: scaled down to the width it is shown
    at, RGB, rows bottom-up (GL's order), contiguous. The UI thread only uploads it."""
    import cv2

    h, w = frame.shape[:2]
    if w > width:
        frame = cv2.resize(frame, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(cv2.flip(frame, 0), cv2.COLOR_BGR2RGB)


def _rebuild_rows(screen, *_):
    """Thumbnails and material chips follow the lists (kv cannot repeat widgets by itself)."""
    from kivy.factory import Factory

    row = screen.ids.thumb_row
    row.clear_widgets()
    for i, source in enumerate(screen.thumbs):
        thumb = Factory.ThumbButton(source=source)
        thumb.page_index = i
        thumb.bind(on_release=lambda t: screen.view_page(t.page_index))
        row.add_widget(thumb)
    chips = screen.ids.material_chips
    chips.clear_widgets()
    for index, label, done in screen.overview:
        chip = Factory.MaterialChip(text=("√ " if done else "") + label,
                                    kind="primary" if index == screen.index else "secondary")
        chip.material_index = index
        chip.bind(on_release=lambda c: screen.choose_material(c.material_index))
        chips.add_widget(chip)


SCREEN_CLASS = ScanScreen
load_kv("scan")
