"""UI scenarios, each run in its own process (Kivy has one window per process) by test_ui_journeys.py.

Every scenario starts the real stack (platform simulator and hub processes on loopback, simulated ID reader
on a pty, simulated printer on TCP, simulated camera), runs the real app offscreen and taps with synthetic
touches. A failed assertion exits non-zero with its traceback on stderr.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kiosk.demo import DemoStack, sample_card  # noqa: E402
from screens.tour import fill_form, log_in, swap_card_out, to_form, to_login  # noqa: E402  (no Kivy import until the app is made)

OUT = Path(os.environ.get("KIOSK_UI_SHOTS", tempfile.mkdtemp(prefix="ui-shots-")))


@contextlib.contextmanager
def running_app(stack, **cfg_overrides):
    """The real app on the stack's devices, offscreen, with a driver; stopped on the way out."""
    from screens.tour import make_app

    cfg = stack.kiosk_config(**cfg_overrides)
    app = make_app(cfg, headless=True)
    from screens.driver import AppDriver  # Kivy is imported only once it is configured

    d = AppDriver(app)
    d.start()
    try:
        yield app, cfg, d
    finally:
        d.stop()
        # The clock runs on a little after the app stops (as it does when a window closes): nothing the app
        # scheduled may then fail for want of a running app (see test_idle_timeout_wipes_the_session).
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            d.frames(1)
            time.sleep(0.05)


def _nonblank(path: Path) -> None:
    from PIL import Image

    img = Image.open(path).convert("L")
    lo, hi = img.getextrema()
    assert hi - lo > 100, f"{path} looks blank"


def journey_online(work: Path) -> dict:
    """The whole citizen journey with everything up; checks the case at the platform and the printed bytes."""
    from devices.printer.decoder import decode
    from screens.tour import PHONE, journey

    with DemoStack(work) as stack:
        shots = {}
        with running_app(stack) as (app, cfg, d):
            from kivy.core.window import Window

            goodbye = {"frames": 0, "wipes_after": [], "wiped_while_shown": None}

            def shot(name):
                shots[name] = d.screenshot(OUT / "online" / f"{name}.png")
                if name == "done":  # the citizen reads the goodbye: their data is gone already
                    goodbye["wiped_while_shown"] = app.session.card is None and app.last_result is None

            def count_goodbye_frames(*_):
                goodbye["frames"] += app.current == "done"

            wipe_data = app.wipe_data

            def watched_wipe(*args, **kwargs):
                if app.current == "done":
                    goodbye["wipes_after"].append(goodbye["frames"])  # frames of the goodbye drawn before it
                wipe_data(*args, **kwargs)

            app.wipe_data = watched_wipe
            Window.bind(on_flip=count_goodbye_frames)
            journey(d, stack, shot)
            Window.unbind(on_flip=count_goodbye_frames)
            # The journey ended at home with the session wiped.
            assert app.session.card is None and app.last_result is None
            assert not list((Path(cfg.kiosk.data_dir) / "sessions").glob("*")), "scratch pages left behind"
            # Nor anything the session drew or typed: Kivy's textures of the lines typed (the phone number), the
            # receipt's fonts, the closed camera's scene (each of the last two is 15-19 MB held all day otherwise).
            from kivy.cache import Cache

            from devices.printer import fonts as receipt_fonts
            from devices.scanner import simulator

            from kiosk.demo import sample_card
            from screens.base import TYPED_TEXT_CACHES
            from screens.tour import FIELD_SAMPLES

            # What the citizen typed and what the card filled in. The fields' empty lines and hints may be drawn
            # again on the frame after the wipe (a cleared field shows its hint), so only these are looked for.
            citizen = [PHONE, *FIELD_SAMPLES.values(),
                       *(v for v in sample_card("resident").values() if isinstance(v, str) and len(v) >= 2)]
            left = []
            for category in TYPED_TEXT_CACHES:
                for key in list(Cache._objects.get(category, {})):
                    line = key.split("\0", 1)[0].strip()
                    if len(line) >= 2 and any(line in value or value in line for value in citizen):
                        left.append((category, line))
            assert not left, f"the session's text is still in Kivy's caches: {left}"
            assert receipt_fonts._load.cache_info().currsize == 0
            assert not simulator._frame_cache
            # Every label of every screen drawn: its pixels are in its texture only, not also in the SDL surface
            # Kivy's text provider drew them on (screens.text_surfaces).
            drawn = kept = 0
            for screen in app.sm.screens:
                for widget in screen.walk():
                    core = getattr(widget, "_label", None)
                    if core is not None and hasattr(core, "_surface"):
                        drawn += 1
                        kept += core._surface is not None
        for path in shots.values():
            _nonblank(path)
        receipts = sorted((Path(cfg.kiosk.data_dir) / "receipts").glob("*.bin"))
        assert len(receipts) == 1
        receipt_no = receipts[0].stem
        # The relay may still be finishing under load: give it a bounded wait.
        deadline = time.monotonic() + 60
        while True:
            status = requests.get(f"{stack.hub_url}/api/v1/cases/{receipt_no}",
                                  headers={"Authorization": f"Bearer {stack.token}"}, timeout=5).json()
            case_no = status["case_no"]
            if case_no or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert case_no, status
        sim = requests.get(f"{stack.platform_url}/sim/cases/{case_no}", timeout=5).json()
        printed = stack.printer.received
        decoded = decode(printed)
        # The receipt copy reaches the hub with the case, for a clerk's reprint.
        from kiosk.terminal import Terminal

        terminal = Terminal(cfg)
        terminal.outbox().drain(terminal.hub())
        receipt_copy_left = terminal.outbox().receipt(receipt_no)
        return {"receipt_no": receipt_no, "case_no": case_no, "sim": sim, "text": decoded.text,
                "qr": decoded.qr_payloads, "cuts": decoded.cuts, "printed_len": len(printed), "phone": PHONE,
                "printed_equals_copy": receipts[0].read_bytes() == printed, "copy_left_on_kiosk": receipt_copy_left is not None,
                "shots": sorted(shots), "labels_drawn": drawn, "text_surfaces_kept": kept, "goodbye": goodbye}


