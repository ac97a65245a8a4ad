"""The scripted tour: the real app, offscreen, driven by synthetic touches through the citizen journey on
simulated devices, one PNG per screen. `kiosk tour` runs it; the UI tests run the same steps and assert."""
from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from kiosk.demo import DemoStack, sample_card
from kiosk.fonts import ensure_screen_fonts
from kiosk.terminal import Terminal

log = logging.getLogger(__name__)

PHONE = "13712349050"


def make_app(cfg, headless: bool = True):
    from screens.kivy_setup import configure

    fonts = ensure_screen_fonts(cfg.kiosk.data_dir)
    width, height = cfg.display.window_size()
    configure(fullscreen=cfg.display.fullscreen, width=width, height=height, headless=headless)
    from screens.app import KioskApp

    return KioskApp(cfg, Terminal(cfg), fonts)


def to_login(driver) -> None:
    """From home, once the reader is ready, to the card screen."""
    app = driver.app
    driver.wait_screen("home")
    driver.wait(lambda: app.terminal.card_reader_status == "online", 30, "card reader online")
    driver.tap("btn_start")
    driver.wait_screen("id_login")


def swap_card_out(driver, stack) -> None:
    """Take the card away the way a hand does: a reader cannot tell a faster swap from a card left in place."""
    app = driver.app
    stack.reader.remove()
    swap_until = time.monotonic() + 1.5
    driver.wait(lambda: not app.terminal.card_present or time.monotonic() > swap_until, 30, "card swap")


def log_in(driver, stack, card: str = "resident") -> None:
    """Place a valid card and wait for the service list to be loaded."""
    app = driver.app
    stack.reader.place(sample_card(card))
    driver.wait(lambda: app.current == "service_list" and len(app.screen("service_list").ids.service_items.children) > 0
                and not app.busy, 60, "service list")


def to_form(driver, shot=None) -> None:
    """Choose the first service, read its guide, open the form."""
    app = driver.app
    shot = shot or (lambda name: None)
    driver.tap(app.screen("service_list").first_row())
    driver.wait_screen("guide")
    shot("guide")
    driver.tap("btn_next", "guide")
    driver.wait_screen("form")


FIELD_SAMPLES = {"digits": "6217000012345678", "number": "10", "date": "20240301",
                 "text": "雁塔区小寨东路1号", "address": "陕西省西安市雁塔区小寨东路1号"}


def type_on_pad(driver, text: str) -> None:
    for digit in text:
        driver.tap_text(digit, exact=True)


def fill_item_fields(driver) -> None:
    """The service's own fields: the first choice, digits and dates on the keypad, text typed in."""
    form = driver.app.screen("form")
    for key, (field, _row) in list(form._rows.items()):
        widget = form.field_widget(key)
        kind = field.get("type", "text")
        if kind == "choice":
            driver.tap(list(reversed(widget.children))[0])
        elif kind in ("digits", "number", "date"):
            driver.tap(widget)
            type_on_pad(driver, FIELD_SAMPLES[kind])
        else:
            widget.text = FIELD_SAMPLES.get(kind, FIELD_SAMPLES["text"])


def fill_form(driver) -> None:
    """Type the phone number on the keypad, pick collection at the outlet when offered, fill the service's own
    fields; the caller goes on to scanning."""
    app = driver.app
    driver.tap("phone")
    type_on_pad(driver, PHONE)
    if "网点代发" in app.screen("form").allowed:
        driver.tap("delivery_outlet")
    fill_item_fields(driver)


def page_count(app) -> int:
    return sum(len(m.pages) for m in app.session.materials)


def blurry_page(driver, shot=None) -> None:
    """An out-of-focus lens: the shot gets the blur advice before it is accepted (`blurry_page`), the citizen
    retakes, and the lens is sharp again."""
    from devices.scanner.simulator import device as sim_device

    app = driver.app
    scan = app.screen("scan")
    camera = sim_device(app.cfg.devices.camera.source)
    before = page_count(app)
    # Blurred before the preview has been still for long: a page left on the mat is not auto-captured first.
    camera.blur()
    try:
        camera.next_page()
        driver.wait(lambda: scan.camera_ok, 60, "camera preview")
        deadline = time.monotonic() + (4.0 if app.cfg.devices.camera.auto_capture else 0.0)
        driver.wait(lambda: scan.pending is not None or app.busy or time.monotonic() > deadline, 30, "auto-capture")
        driver.idle(120)
        if scan.pending is None and page_count(app) == before:
            driver.tap("btn_capture")
            driver.idle(120)
        if scan.pending is None:
            raise AssertionError(f"a blurred page was not advised against (problem: {scan.problem!r})")
        if shot:
            shot("blurry_page")
        driver.tap("btn_retake_pending")
        driver.idle(120)
    finally:
        camera.blur(0)
    if page_count(app) != before:
        raise AssertionError("the blurred page was kept after 重拍")


