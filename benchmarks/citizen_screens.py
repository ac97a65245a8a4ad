"""Citizen journeys benchmark: search-as-you-type over the whole catalog, and screen changes of the new screens.

`search_*`: the catalog index alone (pypinyin keys built once), per key press of realistic queries (Chinese, full
pinyin, initials, English), over the simulator's whole catalog. `--app` also runs the real app offscreen on the
demo stack (hub, platform simulator, simulated devices) in a child process and measures, per key press on the
search screen, the search plus the virtualised list refresh plus one drawn frame (`search_screen_*`), and for each
new screen the time from `app.go(name)` to the next drawn frame (`screen_change_ms`; llvmpipe software rendering
here). Prints one JSON line. --smoke: one round.
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

QUERIES = ["ylbx", "yanglaobaoxian", "养老保险", "gjj", "公积金提取", "shebaoka", "sbk", "出生", "cs", "pension",
           "hukou", "bdc", "不动产登记", "jzz", "残疾人", "tuixiu", "一件事", "xiaochanyin", "z", "营业执照"]
SCREENS = ("search", "item_detail", "bundle_questions", "bundle_summary", "proxy_intro", "proxy_mode", "proxy_consent",
           "proxy_signature", "proxy_receipt", "query", "query_result", "evaluation", "evaluation_reason", "cannot_do")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 3)


def index_bench(rounds: int) -> dict:
    from kiosk.citizen.catalog_index import CatalogIndex
    from kiosk.platform.catalog_data import SERVICES

    started = time.perf_counter()
    index = CatalogIndex(SERVICES)
    build_ms = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(rounds):
        for q in QUERIES:
            for i in range(1, len(q) + 1):
                t = time.perf_counter()
                index.search(q[:i])
                times.append((time.perf_counter() - t) * 1000)
    return {"catalog_entries": len(SERVICES), "index_build_ms": round(build_ms, 2), "search_keys": len(times),
            "search_p50_ms": pct(times, 0.5), "search_p95_ms": pct(times, 0.95), "search_max_ms": round(max(times), 3)}


def app_bench(rounds: int) -> dict:
    """Runs in a child process: the real app offscreen."""
    from kivy.base import EventLoop

    from kiosk.citizen.services import citizen_services
    from kiosk.demo import DemoStack
    from screens.tour import make_app

    with tempfile.TemporaryDirectory(prefix="bench-citizen-") as tmp, DemoStack(Path(tmp)) as stack:
        cfg = stack.kiosk_config()
        app = make_app(cfg, headless=True)
        from screens.driver import AppDriver

        d = AppDriver(app)
        d.start()
        try:
            d.wait_screen("home")
            svc = citizen_services(app)
            svc.load_catalog()
            svc.chosen = svc.by_code()[svc.catalog[0]["item_code"]]
            bundle = next(i for i in svc.catalog if i.get("kind") == "bundle")
            app.screen("bundle_questions").start(bundle)
            app.screen("bundle_summary").show(bundle, {q["key"]: q["options"][0]["value"] for q in bundle["questions"]})
            changes: dict[str, list[float]] = {name: [] for name in SCREENS}
            for _ in range(rounds):
                for name in SCREENS:
                    app.go("home")
                    d.frames(2)
                    t = time.perf_counter()
                    app.go(name)
                    EventLoop.idle()
                    changes[name].append((time.perf_counter() - t) * 1000)
                    d.idle(30)
            app.go("search")
            d.frames(2)
            search = app.screen("search")
            keys = []
            for _ in range(rounds):
                for q in QUERIES:
                    for i in range(1, len(q) + 1):
                        t = time.perf_counter()
                        search.ids.search_field.text = q[:i]
                        EventLoop.idle()
                        keys.append((time.perf_counter() - t) * 1000)
                    search.ids.search_field.text = ""
            all_changes = [v for vs in changes.values() for v in vs]
            return {"screen_change_ms": {k: round(statistics.median(v), 1) for k, v in changes.items()},
                    "screen_change_p95_ms": pct(all_changes, 0.95), "screen_change_max_ms": round(max(all_changes), 1),
                    "search_screen_p50_ms": pct(keys, 0.5), "search_screen_p95_ms": pct(keys, 0.95),
                    "search_screen_keys": len(keys)}
        finally:
            d.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one short round (CI)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--app", action="store_true", help="also time the real screens offscreen")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rounds = 1 if args.smoke else args.rounds
    if args.child:
        print(json.dumps(app_bench(rounds)))
        return
    result = {"benchmark": "citizen_screens", "smoke": args.smoke, **index_bench(rounds)}
    if args.app:
        env = dict(os.environ, SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_NO_FILELOG="1", KIVY_NO_CONFIG="1",
                   KIVY_LOG_MODE="PYTHON")
        env.pop("DISPLAY", None)
        proc = subprocess.run([sys.executable, __file__, "--child", "--rounds", str(rounds)], capture_output=True,
                              text=True, env=env, timeout=900)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            print(proc.stderr[-3000:], file=sys.stderr)
            sys.exit(1)
        result.update(json.loads(lines[-1]))
    try:
        result["load_avg_1min"] = os.getloadavg()[0]
    except OSError:
        pass
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