def journey_hub_down(work: Path) -> dict:
    """The hub is unreachable: the citizen still finishes, the receipt says 待上传, the case waits in the outbox,
    and it reaches the platform once the hub is back."""
    from devices.printer.decoder import decode
    from screens.tour import journey

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            d.wait_screen("home")
            # Load the catalog once so the kiosk has its cached copy, then take the hub away.
            app.terminal.catalog()
            stack.stop_process("hub")
            journey(d, stack, lambda name: d.screenshot(OUT / "offline" / f"{name}.png") if name == "receipt" else None,
                    expired_first=False)
        decoded = decode(stack.printer.received)
        pending = app.terminal.outbox().pending()
        assert len(pending) == 1, pending
        receipt_no = sorted((Path(cfg.kiosk.data_dir) / "receipts").glob("*.bin"))[0].stem
        # The hub comes back on the same database and port; the outbox drains.
        stack.restart_hub()
        from kiosk.terminal import Terminal

        terminal = Terminal(stack.kiosk_config())
        report = terminal.outbox().drain(terminal.hub())
        deadline = time.monotonic() + 30
        case_no = None
        while time.monotonic() < deadline and not case_no:
            case_no = terminal.hub().case_status(receipt_no).get("case_no")
            time.sleep(0.3)
        return {"text": decoded.text, "pending_before": len(pending), "pending_after": len(terminal.outbox().pending()),
                "receipt_no": receipt_no, "case_no": case_no, "report": report}


def idle_timeout(work: Path) -> dict:
    """No touch for the idle timeout: a warning, then the session is wiped and home is shown."""
    with DemoStack(work) as stack:
        from kiosk.config import Config

        base = Config()
        base.kiosk.idle_timeout_s = 1.0
        base.kiosk.idle_warning_s = 2.0
        with running_app(stack, base=base) as (app, cfg, d):
            to_login(d)
            log_in(d, stack)
            assert app.session.card is not None
            d.wait(lambda: app.idle_countdown > 0, 10, "idle warning")
            d.screenshot(OUT / "idle" / "idle_warning.png")
            warned = True
            d.wait(lambda: app.current == "home" and app.idle_countdown == 0, 10, "home after timeout")
            return {"warned": warned, "card_after": app.session.card, "screen": app.current}


def elder_and_language(work: Path) -> dict:
    """Elder mode makes targets at least 60 dp and text larger; English switches every label live."""
    from kivy.metrics import dp, sp

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            d.wait_screen("home")
            start = d.widget("btn_start", "home")
            normal_font = start.font_size
            zh_text = start.text
            d.tap("btn_elder")
            elder_font = start.font_size
            heights = {wid: d.widget(wid, "home").height for wid in ("btn_start", "btn_elder", "btn_lang")}
            d.tap("btn_lang")
            language = app.language
            en_text = start.text
            d.screenshot(OUT / "elder" / "home_elder_en.png")
            return {"normal_font": normal_font, "elder_font": elder_font, "min_height_dp": min(heights.values()) / dp(1),
                    "zh": zh_text, "en": en_text, "sp18": sp(18), "language": language}


