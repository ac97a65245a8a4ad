"""UI benchmark: cold start, frame cost, screen changes and memory of the real kiosk app, offscreen, against a
Kivy app with one Label configured the same way, measured in the same run.

    python benchmarks/ui_startup.py [--smoke] [--journeys N] [--runs N]

Prints one JSON line:
- `cold_start_s` / `cold_start_ref_s` / `cold_start_ratio`: process start to the first frame drawn (median of
  `--runs`), the kiosk app on its home screen against the one-Label app;
- `frame_ms` / `frame_cpu_ms` and their `*_ref` and ratios: one forced redraw of the home screen, wall and CPU;
- `screen_change_ms_max` / `_p95` / `_median`: from `app.go(name)` to the first frame drawn after it, over every
  screen change of `journeys` full citizen journeys (the tour's own steps, on the simulated devices, real hub);
- `rss_mb_after_first` / `rss_mb_end`: resident memory after the first and the last journey.
Nothing here asserts: the figures are compared with the targets of docs/performance.md by whoever reads them.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENV = {"SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_NO_FILELOG": "1", "KIVY_NO_CONFIG": "1",
       "KIVY_CLIPBOARD": "dummy", "KIVY_LOG_MODE": "PYTHON"}
FRAMES = 60


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _measure_frames(window, idle) -> dict:
    """Time FRAMES forced redraws (wall and CPU per frame)."""
    for _ in range(10):
        window.canvas.ask_update()
        idle()
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(FRAMES):
        window.canvas.ask_update()
        idle()
    return {"frame_ms": (time.perf_counter() - w0) * 1000 / FRAMES,
            "frame_cpu_ms": (time.process_time() - c0) * 1000 / FRAMES}


# --------------------------------------------------------------------------------------------------------------
# child processes: each measures one app from its own start


def child_reference(data_dir: str) -> None:
    """A Kivy app with one Label, configured exactly as the kiosk is."""
    from screens.kivy_setup import configure

    configure(fullscreen=False, width=1280, height=800, headless=True)
    from kivy.base import EventLoop, runTouchApp
    from kivy.config import Config
    from kivy.core.window import Window
    from kivy.uix.label import Label

    Config.set("graphics", "maxfps", "0")
    runTouchApp(Label(text="政务服务", font_size="40sp"), embedded=True)
    EventLoop.idle()
    print(json.dumps({"first_frame": time.time()}), flush=True)
    print(json.dumps(_measure_frames(Window, EventLoop.idle)), flush=True)


def child_kiosk(data_dir: str) -> None:
    """The kiosk app with its default configuration (no devices attached) on its home screen."""
    os.environ["KIOSK_KIOSK_DATA_DIR"] = data_dir
    from kiosk.config import load_config
    from screens.tour import make_app

    cfg = load_config(None)
    app = make_app(cfg, headless=True)
    from kivy.base import EventLoop
    from kivy.config import Config
    from kivy.core.window import Window

    from screens.driver import AppDriver

    Config.set("graphics", "maxfps", "0")
    d = AppDriver(app)
    d.start()
    print(json.dumps({"first_frame": time.time()}), flush=True)
    figures = _measure_frames(Window, EventLoop.idle)
    print(json.dumps(figures), flush=True)
    d.stop()


def _run_child(kind: str, data_dir: str) -> dict:
    env = {**os.environ, **ENV}
    env.pop("DISPLAY", None)
    t0 = time.time()
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--data-dir", data_dir], env=env,
                          capture_output=True, text=True, timeout=600, cwd=str(ROOT))
    if proc.returncode != 0:
        raise SystemExit(f"ui_startup: the {kind} app failed:\n{proc.stderr[-3000:]}")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    out = {"cold_start_s": lines[0]["first_frame"] - t0}
    out.update(lines[1])
    return out


# --------------------------------------------------------------------------------------------------------------
# journeys in one process


def journeys(count: int, work: Path) -> dict:
    from kiosk.demo import DemoStack
    from screens.tour import journey, make_app

    changes: list[float] = []
    rss_first = None
    with DemoStack(work) as stack:
        cfg = stack.kiosk_config()
        app = make_app(cfg, headless=True)
        from kivy.core.window import Window

        from screens.driver import AppDriver

        d = AppDriver(app)
        d.start()
        go = app.go
        pending: list[float] = []

        def timed_go(name: str) -> None:
            pending.append(time.perf_counter())
            go(name)

        def on_flip(*_):
            if pending:
                changes.append((time.perf_counter() - pending[0]) * 1000)
                pending.clear()

        app.go = timed_go
        Window.bind(on_flip=on_flip)
        try:
            for i in range(count):
                journey(d, stack, expired_first=False)
                if i == 0:
                    rss_first = _rss_mb()
            rss_end = _rss_mb()
        finally:
            d.stop()
    changes.sort()
    return {"journeys": count, "screen_changes": len(changes),
            "screen_change_ms_max": round(changes[-1], 1) if changes else None,
            "screen_change_ms_p95": round(changes[int(0.95 * (len(changes) - 1))], 1) if changes else None,
            "screen_change_ms_median": round(statistics.median(changes), 1) if changes else None,
            "rss_mb_after_first": round(rss_first, 1), "rss_mb_end": round(rss_end, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="one start of each app and one journey (about a minute)")
    ap.add_argument("--journeys", type=int, default=None, help="citizen journeys in one process (default 50, smoke 1)")
    ap.add_argument("--runs", type=int, default=None, help="cold starts of each app (default 3, smoke 1)")
    ap.add_argument("--child", choices=["reference", "kiosk"], help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        {"reference": child_reference, "kiosk": child_kiosk}[args.child](args.data_dir)
        return 0
    for key, value in ENV.items():
        os.environ.setdefault(key, value)
    os.environ.pop("DISPLAY", None)
    runs = args.runs or (1 if args.smoke else 3)
    count = args.journeys or (1 if args.smoke else 50)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ui-bench-") as tmp:
        data_dir = os.path.join(tmp, "data")
        _run_child("kiosk", data_dir)  # first start extracts the fonts: not a cold start, not timed
        kiosk, ref = [], []
        for _ in range(runs):  # interleaved, so a busy moment of the machine hits both alike
            ref.append(_run_child("reference", data_dir))
            kiosk.append(_run_child("kiosk", data_dir))

        def med(rows, key):
            return statistics.median(r[key] for r in rows)

        out = {"smoke": args.smoke, "runs": runs,
               "cold_start_s": round(med(kiosk, "cold_start_s"), 3),
               "cold_start_ref_s": round(med(ref, "cold_start_s"), 3),
               "frame_ms": round(med(kiosk, "frame_ms"), 2), "frame_ms_ref": round(med(ref, "frame_ms"), 2),
               "frame_cpu_ms": round(med(kiosk, "frame_cpu_ms"), 2),
               "frame_cpu_ms_ref": round(med(ref, "frame_cpu_ms"), 2)}
        out["cold_start_ratio"] = round(out["cold_start_s"] / out["cold_start_ref_s"], 2)
        out["frame_ratio"] = round(out["frame_ms"] / out["frame_ms_ref"], 2)
        out["frame_cpu_ratio"] = round(out["frame_cpu_ms"] / out["frame_cpu_ms_ref"], 2)
        out.update(journeys(count, Path(tmp) / "stack"))
    out["load_average"] = round(os.getloadavg()[0], 2)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
