"""UI benchmark: cold start, frame cost, screen changes and memory of the real kiosk app, offscreen, against a
Kivy app with one Label configured the same way, measured in the same run.

    python benchmarks/ui_startup.py [--smoke] [--journeys N] [--runs N]

Prints one JSON line:
- `cold_start_s` / `cold_start_ref_s` / `cold_start_ratio`: process start to the first frame drawn (median of
  `--runs`), the kiosk app on its home screen against the one-Label app;
- `frame_ms` / `frame_cpu_ms` and their `*_ref` and ratios: one forced redraw of the home screen, wall and CPU
  (after the other screens have been built in the background: home idling, as a kiosk does most of the day);
- `screen_change_ms_max` / `_p95` / `_median`: from `app.go(name)` to the first frame drawn after it (the software
  GL finished drawing it: `glFinish` in the frame's `on_flip`), over every
  screen change of `journeys` full citizen journeys (the tour's own steps, on the simulated devices, real hub)
  and of `citizen_journeys` rounds of the other journeys (search, 一件事, 我要代办 and its 好差评, 进度查询,
  办不成事) after them (the screens built first, while home idles, as on a kiosk switched on before its first
  citizen);
  `screen_change_ms_max_at` says which change that was ("screen #journey"; "a→b #journey" when the app went to
  a then b before the next frame, timed from the first), `screen_change_ms_max_by_screen` the slowest change into
  each screen (by the screen drawn), `screen_changes_over_100_ms` every change over the target;
- `rss_mb_after_first` / `rss_mb_end`: resident memory after the first and the last journey (`rss_mb_journeys`:
  after each one); `rss_mb_home` / `rss_mb_ref`: the started kiosk app on its home screen (screens built, no
  journey yet) and the one-Label app, after the frame measurement;
- `list_3000_ms`: opening the service list on a synthetic catalog of 3,000 items in one department, `app.go` to
  the first frame (`list_3000_rows` rows in its data, `list_3000_index_ms` to build the search index first,
  `list_3000_rss_mb_delta` the memory it added);
- `cold_start_cpu_s` (and `_ref`, `_ratio`): CPU time of the process to its first frame, steadier than wall time
  on a shared, loaded machine.
Nothing here asserts: the figures are compared with the targets of docs/performance.md by whoever reads them.

Which process holds what during the journeys: the hub and the platform simulator run in processes of their own
(`kiosk.demo.DemoStack`); the kiosk app, the tour's driver and the simulated devices share the measured process:
the ID-card reader (a thread behind a pseudo-terminal), the printer (a thread behind a TCP socket, keeping what it
received) and the camera (`devices.scanner.simulator`, standing in for `cv2.VideoCapture` as the design draws that
boundary; it holds the scene of its current page only while a capture is open). Their memory is in the RSS figures.
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
    """Time FRAMES forced redraws (wall and CPU per frame), each one drawn to the end (`glFinish`) in both apps."""
    from kivy.graphics.opengl import glFinish

    for _ in range(10):
        window.canvas.ask_update()
        idle()
        glFinish()
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(FRAMES):
        window.canvas.ask_update()
        idle()
        glFinish()
    return {"frame_ms": (time.perf_counter() - w0) * 1000 / FRAMES,
            "frame_cpu_ms": (time.process_time() - c0) * 1000 / FRAMES, "rss_mb": _rss_mb()}


# --------------------------------------------------------------------------------------------------------------
# child processes: each measures one app from its own start


def _first_frame_drawn() -> None:
    """Print the time the first frame is drawn to the end (the same `glFinish` in both apps)."""
    from kivy.graphics.opengl import glFinish

    glFinish()
    print(json.dumps({"first_frame": time.time(), "cpu_s": time.process_time()}), flush=True)


def child_reference(data_dir: str) -> None:
    """A Kivy app with one Chinese Label, configured exactly as the kiosk is: the same window settings, the same
    Simplified Chinese faces registered as the default font (Kivy's own Roboto has no Chinese glyphs), the same
    background colour. Nothing else: no configuration file, no devices, no screens."""
    from kiosk.fonts import ensure_screen_fonts

    fonts = ensure_screen_fonts(data_dir)  # extracted by the untimed first start: only looked up here, as the kiosk does
    from screens.kivy_setup import configure

    configure(fullscreen=False, width=1280, height=800, headless=True)
    from kivy.base import EventLoop, runTouchApp
    from kivy.config import Config
    from kivy.core.text import DEFAULT_FONT, LabelBase
    from kivy.core.window import Window
    from kivy.uix.label import Label

    from screens import theme

    Config.set("graphics", "maxfps", "0")
    LabelBase.register(DEFAULT_FONT, fn_regular=str(fonts.regular), fn_bold=str(fonts.bold))
    Window.clearcolor = theme.BACKGROUND
    runTouchApp(Label(text="政务服务自助终端", font_size="40sp", color=theme.TEXT), embedded=True)
    EventLoop.idle()
    _first_frame_drawn()
    print(json.dumps(_measure_frames(Window, EventLoop.idle)), flush=True)


def child_kiosk(data_dir: str) -> None:
    """The kiosk app started the way `kiosk run` starts it (default configuration, no devices attached), on its
    home screen: nothing of the tour, the demo stack or the test driver is imported."""
    os.environ["KIOSK_KIOSK_DATA_DIR"] = data_dir
    from kiosk.config import load_config
    from kiosk.fonts import ensure_screen_fonts

    cfg = load_config(None)
    fonts = ensure_screen_fonts(cfg.kiosk.data_dir)
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
    _first_frame_drawn()
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


def journeys(count: int, work: Path, citizen: int = 0) -> dict:
    from kiosk import memory

    memory.limit_heap()  # as `kiosk run` does first, before any thread starts
    from kiosk.demo import DemoStack
    from screens.citizen_tour import everyday_journeys
    from screens.tour import journey, make_app

    changes: list[tuple[float, str]] = []
    rss_after: list[float] = []
    journey_no = [0]
    failed: list[str] = []
    with DemoStack(work) as stack:
        cfg = stack.kiosk_config()
        app = make_app(cfg, headless=True)
        from kivy.core.window import Window

        from screens.driver import AppDriver, DriverError

        d = AppDriver(app)
        d.start()
        go = app.go
        pending: list[tuple[float, str]] = []

        def timed_go(name: str) -> None:
            pending.append((time.perf_counter(), name))
            go(name)

        from kivy.graphics.opengl import glFinish

        def on_flip(*_):
            if pending:  # two changes before one frame: timed from the first, named by the screen drawn
                # The offscreen window's swap does not wait for the software GL: wait here until the new screen
                # is really drawn, so its drawing counts in this change and not in a later one.
                glFinish()
                chain = "→".join(n for _, n in pending) if len(pending) > 1 else app.current
                changes.append(((time.perf_counter() - pending[0][0]) * 1000, f"{chain} #{journey_no[0]}"))
                pending.clear()

        # A kiosk is switched on long before its first citizen: the screens are built while home idles (as in the
        # frame measurement), so the first journey's changes are not the screens' one-time construction.
        d.wait_screen("home", 60)
        d.wait(lambda: not app.sm.unbuilt, 180, "the screens built while home idles")
        app.go = timed_go
        Window.bind(on_flip=on_flip)
        from devices.scanner.simulator import device as sim_device

        camera = sim_device(cfg.devices.camera.source)
        try:
            for i in range(count):
                journey_no[0] = i + 1
                # The previous citizen's last page is taken off the mat: a new page lies there, out of focus, so a
                # capture fired before the tour's blur step takes that step's blurred page (advice, then retake)
                # instead of a sharp leftover page the step does not expect.
                camera.blur()
                camera.next_page()
                try:
                    journey(d, stack, expired_first=False)
                except (AssertionError, DriverError) as exc:
                    # The tour's waits have fixed limits: on a very busy machine a step can miss one. The journey
                    # is counted as failed and the citizen walks away; a run of 50 does not end there.
                    failed.append(f"#{i + 1}: {exc}")
                    print(f"ui_startup: journey {i + 1} failed: {exc}", file=sys.stderr, flush=True)
                    app.end_session()
                stack.reader.remove()  # the citizen takes the card back: the next journey places it again
                d.wait(lambda: not app.terminal.card_present, 30, "card taken away")
                d.wait_screen("home", 60)
                rss_after.append(round(_rss_mb(), 1))
            for i in range(citizen):  # the other journeys: search, 一件事, 我要代办, 好差评, 进度查询, 办不成事
                journey_no[0] = f"citizen{i + 1}"
                try:
                    everyday_journeys(d, stack)
                except (AssertionError, DriverError) as exc:
                    failed.append(f"citizen #{i + 1}: {exc}")
                    print(f"ui_startup: citizen journeys {i + 1} failed: {exc}", file=sys.stderr, flush=True)
                    app.end_session()
                    d.wait_screen("home", 60)
            app.go = go
            long_list = _long_list(d, LIST_ITEMS)
        finally:
            d.stop()
    by_screen: dict[str, float] = {}
    for ms, at in changes:
        screen = at.split(" #")[0].split("→")[-1]
        by_screen[screen] = max(by_screen.get(screen, 0.0), round(ms, 1))
    slowest = max(changes) if changes else (None, None)
    times = sorted(ms for ms, _ in changes)
    return {"journeys": count, "citizen_journeys": citizen, "journeys_failed": len(failed),
            "screen_changes": len(times),
            "screen_change_ms_max": round(times[-1], 1) if times else None,
            "screen_change_ms_max_at": slowest[1],
            "screen_change_ms_p95": round(times[int(0.95 * (len(times) - 1))], 1) if times else None,
            "screen_change_ms_median": round(statistics.median(times), 1) if times else None,
            "screen_change_ms_max_by_screen": dict(sorted(by_screen.items(), key=lambda kv: -kv[1])),
            "screen_changes_over_100_ms": [[round(ms, 1), at] for ms, at in changes if ms > 100],
            "rss_mb_after_first": rss_after[0], "rss_mb_end": rss_after[-1], "rss_mb_journeys": rss_after,
            **long_list}


LIST_ITEMS = 3000


def _long_list(d, n: int) -> dict:
    """Open the service list on a synthetic catalog of `n` items, all in one department (so the list shows all
    of them): from `app.go("service_list")` to the first frame drawn after it. The items carry their pinyin as
    the hub serves them; the catalog's index is built first, as the catalog's worker does, and timed on its own."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.citizen.catalog_index import CatalogIndex
    from kiosk.citizen.services import citizen_services

    app = d.app
    svc = citizen_services(app)
    base = next((i for i in svc.catalog if i.get("kind") != "bundle"), None) or {"department": "市民政局"}
    from kiosk import pinyin

    items = [{**base, "item_code": f"SYN{k:05d}", "name": f"{base.get('name', '事项')}（第{k}项）",
              "kind": "item"} for k in range(n)]
    items = pinyin.with_keys(items)  # as the hub serves them (`kiosk.pinyin`), read before the timing
    d.wait_screen("home")
    t0 = time.perf_counter()
    index = CatalogIndex(items)
    index_ms = (time.perf_counter() - t0) * 1000
    with svc._lock:
        svc._catalog, svc._index = items, index
    app.catalog = items
    svc.mode = "browse"
    flips: list[float] = []

    from kivy.graphics.opengl import glFinish

    def on_flip(*_):
        glFinish()  # drawn, not only queued (see journeys())
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


def _compile_bytecode() -> None:
    """The project's bytecode, as `deploy/bootstrap.sh` leaves it on an installed kiosk: with
    PYTHONDONTWRITEBYTECODE set (as in many shells and containers) the apps would otherwise compile every project
    module at each start, and the kiosk, which imports many more of them, would be timed compiling."""
    import compileall

    for package in ("kiosk", "devices", "screens"):
        compileall.compile_dir(str(ROOT / package), quiet=2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="one start of each app and one journey (about a minute)")
    ap.add_argument("--journeys", type=int, default=None, help="citizen journeys in one process (default 50, smoke 1)")
    ap.add_argument("--runs", type=int, default=None, help="cold starts of each app (default 3, smoke 1)")
    ap.add_argument("--citizen-journeys", type=int, default=None,
                    help="rounds of the other citizen journeys after the applications (search, 一件事, 我要代办,"
                         " 好差评, 进度查询, 办不成事; default one per 10 applications, smoke 0)")
    ap.add_argument("--only-journeys", action="store_true",
                    help="skip the cold starts and frames: journeys, screen changes and memory only")
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
    _compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="ui-bench-") as tmp:
        data_dir = os.path.join(tmp, "data")
        if args.only_journeys:
            runs = 0
        else:
            _run_child("kiosk", data_dir)  # first start extracts the fonts: not a cold start, not timed
        kiosk, ref = [], []
        for _ in range(runs):  # interleaved, so a busy moment of the machine hits both alike
            ref.append(_run_child("reference", data_dir))
            kiosk.append(_run_child("kiosk", data_dir))
        out = {"smoke": args.smoke, "runs": runs}
        if runs:
            out.update(_cold_start_figures(kiosk, ref))
        citizen = args.citizen_journeys if args.citizen_journeys is not None else (0 if args.smoke else
                                                                                   max(1, count // 10))
        out.update(journeys(count, Path(tmp) / "stack", citizen))
    out["load_average"] = round(os.getloadavg()[0], 2)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, ensure_ascii=False))
    return 0