def crash_recovery(work: Path) -> dict:
    """An exception in a UI callback is logged, the session wiped, and the kiosk goes home instead of dying."""
    from kivy.clock import Clock

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            d.wait_screen("home")
            d.tap("btn_start")
            d.wait_screen("id_login")

            def boom(dt):
                raise RuntimeError("simulated fault in a screen callback for 610324199001010063")

            Clock.schedule_once(boom, 0)
            d.wait(lambda: app.current == "home" and bool(app.notice), 10, "recovery")
            return {"screen": app.current, "notice": app.notice}


def paper_out(work: Path) -> dict:
    """The printer is out of paper: the screen shows the receipt number and QR instead, nothing is left held
    in the printer, and a clerk reprints the copy kept with the case once paper is loaded."""
    import subprocess

    from screens.tour import journey

    with DemoStack(work, printer_state="empty") as stack:
        seen = {}
        with running_app(stack) as (app, cfg, d):
            def shot(name):
                if name == "receipt":
                    scr = app.screen("receipt")
                    seen.update(printer_line=scr.printer_line, receipt_no=scr.receipt_no,
                                qr_shown=scr.ids.qr.texture is not None)
                    d.screenshot(OUT / "paper_out" / "receipt.png")

            journey(d, stack, shot, expired_first=False)
        printed_while_empty = len(stack.printer.received)
        receipt_no = seen["receipt_no"]
        local_copy = (Path(cfg.kiosk.data_dir) / "receipts" / f"{receipt_no}.bin").read_bytes()
        from kiosk.terminal import Terminal

        terminal = Terminal(cfg)
        terminal.outbox().drain(terminal.hub())
        env = dict(stack._env(), KIOSK_HUB_URL=stack.hub_url)
        clerk = json.loads(subprocess.run(stack._kiosk_cmd("hub", "token", "create", "--role", "clerk", "--name", "clerk01",
                                                           "--db", stack.hub_db, "--json"),
                                          env=env, check=True, capture_output=True, text=True).stdout)["token"]
        stack.printer.set_state("ok")
        reprint = subprocess.run(stack._kiosk_cmd("receipt", "reprint", receipt_no, "--device", stack.printer.device),
                                 env=dict(env, KIOSK_HUB_TOKEN=clerk), capture_output=True, text=True, timeout=60)
        return {**seen, "printed_while_empty": printed_while_empty, "reprint_rc": reprint.returncode,
                "reprint_out": reprint.stdout, "reprint_err": reprint.stderr[-2000:],
                "reprinted_equals_copy": stack.printer.received == local_copy}


def _card_to_scan(d, stack) -> None:
    """A citizen's card, the first service, its form filled, on to the scan screen."""
    to_login(d)
    log_in(d, stack)
    to_form(d)
    fill_form(d)
    d.tap("btn_next")
    d.wait_screen("scan", 60)


def auto_capture_and_busy_overlay(work: Path) -> dict:
    """On the scan screen the camera shoots by itself once the page is still; while the kiosk is busy, taps on
    the screen underneath do nothing."""

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            _card_to_scan(d, stack)
            # No tap on the capture button: every page is shot when a new page lies still (the citizen turns the
            # page after each shot; the same page is never taken twice).
            from devices.scanner.simulator import device as sim_device

            camera = sim_device(cfg.devices.camera.source)
            taken = [0]

            def turned_when_taken() -> bool:
                pages = sum(len(m.pages) for m in app.session.materials)
                if pages > taken[0]:
                    taken[0] = pages
                    camera.next_page()
                return not app.session.missing_materials() and not app.busy

            d.wait(turned_when_taken, 180, "auto-capture of every page")
            captured = [m.name for m in app.session.materials if m.complete]
            # Busy: the overlay takes the touch, the Back button underneath does not react.
            app.busy = True
            d.frames(2)
            d.tap("btn_back")
            blocked_screen = app.current
            app.busy = False
            d.frames(2)
            d.tap("btn_back")
            after_screen = app.current
            # The citizen walks away leaving a page under the camera that was never taken. The next citizen's
            # session does not take it by itself (it is not theirs): it says so, and takes their own page.
            app.end_session()
            swap_card_out(d, stack)
            _card_to_scan(d, stack)
            scan = app.screen("scan")
            d.wait(lambda: scan.camera_ok, 60, "camera preview")
            d.wait(lambda: bool(scan.problem), 20, "the leftover page is pointed out")
            time.sleep(2.0)
            d.frames(3)
            leftover = {"pages": sum(len(m.pages) for m in app.session.materials), "problem": scan.problem,
                        "spoken": app.last_spoken}
            d.screenshot(OUT / "capture" / "leftover_page.png")
            camera.next_page()  # the citizen's own page
            d.wait(lambda: sum(len(m.pages) for m in app.session.materials) == 1 and not app.busy, 90,
                   "auto-capture of the citizen's own page")
            leftover["problem_after"] = scan.problem
            return {"captured": captured, "blocked_screen": blocked_screen, "after_screen": after_screen,
                    "leftover": leftover}


