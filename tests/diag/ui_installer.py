"""The installer screens in the real app, offscreen, on a simulated site (run in its own process by
test_installer_screens.py; Kivy has one window per process). Prints RESULT {json}; screenshots go to
$KIOSK_UI_SHOTS."""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from kiosk.config import Config  # noqa: E402
from kiosk.diag.simulated import SimulatedSite  # noqa: E402
from kiosk.installer_pin import hash_pin  # noqa: E402

OUT = Path(os.environ.get("KIOSK_UI_SHOTS", tempfile.mkdtemp(prefix="ui-installer-")))
PIN = "24681357"


def corner_taps(d, n: int = 5) -> None:
    from kivy.core.window import Window
    from screens.driver import FingerTouch

    for _ in range(n):
        touch = FingerTouch(Window.width - 20, Window.height - 20)
        touch.touch_down()
        d.frames(1)
        touch.touch_up()
        d.frames(1)


def type_pin(d, pin: str) -> None:
    screen = d.app.screen("installer_pin")
    pad = [w for w in screen.walk() if type(w).__name__ == "NumericPad"][0]
    for digit in pin:
        button = [w for w in pad.children if getattr(w, "text", None) == digit][0]
        d.tap(button)
    d.tap("btn_enter")


def main(work: Path, language: str) -> dict:
    from screens.tour import make_app

    out = OUT / language
    with SimulatedSite(work / "site") as site:
        base = Config()
        base.kiosk.data_dir = str(work / "data")
        base.kiosk.language = language
        base.display.fullscreen = False
        cfg = site.configure(base)
        cfg.installer.pin_hash = hash_pin(PIN)
        cfg.source = str(work / "kiosk.toml")
        app = make_app(cfg, headless=True)
        from screens.driver import AppDriver

        d = AppDriver(app)
        d.start()
        r: dict = {}
        try:
            d.wait_screen("home")
            corner_taps(d, 3)
            r["three_taps_stay_home"] = app.current == "home"
            corner_taps(d, 5)
            d.wait_screen("installer_pin")
            pin_screen = app.screen("installer_pin")
            waits = []
            for _ in range(3):
                type_pin(d, "000000")
                waits.append(pin_screen.wait_s)
            r["waits"] = waits
            r["locked_enter_disabled"] = d.widget("btn_enter").disabled
            d.screenshot(out / "installer_pin_locked.png")
            d.wait(lambda: pin_screen.wait_s == 0, 10, "PIN delay over")
            type_pin(d, PIN)
            d.wait_screen("installer")
            scr = app.screen("installer")
            d.wait(lambda: not scr.working and all(scr.verdicts.values()), 60, "first checks")
            r["verdicts"] = dict(scr.verdicts)
            d.screenshot(out / "installer.png")
            d.tap("btn_card_test")
            d.wait(lambda: not scr.working, 30, "card test")
            r["card_message"] = scr.message
            before = len(site.printer.received)
            d.tap("btn_test_page")
            d.wait(lambda: not scr.working, 30, "test page")
            r["test_page_bytes"] = len(site.printer.received) - before
            d.tap("btn_camera")
            d.wait_screen("installer_camera")
            cam = app.screen("installer_camera")
            d.wait(lambda: cam.texture is not None and cam.meter > 0, 30, "camera view")
            time.sleep(0.3)
            d.frames(5)
            r["meter"] = cam.meter
            r["camera_verdict"] = cam.verdict
            d.screenshot(out / "installer_camera.png")
            d.tap("btn_back")
            d.wait_screen("installer")
            d.wait(lambda: not scr.working, 60, "checks on return")
            site.printer.set_state("near_end")
            d.tap(scr.check_row("printer.paper").ids["run"])  # that check's own Run button
            d.wait(lambda: not scr.working, 30, "printer check")
            r["printer_after_near_end"] = scr.verdicts["printer"]
            r["paper_row"] = scr.check_row("printer.paper").markup
            site.printer.set_state("ok")
            d.tap(d.widget("row_printer").ids["run"])  # the group's Run button
            d.wait(lambda: not scr.working, 30, "printer group")
            r["printer_after_paper_loaded"] = scr.verdicts["printer"]
            site.printer.set_state("near_end")
            d.tap(d.widget("row_printer").ids["run"])
            d.wait(lambda: not scr.working, 30, "printer group")
            d.screenshot(out / "installer_printer_near_end.png")
            d.tap("btn_export")
            d.wait(lambda: not scr.working, 30, "export")
            r["export_message"] = scr.message
            with site.hub_app.state.hub.sessions() as s, s.begin():
                from kiosk.hub.auth import create_token

                supervisor = create_token(s, "supervisor", "sup01")
            listing = requests.get(site.hub_url + "/api/v1/diag/reports",
                                   headers={"Authorization": f"Bearer {supervisor}"}, timeout=10).json()
            r["hub_reports"] = listing["reports"]
            d.screenshot(out / "installer_exported.png")
            from kiosk.setup_wizard import SearchSpace

            # The reader is the site's pty (a real kiosk searches /dev/idcard, by-id, ttyUSB, ttyACM).
            app.setup_search_space = SearchSpace(reader_globs=[site.reader.port], serial_globs=[], lp_globs=[],
                                                 usb=False, printer_hosts=[site.printer_uri[len("tcp://"):]],
                                                 camera_sources=[site.camera_target])
            d.tap("btn_setup")
            d.wait_screen("setup")
            setup = app.screen("setup")
            d.wait(lambda: not setup.working and setup.found_text, 60, "devices found")
            r["found_text"] = setup.found_text
            d.screenshot(out / "setup.png")
            d.tap("btn_back")
            d.wait_screen("installer")
            d.tap("btn_leave")
            d.wait_screen("home")
            d.wait(lambda: app.terminal.card_reader_status == "online", 30, "reader back with the terminal")
            r["back_home"] = True
            # Left for home, the installer's screens are released (not held all day); opened again, they are
            # built anew and work.
            d.frames(3)
            names = ("installer_pin", "installer", "installer_camera", "setup")
            r["released"] = [n for n in names if app.sm.is_built(n)] == [] and all(app.sm.has_screen(n) for n in names)
            r["old_screen_detached"] = scr.parent is None
            corner_taps(d, 5)
            d.wait_screen("installer_pin")
            type_pin(d, PIN)
            d.wait_screen("installer")
            again = app.screen("installer")
            d.wait(lambda: not again.working and all(again.verdicts.values()), 60, "checks after reopening")
            r["reopened_new_screen"] = again is not scr
            r["reopened_verdicts"] = dict(again.verdicts)
            d.tap("btn_leave")
            d.wait_screen("home")
        finally:
            d.stop()
        return r


if __name__ == "__main__":
    lang = sys.argv[1] if len(sys.argv) > 1 else "zh_CN"
    with tempfile.TemporaryDirectory(prefix="ui-installer-") as tmp:
        result = main(Path(tmp), lang)
    print("RESULT " + json.dumps(result, ensure_ascii=False, default=str))