def _cold_start_figures(kiosk: list[dict], ref: list[dict]) -> dict:
    def med(rows, key):
        return statistics.median(r[key] for r in rows)

    out = {"cold_start_s": round(med(kiosk, "cold_start_s"), 3),
           "cold_start_ref_s": round(med(ref, "cold_start_s"), 3),
           "cold_start_cpu_s": round(med(kiosk, "cold_start_cpu_s"), 3),
           "cold_start_cpu_ref_s": round(med(ref, "cold_start_cpu_s"), 3),
           "frame_ms": round(med(kiosk, "frame_ms"), 2), "frame_ms_ref": round(med(ref, "frame_ms"), 2),
           "frame_cpu_ms": round(med(kiosk, "frame_cpu_ms"), 2),
           "frame_cpu_ms_ref": round(med(ref, "frame_cpu_ms"), 2),
           "rss_mb_home": round(med(kiosk, "rss_mb"), 1), "rss_mb_ref": round(med(ref, "rss_mb"), 1)}
    out["cold_start_ratio"] = round(out["cold_start_s"] / out["cold_start_ref_s"], 2)
    out["cold_start_cpu_ratio"] = round(out["cold_start_cpu_s"] / out["cold_start_cpu_ref_s"], 2)
    out["frame_ratio"] = round(out["frame_ms"] / out["frame_ms_ref"], 2)
    out["frame_cpu_ratio"] = round(out["frame_cpu_ms"] / out["frame_cpu_ms_ref"], 2)
    return out


if __name__ == "__main__":
    sys.exit(main())
