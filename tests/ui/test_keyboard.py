"""The on-screen Chinese keyboard, offscreen with the project's Simplified Chinese font: tap a field, type pinyin
key by key with synthetic touches, tap candidates, and look at the screenshots (saved under KIOSK_UI_SHOTS).

Kivy has one window per process: the test runs this file as a script (`python tests/ui/test_keyboard.py OUT
DATA [--elder]`), which prints one RESULT line of JSON.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.ui


def _run(tmp_path, *flags) -> dict:
    out = Path(os.environ.get("KIOSK_UI_SHOTS", tmp_path / "shots"))
    proc = subprocess.run([sys.executable, __file__, str(out), str(tmp_path / "data"), *flags],
                          capture_output=True, text=True, timeout=540, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (proc.stdout[-2000:], proc.stderr[-6000:])
    return json.loads(lines[-1][7:])


@pytest.mark.timeout(600)
def test_typing_pinyin_and_initials_fills_the_field(tmp_path):
    r = _run(tmp_path)
    assert r["after_xian"] == "西安"
    assert r["after_ylbx"] == "西安养老保险"
    assert r["candidates_fit"]  # wide enough for their text at full size, inside the bar
    assert r["sentence"] == "我要办理居住证"
    assert r["partial_choice"] == ["", "中guo"]  # choosing 中 leaves the second syllable to spell
    assert r["after_punct"].endswith("，3号")
    assert r["max_len_refused"] and r["max_len_text_len"] == 9  # 西安，3号养老保险; a second 养老保险 would make 13
    assert r["max_len_spoken"]  # handed to the app's voice (heard in elder mode)
    assert r["moved_to_ident"] == [True, "numeric", False]
    assert r["digits_field"] == "61010319900101123X"
    assert r["keyboard_closed_on_done"] and r["closed_on_screen_change"]
    assert r["letters_only"] == ["ab", True, False]
    assert r["english"] == "Xi'an"
    assert r["closed_on_idle_alert"] == [True, "Xi'an居住证"]
    assert r["done_label"] == "完成"
    # Chinese drawn with the registered font: the candidate bar and the field have real glyphs, not tofu boxes.
    assert r["glyphs_differ_from_tofu"]
    assert r["key_height_dp"] >= 60
    for shot in r["shots"]:
        assert Path(shot).stat().st_size > 10_000


@pytest.mark.timeout(600)
def test_elder_mode_english_portrait(tmp_path):
    r = _run(tmp_path, "--elder", "--english", "--portrait")
    assert r["key_height_dp"] >= 80  # 60 dp × the elder scale
    assert r["after_ylbx"] == "西安养老保险"
    assert r["candidates_fit"]
    assert r["done_label"] == "Done"
    assert r["closed_on_idle_alert"] == [True, "Xi'an居住证"]
    assert r["keys_inside_window"]


# ------------------------------------------------------------------------------------------------
def _scenario(out: Path, data_dir: Path, elder: bool, english: bool, portrait: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    from kiosk.fonts import ensure_screen_fonts
    from screens.kivy_setup import configure

    fonts = ensure_screen_fonts(data_dir)
    width, height = (1080, 1920) if portrait else (1280, 800)
    configure(fullscreen=False, width=width, height=height, headless=True)

    from kivy.app import App
    from kivy.core.text import DEFAULT_FONT, LabelBase
    from kivy.core.window import Window
    from kivy.lang import Builder
    from kivy.metrics import dp
    from kivy.properties import NumericProperty, ObjectProperty
    from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager

    from screens import theme
    from screens.app import Translator
    from screens.driver import AppDriver

    class KeyboardApp(App):
        tr = ObjectProperty(Translator("en" if english else "zh_CN"))
        scale = NumericProperty(theme.ELDER_SCALE if elder else 1.0)
        idle_countdown = NumericProperty(0)
        spoken: list = []
        notice = ""

        @property
        def current(self):  # what AppDriver reports when a wait times out
            return self.sm.current

        def speak(self, text, personal=False):  # KioskApp.speak: voiced in elder mode only
            self.spoken.append(text)

        def build(self):
            LabelBase.register(DEFAULT_FONT, fn_regular=str(fonts.regular), fn_bold=str(fonts.bold))
            Window.clearcolor = theme.BACKGROUND
            from screens import keyboard  # noqa: F401  (registers ChineseTextField for kv)

            self.sm = ScreenManager(transition=NoTransition())
            form = Builder.load_string(FORM_KV)
            screen = Screen(name="form")
            screen.add_widget(form)
            self.sm.add_widget(screen)
            self.sm.add_widget(Screen(name="home"))
            self.form = form
            return self.sm

    app = KeyboardApp()
    d = AppDriver(app)
    d.start()
    shots = []
    r: dict = {}
    try:
        from screens import keyboard as kb

        def shot(name):
            d.frames(3)
            variant = "".join(f"-{v}" for v, on in (("elder", elder), ("en", english), ("portrait", portrait)) if on)
            path = out / f"keyboard{variant}-{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            made = Window.screenshot(name=str(path.with_suffix("")) + ".png")
            Path(made).replace(path)
            shots.append(str(path))

        def key(k):
            panel = kb.current_panel()
            for w in panel.walk():
                if isinstance(w, kb.KeyButton) and w.key == k and w.kind != "candidate":
                    d.tap(w)
                    return
            raise AssertionError(f"no key {k!r} on page {panel.page}")

        def type_letters(letters):
            for ch in letters:
                key(ch)

        def tap_candidate(text):
            panel = kb.current_panel()
            for _ in range(20):
                for w in panel.ids.cands.children:
                    if w.text == text:
                        d.tap(w)
                        return
                assert panel.can_next, f"{text} not among the candidates {panel.candidates}"
                d.tap(panel.ids.key_next)
            raise AssertionError(text)

        address = app.form.ids.address
        d.tap(address)
        d.wait(lambda: kb.current_panel() is not None, 10, "keyboard open")
        panel = kb.current_panel()
        r["keys_inside_window"] = all(
            w.x >= 0 and w.right <= Window.width and w.y >= 0 and w.top <= Window.height
            for w in panel.walk() if isinstance(w, kb.KeyButton) and w.opacity > 0)
        r["key_height_dp"] = round(next(w for w in panel.walk() if isinstance(w, kb.KeyButton) and w.key == "q").height / dp(1))
        type_letters("xian")
        shot("xian")
        r["first_page_xian"] = panel.candidates
        tap_candidate("西安")
        r["after_xian"] = address.text
        type_letters("ylbx")
        shot("ylbx")
        r["candidates_fit"] = all(
            c.right <= panel.ids.cands.right + 1 and c.width >= dp(60) * app.scale
            and c.width >= len(c.text) * c.font_size for c in panel.ids.cands.children)
        tap_candidate("养老保险")
        r["after_ylbx"] = address.text

        # A whole sentence, and a word chosen for the first syllable only.
        key("clear"); key("clear")
        type_letters("woyaobanlijuzhuzheng")
        r["sentence_offer"] = panel.candidates[0]
        tap_candidate(panel.candidates[0])
        r["sentence"] = address.text
        key("clear")
        type_letters("zhongguo")
        tap_candidate("中")
        r["partial_choice"] = (address.text, panel.preedit)
        shot("partial")
        key("clear")  # drops the spelling, keeps the field
        key("clear")  # then empties the field

        # Punctuation converts the spelling first; digits and address words from the digits page.
        type_letters("xian")
        key(",")
        key("page:digits")
        key("3")
        key("号")
        r["after_punct"] = address.text
        shot("digits")
        key("page:symbols")
        shot("symbols")
        key("page:letters")

        # max_len (12 in the kv below): a word that does not fit is refused with words, the spelling kept.
        type_letters("ylbx")
        tap_candidate("养老保险")
        type_letters("ylbx")
        before = address.text
        tap_candidate("养老保险")
        r["max_len_refused"] = address.text == before and bool(panel.message) and panel.preedit != ""
        r["max_len_text_len"] = len(address.text)
        r["max_len_spoken"] = app.spoken[-1:] == [panel.message]
        shot("max_len")
        key("clear")

        # English letters with caps.
        key("clear")
        key("lang")
        key("caps"); key("x"); key("caps")
        type_letters("i")
        r["english_partial"] = address.text
        key("page:symbols")
        key("'")
        key("page:letters")
        type_letters("an")
        r["english"] = address.text
        key("lang")

        # The app's "continue?" countdown closes the keyboard; what was spelled lands in the field.
        type_letters("jzz")
        app.idle_countdown = 10
        d.frames(2)
        r["closed_on_idle_alert"] = (kb.current_panel() is None, address.text)
        app.idle_countdown = 0
        d.tap(address)
        d.wait(lambda: kb.current_panel() is not None, 10, "keyboard open again")
        r["done_label"] = next(w.text for w in kb.current_panel().walk() if getattr(w, "key", "") == "done")
        key("done")
        r["keyboard_closed_on_done"] = kb.current_panel() is None and not address.keyboard_open

        # Time from a key to its candidates on screen (reported, not asserted): press, then one drawn frame.
        import time

        d.tap(address)
        d.wait(lambda: kb.current_panel() is not None, 10, "keyboard open for timing")
        key("clear"); key("clear")
        press_ms, frame_ms = [], []
        for spelling in ("shanxishengxianshiyantaqu", "ylbxjzzhkbgjj", "woyaobanlijuzhuzheng"):
            for ch in spelling:
                t = time.perf_counter()
                panel.press(ch)
                press_ms.append((time.perf_counter() - t) * 1000)
                d.frames(1)
                frame_ms.append((time.perf_counter() - t) * 1000)
            key("clear")
        idle_ms = []
        for _ in range(20):  # a frame with nothing changed: what the renderer costs by itself
            t = time.perf_counter()
            d.frames(1)
            idle_ms.append((time.perf_counter() - t) * 1000)
        idle_ms.sort()
        r["idle_frame_ms_p50"] = round(idle_ms[len(idle_ms) // 2], 1)
        press_ms.sort(); frame_ms.sort()
        r["press_ms_p95"] = round(press_ms[int(len(press_ms) * 0.95)], 1)
        r["press_ms_max"] = round(press_ms[-1], 1)
        r["press_and_frame_ms_p95"] = round(frame_ms[int(len(frame_ms) * 0.95)], 1)

        # A damaged lexicon: the keyboard still types letters and says that Chinese is unavailable.
        from kiosk.ime.engine import LettersOnlyEngine

        key("done")
        real_engine, kb._engine = kb._engine, LettersOnlyEngine()
        try:
            d.tap(address)
            d.wait(lambda: kb.current_panel() is not None, 10, "keyboard open without lexicon")
            before = address.text
            type_letters("ab")
            key("lang")
            r["letters_only"] = (address.text[len(before):], kb.current_panel().message != "",
                                 kb.current_panel().chinese)
            key("done")
        finally:
            kb._engine = real_engine

        # Tapping another field while typing converts the spelling and moves the keyboard there; a digits field
        # gets the numeric pad, its extra key and nothing else.
        ident = app.form.ids.ident
        d.tap(address)
        d.wait(lambda: kb.current_panel() is not None, 10, "keyboard open again")
        type_letters("xian")
        d.tap(ident)
        d.wait(lambda: kb.current_panel() is not None and kb.current_panel().field == ident, 10, "numeric pad open")  # ids are proxies
        r["moved_to_ident"] = (address.text.endswith("西安"), kb.current_panel().page, address.keyboard_open)
        for ch in "61010319900101123":
            key(ch)
        key("X")
        shot("numeric")
        r["digits_field"] = ident.text
        # The screen changing (the idle timeout going home, say) closes the keyboard.
        app.sm.current = "home"
        d.frames(3)
        r["closed_on_screen_change"] = kb.current_panel() is None

        # Tofu check: the same Chinese text drawn with the default font differs from Roboto's missing-glyph boxes.
        import kivy
        from kivy.core.text import Label as CoreLabel

        def digest(font):
            lab = CoreLabel(text="西安养老", font_size=40, font_name=font)
            lab.refresh()
            return bytes(lab.texture.pixels)

        r["glyphs_differ_from_tofu"] = digest(str(fonts.regular)) != digest(os.path.join(kivy.kivy_data_dir, "fonts", "Roboto-Regular.ttf"))
        r["shots"] = shots
    finally:
        d.stop()
    return r


FORM_KV = """
#:import _keyboard screens.keyboard
BoxLayout:
    orientation: 'vertical'
    padding: dp(32)
    spacing: dp(12)
    Label:
        text: '邮寄地址'
        color: 0, 0, 0, 1
        font_size: sp(24) * app.scale
        size_hint_y: None
        height: dp(40)
    ChineseTextField:
        id: address
        label: '邮寄地址（最多 12 个字）'
        max_len: 12
    ChineseTextField:
        id: ident
        label: '身份证号码'
        mode: 'digits'
        digit_extras: 'X'
        max_len: 18
    Widget:
"""


if __name__ == "__main__":
    shots_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="kb-"))
    data = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="kb-data-"))
    result = _scenario(shots_dir, data, "--elder" in sys.argv, "--english" in sys.argv, "--portrait" in sys.argv)
    print("RESULT " + json.dumps(result, ensure_ascii=False))