def reader_unplugged(work: Path) -> dict:
    """The ID reader is unplugged while the login screen waits: the kiosk says so, keeps running, and carries on
    by itself when the reader is plugged back in."""
    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            to_login(d)
            stack.reader.unplug()
            d.wait(lambda: app.terminal.card_reader_status == "no_device", 30, "reader reported missing")
            d.wait(lambda: app.status_line == "读卡器未连接", 5, "status line")
            unplugged_line = app.status_line
            d.screenshot(OUT / "unplugged" / "id_login_no_reader.png")
            stack.reader.replug()
            d.wait(lambda: app.terminal.card_reader_status == "online", 30, "reader back")
            log_in(d, stack)
            return {"unplugged_line": unplugged_line, "screen": app.current}


def elder_voice(work: Path) -> dict:
    """Elder mode speaks each screen's main instruction: switched on at home it says the home prompt, entering the
    login screen synthesises (and plays, where SDL can open audio) the ID card prompt; standard mode stays silent."""
    import wave

    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")  # SDL opens audio on a machine without a sound card
    from kiosk.i18n import gettext

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            d.wait_screen("home")
            voice_dir = Path(cfg.kiosk.data_dir) / "voice"
            home_text = gettext("Please swipe your ID card to start.", "zh_CN")
            login_text = gettext("Please place your ID card on the reader", "zh_CN")
            app.voice.wait_idle(30)
            silent_before = sorted(p.name for p in voice_dir.glob("*.wav")) if voice_dir.exists() else []
            d.tap("btn_elder")
            home_wav = app.voice.wav_path(home_text, "zh_CN")
            d.wait(lambda: home_wav.exists(), 60, "home prompt synthesised")
            d.tap("btn_start")
            d.wait_screen("id_login")
            login_wav = app.voice.wav_path(login_text, "zh_CN")
            d.wait(lambda: login_wav.exists() and app.voice.wait_idle(0), 60, "id_login prompt synthesised")
            d.frames(3)  # the player works on the UI thread
            with wave.open(str(login_wav), "rb") as w:
                duration = w.getnframes() / w.getframerate()
            sound = app.voice.player._sound
            # An expired card: the refusal with its reason is said too.
            stack.reader.place(sample_card("resident_expired"))
            d.wait(lambda: bool(app.screen("id_login").problem), 30, "expired card refused")
            refusal_wav = app.voice.wav_path(app.screen("id_login").problem, "zh_CN", personal=True)
            d.wait(lambda: refusal_wav.exists(), 60, "refusal synthesised")
            refusal_made = refusal_wav.exists()
            swap_card_out(d, stack)
            # The receipt's prompt reads the receipt number character by character, then the printer's message.
            from types import SimpleNamespace

            app.last_result = SimpleNamespace(receipt_no="K0001-20261122-0007", printer_message="printed")
            receipt_said = app.screen("receipt").spoken_prompt()
            app.last_result = None
            # The kiosk carries on: a card still logs in, and the next screen has its prompt too.
            stack.reader.place(sample_card("resident"))
            d.wait_screen("service_list", 60)
            list_wav = app.voice.wav_path(gettext("Please choose the service you need.", "zh_CN"), "zh_CN")
            d.wait(lambda: list_wav.exists(), 60, "service_list prompt synthesised")
            # The session ends: prompts that carried the citizen's data are deleted, the shared ones stay.
            journey_screen = app.current
            app.end_session()
            d.wait(lambda: not refusal_wav.exists() and app.voice.wait_idle(0), 30, "personal prompts deleted")
            return {"personal_deleted": not refusal_wav.exists(), "shared_kept": login_wav.exists(),"silent_before": silent_before, "home_wav": home_wav.exists(), "login_wav": str(login_wav),
                    "login_in_cache": login_wav.parent == voice_dir, "duration": duration,
                    "played": sound is not None, "screen": journey_screen, "list_wav": list_wav.exists(),
                    "login_text": login_text, "refusal_wav": refusal_made, "receipt_said": receipt_said}


if __name__ == "__main__":
    name = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix=f"ui-{name}-") as tmp:
        result = globals()[name](Path(tmp))
    print("RESULT " + json.dumps(result, ensure_ascii=False, default=str))
