"""UI benchmark: cold start, frame cost, screen changes and memory of the real kiosk app, offscreen, against a
Kivy app with one Label configured the same way, measured in the same run.

    python benchmarks/ui_startup.py [--smoke] [--journeys N] [--runs N]

Prints one JSON line:
- `cold_start_s` / `cold_start_ref_s` / `cold_start_ratio`: process start to the first frame drawn (median of
  `--runs`), the kiosk app on its home screen against the one-Label app;
- `frame_ms` / `frame_cpu_ms` and their `*_ref` and ratios: one forced redraw of the home screen, wall and CPU
  (after the other screens have been built in the background: home idling, as a kiosk does most of the day);
- `screen_change_ms_max` / `_p95` / `_median`: from `app.go(name)` to the first frame drawn after it, over every
  screen change of `journeys` full citizen journeys (the tour's own steps, on the simulated devices, real hub);
- `rss_mb_after_first` / `rss_mb_end`: resident memory after the first and the last journey;
- `list_3000_ms`: opening the service list on a synthetic catalog of 3,000 items in one department, `app.go` to
  the first frame (`list_3000_rows` rows in its data, `list_3000_index_ms` to build the search index first,
  `list_3000_rss_mb_delta` the memory it added);
- `cold_start_cpu_s` (and `_ref`, `_ratio`): CPU time of the process to its first frame, steadier than wall time
  on a shared, loaded machine.
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
    print(json.dumps({"first_frame": time.time(), "cpu_s": time.process_time()}), flush=True)
    print(json.dumps(_measure_frames(Window, EventLoop.idle)), flush=True)


def child_kiosk(data_dir: str) -> None:
    """The kiosk app started the way `kiosk run` starts it (default configuration, no devices attached), on its
    home screen: nothing of the tour, the demo stack or the test driver is imported."""
    os.environ["KIOSK_KIOSK_DATA_DIR"] = data_dir
    from kiosk.config import load_config
    from kiosk.fonts import ensure_ui_fonts

    cfg = load_config(None)
    fonts = ensure_ui_fonts(cfg.kiosk.data_dir)
    from screens.kivy_setup import configure

    configure(fullscreen=False, width=1280, height=800, headless=True)
    from kivy.base import EventLoop, runTouchApp
    from kivy.config import Config
    from kivy.core.window import Window

    from kiosk.terminal import Terminal
    from screens.app import KioskApp

    Config.set("graphics", "maxfps", "0")
    app = KioskApp(cfg, Terminal(cfg), fonts)
    app._run_prepare()
    runTouchApp(embedded=True)
    EventLoop.idle()
    print(json.dumps({"first_frame": time.time(), "cpu_s": time.process_time()}), flush=True)
    deadline = time.monotonic() + 120
    while app.sm.unbuilt and time.monotonic() < deadline:  # the screens built while home idles, then home alone
        EventLoop.idle()
    figures = _measure_frames(Window, EventLoop.idle)
    print(json.dumps(figures), flush=True)
    app.stop()
    EventLoop.idle()


def _run_child(kind: str, data_dir: str) -> dict:
    env = {**os.environ, **ENV}
    env.pop("DISPLAY", None)
    t0 = time.time()
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--data-dir", data_dir], env=env,
                          capture_output=True, text=True, timeout=600, cwd=str(ROOT))
    if proc.returncode != 0:
        raise SystemExit(f"ui_startup: the {kind} app failed:\n{proc.stderr[-3000:]}")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    out = {"cold_start_s": lines[0]["first_frame"] - t0, "cold_start_cpu_s": lines[0]["cpu_s"]}
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
                stack.reader.remove()  # the citizen takes the card back: the next journey places it again
                d.wait(lambda: not app.terminal.card_present, 30, "card taken away")
                if i == 0:
                    rss_first = _rss_mb()
            rss_end = _rss_mb()
            app.go = go
            long_list = _long_list(d, LIST_ITEMS)
        finally:
            d.stop()
    changes.sort()
    return {"journeys": count, "screen_changes": len(changes),
            "screen_change_ms_max": round(changes[-1], 1) if changes else None,
            "screen_change_ms_p95": round(changes[int(0.95 * (len(changes) - 1))], 1) if changes else None,
            "screen_change_ms_median": round(statistics.median(changes), 1) if changes else None,
            "rss_mb_after_first": round(rss_first, 1), "rss_mb_end": round(rss_end, 1), **long_list}


LIST_ITEMS = 3000


def _long_list(d, n: int) -> dict:
    """Open the service list on a synthetic catalog of `n` items, all in one department (so the list shows all
    of them): from `app.go("service_list")` to the first frame drawn after it. The catalog's index (the pinyin of
    every name) is built first, as the catalog's worker does, and timed on its own."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.citizen.catalog_index import CatalogIndex
    from kiosk.citizen.services import citizen_services

    app = d.app
    svc = citizen_services(app)
    base = next((i for i in svc.catalog if i.get("kind") != "bundle"), None) or {"department": "市民政局"}
    items = [{**base, "item_code": f"SYN{k:05d}", "name": f"{base.get('name', '事项')}（第{k}项）",
              "kind": "item"} for k in range(n)]
    d.wait_screen("home")
    t0 = time.perf_counter()
    index = CatalogIndex(items)
    index_ms = (time.perf_counter() - t0) * 1000
    with svc._lock:
        svc._catalog, svc._index = items, index
    app.catalog = items
    svc.mode = "browse"
    flips: list[float] = []

    def on_flip(*_):
        flips.append(time.perf_counter())

    Window.bind(on_flip=on_flip)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    app.go("service_list")
    while not flips and time.perf_counter() - t0 < 60:
        EventLoop.idle()
    Window.unbind(on_flip=on_flip)
    shown = len(app.screen("service_list").ids.service_items.data)
    out = {f"list_{n}_ms": round((flips[0] - t0) * 1000, 1) if flips else None, f"list_{n}_rows": shown,
           f"list_{n}_index_ms": round(index_ms, 1), f"list_{n}_rss_mb_delta": round(_rss_mb() - rss0, 1)}
    app.go("home")
    d.frames(2)
    return out


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
               "cold_start_cpu_s": round(med(kiosk, "cold_start_cpu_s"), 3),
               "cold_start_cpu_ref_s": round(med(ref, "cold_start_cpu_s"), 3),
               "frame_ms": round(med(kiosk, "frame_ms"), 2), "frame_ms_ref": round(med(ref, "frame_ms"), 2),
               "frame_cpu_ms": round(med(kiosk, "frame_cpu_ms"), 2),
               "frame_cpu_ms_ref": round(med(ref, "frame_cpu_ms"), 2)}
        out["cold_start_ratio"] = round(out["cold_start_s"] / out["cold_start_ref_s"], 2)
        out["cold_start_cpu_ratio"] = round(out["cold_start_cpu_s"] / out["cold_start_cpu_ref_s"], 2)
        out["frame_ratio"] = round(out["frame_ms"] / out["frame_ms_ref"], 2)
        out["frame_cpu_ratio"] = round(out["frame_cpu_ms"] / out["frame_cpu_ms_ref"], 2)
        out.update(journeys(count, Path(tmp) / "stack"))
    out["load_average"] = round(os.getloadavg()[0], 2)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