def capture_all(driver, shot=None) -> None:
    """Lay a new page under the simulated camera for every page still missing; auto-capture takes it (or the
    Take photo button after a few seconds); advised pages are accepted."""
    from devices.scanner.simulator import device as sim_device

    app = driver.app
    scan = app.screen("scan")
    camera = sim_device(app.cfg.devices.camera.source)
    driver.wait(lambda: scan.camera_ok, 60, "camera preview")
    while app.session.missing_materials():
        before = page_count(app)
        camera.next_page()
        deadline = time.monotonic() + (4.0 if app.cfg.devices.camera.auto_capture else 0.0)
        driver.wait(lambda: page_count(app) > before or scan.pending is not None or app.busy
                    or time.monotonic() > deadline, 30, "auto-capture")
        driver.idle(120)
        if page_count(app) == before and scan.pending is None:
            driver.tap("btn_capture")
            driver.idle(120)
        if scan.pending is not None:
            if shot:
                shot("scan_advice")
            driver.tap("btn_use_anyway")
        if page_count(app) == before:
            raise AssertionError(f"scan failed: {scan.problem}")


def journey(driver, stack: DemoStack, shot=None, expired_first: bool = True) -> None:
    """Tap through home → ID card → service → guide → form → scan → confirm → receipt → done → home."""
    app = driver.app
    shot = shot or (lambda name: None)
    driver.wait_screen("home")
    driver.wait(lambda: app.terminal.card_reader_status == "online", 30, "card reader online")
    shot("home")
    to_login(driver)
    shot("id_login")
    if expired_first:
        stack.reader.place(sample_card("resident_expired"))
        driver.wait(lambda: bool(app.screen("id_login").problem), 30, "expired card refused")
        shot("id_login_expired")
        swap_card_out(driver, stack)
    log_in(driver, stack)
    shot("service_list")
    to_form(driver, shot)
    fill_form(driver)
    shot("form")
    driver.tap("btn_next")
    driver.wait_screen("scan", 60)
    blurry_page(driver, shot)
    capture_all(driver, shot)
    shot("scan")
    driver.tap("btn_next")
    driver.wait_screen("confirm")
    shot("confirm")
    driver.tap("btn_next")
    driver.wait_screen("receipt", 120)
    shot("receipt")
    driver.tap("btn_next")
    driver.wait_screen("done")
    shot("done")
    driver.tap("btn_home")
    driver.wait_screen("home")


def run_tour(out_dir: str | Path, workdir: str | Path, role: str = "citizen", elder: bool = False,
             language: str = "zh_CN", orientation: str = "landscape") -> dict:
    if role == "counter":  # the clerk's screens, on a seeded outlet (screens/counter/tour_steps.py)
        from screens.counter.tour_steps import run_counter_tour

        return run_counter_tour(out_dir, workdir, elder=elder, language=language, orientation=orientation)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    overflow: dict[str, list[str]] = {}  # screen → text that does not fit, widgets outside the window
    with DemoStack(workdir, role=role) as stack:
        cfg = stack.kiosk_config(elder=elder, language=language)
        cfg.display.orientation = orientation
        app = make_app(cfg, headless=True)
        from screens.driver import AppDriver  # Kivy is imported only once it is configured

        driver = AppDriver(app)
        driver.start()
        try:
            def shot(name: str) -> None:
                written.append(str(driver.screenshot(out / f"{name}.png")))
                problems = driver.overflow()
                if problems:
                    overflow[name] = problems

            journey(driver, stack, shot)
            from screens.citizen_tour import citizen_journeys  # 一件事, 代办, progress, 好差评, 办不成事 (issue 11)

            swap_card_out(driver, stack)
            citizen_journeys(driver, stack, shot, out)
            result_png = None
            receipts = sorted((Path(cfg.kiosk.data_dir) / "receipts").glob("*.png"))
            if receipts:
                result_png = out / "receipt_preview.png"
                shutil.copyfile(receipts[-1], result_png)
                written.append(str(result_png))
        finally:
            driver.stop()
    return {"screens": written, "receipt_preview": str(result_png) if result_png else None, "overflow": overflow,
            "orientation": orientation}
