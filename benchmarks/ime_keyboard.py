"""On-screen keyboard engine benchmark: time from a key to its candidates, memory and load time of the lexicon.

Types realistic spellings letter by letter (addresses, organisation names, searches; full pinyin, initials, mixed,
sentences, and a 40-letter worst case), asking for the candidates and the composition display after every key
as the keyboard does, then chooses first candidates until the text is committed. The engine's answer cache is
emptied before each spelling, so no key is answered from an earlier run. `rss_mb` is this process's resident
memory with the engine loaded (Python itself included), `rss_engine_mb` the part the engine adds, `peak_rss_mb`
the high-water mark. `cpu_*` is the CPU time this process spent per key (the wall-clock figures also carry other
programs' load on a shared machine; `load_avg_1min` says how much). `--widget` also types the same spellings on the real keyboard widget, offscreen in a child
process (Kivy and the Simplified Chinese font loaded), timing each key from the press to the candidate bar updated
(`widget_*`) and to the next frame drawn (`frame_*`, llvmpipe software rendering here). Prints one JSON line.
--smoke: one round.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INPUTS = [
    # full pinyin: addresses and places
    "xian", "xi'an", "shanxishengxianshi", "yantaqu", "beilinqu", "changanqu", "weiyangqu", "xiaozhailu",
    "changanlu", "dongdajie", "zhuquedajie", "gaoxinlu", "kejilu", "fengchengyilu", "sanhaolou", "erdanyuan",
    # service vocabulary, full and initials
    "yanglaobaoxian", "ylbx", "shenfenzheng", "sfz", "juzhuzheng", "jzz", "hukoubu", "hkb", "gongjijin", "gjj",
    "budongchan", "bdc", "yingyezhizhao", "yyzz", "shebaoka", "sbk", "jiaofeidangci", "jfdc",
    # mixed and partial
    "zhongg", "yanglaob", "shenfenz", "juzhuz", "xianshiyant",
    # organisation names and sentences
    "xianshishichangjianduguanliju", "shaanxishengrenliziyuanheshehuibaozhangting", "woyaobanlijuzhuzheng",
    "woyaobulingshenfenzheng", "zhangsanlisi", "wangxiaoming",
    # worst cases: 40 letters of initials, of one letter, and not pinyin at all
    "ylbxylbxylbxylbxylbxylbxylbxylbxylbxylbx", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "iphone",
]


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def widget_child(smoke: bool) -> dict:
    """Runs in its own process: the keyboard widget offscreen at 1280×800, keys pressed as a tap would."""
    from kiosk.fonts import ensure_screen_fonts
    from screens.kivy_setup import configure

    fonts = ensure_screen_fonts(Path(tempfile.gettempdir()) / "govkiosk-bench-fonts")
    configure(fullscreen=False, width=1280, height=800, headless=True)
    from kivy.app import App
    from kivy.base import EventLoop
    from kivy.core.text import DEFAULT_FONT, LabelBase
    from kivy.properties import NumericProperty, ObjectProperty
    from kivy.uix.boxlayout import BoxLayout

    from screens.app import Translator
    from screens.driver import AppDriver

    class BenchApp(App):
        tr = ObjectProperty(Translator("zh_CN"))
        scale = NumericProperty(1.0)

        def build(self):
            LabelBase.register(DEFAULT_FONT, fn_regular=str(fonts.regular), fn_bold=str(fonts.bold))
            from screens.keyboard import ChineseTextField

            self.field = ChineseTextField()
            root = BoxLayout()
            root.add_widget(self.field)
            return root

    app = BenchApp()
    driver = AppDriver(app)
    driver.start()
    press_ms: list[float] = []
    frame_ms: list[float] = []
    try:
        panel = app.field.open_keyboard()
        driver.frames(5)
        for spelling in INPUTS[: 12 if smoke else None]:
            for ch in spelling:
                t = time.perf_counter()
                panel.press(ch)
                press_ms.append((time.perf_counter() - t) * 1000)
                EventLoop.idle()
                frame_ms.append((time.perf_counter() - t) * 1000)
            panel.press("clear")
            driver.frames(1)
    finally:
        driver.stop()
    return {
        "widget_p50_ms": round(percentile(press_ms, 0.50), 2),
        "widget_p95_ms": round(percentile(press_ms, 0.95), 2),
        "widget_max_ms": round(max(press_ms), 2),
        "frame_p50_ms": round(percentile(frame_ms, 0.50), 2),
        "frame_p95_ms": round(percentile(frame_ms, 0.95), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one round, a few seconds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--widget", action="store_true", help="also time the keyboard widget offscreen")
    parser.add_argument("--widget-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.widget_child:
        print(json.dumps(widget_child(args.smoke)))
        return 0
    rounds = args.rounds or (1 if args.smoke else 5)

    from kiosk.ime.composition import Composition
    from kiosk.ime.engine import PinyinEngine
    from kiosk.ime.lexicon import DATA_FILE

    before = rss_mb()
    t0 = time.perf_counter()
    engine = PinyinEngine()
    load_s = time.perf_counter() - t0
    loaded = rss_mb()

    key_ms: list[float] = []
    cpu_ms: list[float] = []  # CPU time of this process only: what the wall clock shows less other programs' load
    choose_ms: list[float] = []
    slowest = ("", 0.0)
    for _ in range(rounds):
        for spelling in INPUTS:
            engine._candidates.cache_clear()
            comp = Composition(engine)
            for ch in spelling:
                t = time.perf_counter()
                c = time.process_time()
                comp.type(ch)
                comp.candidates  # noqa: B018 - what the candidate bar shows
                comp.preedit  # noqa: B018 - what the composition line shows
                ms = (time.perf_counter() - t) * 1000
                cpu_ms.append((time.process_time() - c) * 1000)
                key_ms.append(ms)
                if ms > slowest[1]:
                    slowest = (comp.letters, ms)
            for _ in range(len(spelling) + 1):
                if not comp.letters:
                    break
                t = time.perf_counter()
                comp.choose(0)
                comp.candidates  # noqa: B018
                comp.preedit  # noqa: B018
                choose_ms.append((time.perf_counter() - t) * 1000)

    widget = {}
    if args.widget:
        env = dict(os.environ, SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_NO_FILELOG="1",
                   KIVY_NO_CONFIG="1", KIVY_CLIPBOARD="dummy", KIVY_LOG_MODE="PYTHON")
        env.pop("DISPLAY", None)
        proc = subprocess.run([sys.executable, __file__, "--widget-child", *(["--smoke"] if args.smoke else [])],
                              capture_output=True, text=True, env=env, timeout=600)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            print(f"error: the widget run failed: {proc.stderr[-1500:]}", file=sys.stderr)
            return 1
        widget = json.loads(lines[-1])

    print(json.dumps({
        "benchmark": "ime_keyboard",
        "inputs": len(INPUTS),
        "keys": len(key_ms),
        "rounds": rounds,
        "p50_ms": round(percentile(key_ms, 0.50), 2),
        "p95_ms": round(percentile(key_ms, 0.95), 2),
        "max_ms": round(max(key_ms), 2),
        "slowest_input": slowest[0],
        "cpu_p50_ms": round(percentile(cpu_ms, 0.50), 2),
        "cpu_p95_ms": round(percentile(cpu_ms, 0.95), 2),
        "cpu_max_ms": round(max(cpu_ms), 2),
        "load_avg_1min": round(os.getloadavg()[0], 1),
        "choose_p95_ms": round(percentile(choose_ms, 0.95), 2),
        "choose_max_ms": round(max(choose_ms), 2),
        "rss_mb": round(loaded, 1),
        "rss_engine_mb": round(loaded - before, 1),
        "peak_rss_mb": round(rss_mb("VmHWM"), 1),
        "load_s": round(load_s, 3),
        "entries": len(engine.lexicon),
        "data_file_mb": round(DATA_FILE.stat().st_size / 1e6, 2),
        **widget,
    }, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
