"""The scripted tour: the real app, offscreen, driven by synthetic touches through the citizen journey on
simulated devices, one PNG per screen. `kiosk tour` runs it; the UI tests run the same steps and assert."""
from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from kiosk.demo import DemoStack, sample_card
from kiosk.fonts import ensure_ui_fonts
from kiosk.terminal import Terminal

log = logging.getLogger(__name__)

PHONE = "13712349050"


def make_app(cfg, headless: bool = True):
    from screens.kivy_setup import configure

    fonts = ensure_ui_fonts(cfg.kiosk.data_dir)
    configure(fullscreen=cfg.display.fullscreen, width=cfg.display.width, height=cfg.display.height, headless=headless)
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
    driver.tap(list(reversed(app.screen("service_list").ids.service_items.children))[0])
    driver.wait_screen("guide")
    shot("guide")
    driver.tap("btn_begin")
    driver.wait_screen("form")


def fill_form(driver) -> None:
    """Type the phone number on the keypad, pick collection at the outlet when offered, go on to scanning."""
    app = driver.app
    for digit in PHONE:
        driver.tap_text(digit, exact=True)
    if "网点代发" in app.screen("form").allowed:
        driver.tap("delivery_outlet")


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
    driver.wait(lambda: app.screen("scan").ids.preview.texture is not None, 60, "camera preview")
    while app.session.missing_materials():
        driver.tap("btn_capture")
        driver.idle(120)
        if app.screen("scan").problem:
            raise AssertionError(f"scan failed: {app.screen('scan').problem}")
    shot("scan")
    driver.tap("btn_next")
    driver.wait_screen("confirm")
    shot("confirm")
    driver.tap("btn_submit")
    driver.wait_screen("receipt", 120)
    shot("receipt")
    driver.tap("btn_done")
    driver.wait_screen("done")
    shot("done")
    driver.tap("btn_home")
    driver.wait_screen("home")


def run_tour(out_dir: str | Path, workdir: str | Path, role: str = "citizen", elder: bool = False,
             language: str = "zh_CN") -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    with DemoStack(workdir, role=role) as stack:
        cfg = stack.kiosk_config(elder=elder, language=language)
        app = make_app(cfg, headless=True)
        from screens.driver import AppDriver  # Kivy is imported only once it is configured

        driver = AppDriver(app)
        driver.start()
        try:
            def shot(name: str) -> None:
                written.append(str(driver.screenshot(out / f"{name}.png")))

            journey(driver, stack, shot)
            result_png = None
            receipts = sorted((Path(cfg.kiosk.data_dir) / "receipts").glob("*.png"))
            if receipts:
                result_png = out / "receipt_preview.png"
                shutil.copyfile(receipts[-1], result_png)
                written.append(str(result_png))
        finally:
            driver.stop()
    return {"screens": written, "receipt_preview": str(result_png) if result_png else None}
