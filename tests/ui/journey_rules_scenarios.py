"""UI scenarios for a citizen journey that cannot go wrong (the right person, the right pages, the right fields), run
one per process by test_journey_rules.py on the real app, the real hub and platform simulator and simulated devices.
"""
from __future__ import annotations

import json
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kiosk.demo import DemoStack, sample_card  # noqa: E402
from scenarios import OUT, running_app  # noqa: E402
from screens.tour import PHONE, fill_form, log_in, to_login, type_on_pad  # noqa: E402

JOURNEY = ("service_list", "guide", "form", "scan", "confirm")
RESIDENCE = "11610000MB1725039T2000140017000"  # 居住证申领: text, date and choice fields, all required


def _config(**kiosk):
    from kiosk.config import Config

    cfg = Config()
    for key, value in kiosk.items():
        setattr(cfg.kiosk, key, value)
    return cfg


def _choose(d, item_code: str) -> None:
    """Open a service's form the way its guide does (the list screen belongs to another scenario)."""
    app = d.app
    item = next(i for i in app.catalog or app.terminal.catalog() if i.get("item_code") == item_code)
    app.session.choose_service(item)
    app.go("guide")
    d.wait_screen("guide")
    d.tap("btn_next")
    d.wait_screen("form")


def _to_scan(d, item_code: str | None = None) -> None:
    if item_code:
        _choose(d, item_code)
    else:
        _choose(d, d.app.catalog[0]["item_code"])
    fill_form(d)
    d.tap("btn_next")
    d.wait_screen("scan", 60)


# -- 1. one citizen, one card ----------------------------------------------------------------------------------
def card_ownership(work: Path, module: str = "continuous") -> dict:
    out: dict = {}
    with DemoStack(work) as stack:
        stack.reader.module = module
        with running_app(stack, base=_config(card_return_s=3.0)) as (app, cfg, d):
            app.cfg.devices.idcard.module = module
            # A card already lying on the reader when the journey starts is read at once.
            d.wait(lambda: app.terminal.card_reader_status == "online", 30, "reader")
            stack.reader.place(sample_card("resident"))
            d.wait(lambda: app.terminal.current_card is not None, 30, "card read on home")
            d.tap("btn_start")
            d.wait(lambda: app.current == "service_list" and not app.busy, 60, "logged in from the card on the reader")
            out["preplaced_login"] = app.session.card["id_number"] == sample_card("resident")["id_number"]
            first_id = app.session.card["id_number"]
            _choose(d, app.catalog[0]["item_code"])
            d.tap("phone")
            type_on_pad(d, PHONE)
            # Taken away and put back: asked for it with a countdown, then nothing lost.
            stack.reader.remove()
            if module == "continuous":
                d.wait(lambda: app.card_return_countdown > 0, 30, "put-it-back countdown")
                out["countdown_shown"] = True
                d.screenshot(OUT / "card" / f"put_back_{module}.png")
            stack.reader.place(sample_card("resident"))
            d.wait(lambda: app.card_return_countdown == 0 and app.terminal.current_card is not None, 30, "card back")
            d.frames(5)
            out["after_put_back"] = {"screen": app.current, "phone_kept": app.screen("form").ids.phone.text == PHONE,
                                     "same_person": app.session.card is not None and app.session.card["id_number"] == first_id}
            # A different card: the session ends and a new one starts for the new card.
            stack.reader.remove()
            time.sleep(0.6)
            stack.reader.place(sample_card("foreign_2023"))
            d.wait(lambda: app.session.card is not None and app.session.card["id_number"] != first_id
                   and app.current == "service_list" and not app.busy, 60, "new session for the new card")
            out["swap"] = {"screen": app.current, "phone": app.session.phone, "notice": app.notice,
                           "new_id": app.session.card["id_number"] == sample_card("foreign_2023")["id_number"]}
            if module == "continuous":
                # Taken away and not put back: the session ends with nothing kept.
                _choose(d, app.catalog[0]["item_code"])
                stack.reader.remove()
                d.wait(lambda: app.current == "home" and app.card_return_countdown == 0, 30, "session ended")
                out["not_returned"] = {"screen": app.current, "card": app.session.card, "notice": app.notice,
                                       "sessions_left": [p.name for p in (Path(cfg.kiosk.data_dir) / "sessions").glob("*")]}
            else:
                # A single-read module cannot vouch for a card read in an earlier session: it asks to lift and replace.
                app.end_session()
                d.wait_screen("home")
                d.tap("btn_start")
                d.wait_screen("id_login")
                d.frames(3)
                out["stale_single"] = {"screen": app.current, "problem": app.screen("id_login").problem}
                stack.reader.remove()
                time.sleep(0.5)
                stack.reader.place(sample_card("resident"))
                d.wait_screen("service_list", 60)
                out["stale_single"]["after_replace"] = app.current
        # Nothing was filed under anybody.
        out["cases_filed"] = len(list((Path(cfg.kiosk.data_dir) / "receipts").glob("*.bin")))
    return out


def card_ownership_single(work: Path) -> dict:
    return card_ownership(work, module="single")


def unreadable_card_and_idle_leftover(work: Path) -> dict:
    """An unreadable card is said on the login screen; a card left behind at an idle timeout is read when the next
    journey starts (continuous module: the reader vouches that it is still there)."""
    with DemoStack(work) as stack:
        with running_app(stack, base=_config(idle_timeout_s=4.0, idle_warning_s=1.0)) as (app, cfg, d):
            to_login(d)
            stack.reader._faults["bad_checksum"] = 1
            stack.reader.place(sample_card("resident"))
            d.wait(lambda: bool(app.screen("id_login").problem) or app.current != "id_login", 30, "unreadable card said")
            unreadable = app.screen("id_login").problem
            d.wait(lambda: app.current == "service_list", 60, "read on the retry")
            d.wait(lambda: app.current == "home", 30, "idle timeout")
            d.tap("btn_start")
            d.wait(lambda: app.current == "service_list" and not app.busy, 60, "left-behind card read at start")
            return {"unreadable": unreadable, "screen": app.current}


# -- 2. capture that shows what it took ------------------------------------------------------------------------
def _scenes(folder: Path) -> dict[str, int]:
    """Camera pictures at the simulated camera's full mode: pages, an empty desk, a blurred page, a glared page."""
    import cv2
    import numpy as np

    from devices.scanner.synthetic import A4_MM, SceneSpec, compose_scene, place_page, render_base, render_form_page

    folder.mkdir(parents=True, exist_ok=True)
    size = (2592, 1944)
    names = {}

    def page_scene(seed: int, **spec) -> np.ndarray:
        rng = np.random.default_rng(seed)
        page = render_form_page(rng, width=1240)
        corners = place_page(rng, size, A4_MM, height_frac=(0.7, 0.85), max_rotation=6)
        return compose_scene(page, SceneSpec(frame_size=size, corners=corners, base="dark_mat", falloff=0.1,
                                             noise_sigma=2.0, jpeg_quality=92, seed=seed, **{"blur_sigma": 0.7, **spec}))

    frames = {"a": page_scene(21), "b": page_scene(22), "c": page_scene(23), "d": page_scene(24), "e": page_scene(25),
              "empty": np.clip(render_base("dark_mat", size, np.random.default_rng(5)), 0, 255).astype(np.uint8),
              "blurred": page_scene(26, blur_sigma=6.0)}
    for i, (name, frame) in enumerate(frames.items()):
        cv2.imwrite(str(folder / f"{i:02d}_{name}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
        names[name] = i
    return names


def capture_rules(work: Path) -> dict:
    from devices.scanner.simulator import device as sim_device

    scenes = _scenes(work / "scenes")
    out: dict = {}
    with DemoStack(work) as stack:
        base = _config()
        base.devices.camera.source = f"sim:{work / 'scenes'}"
        with running_app(stack, base=base) as (app, cfg, d):
            cfg.devices.camera.source = base.devices.camera.source
            app.cfg.devices.camera.source = base.devices.camera.source
            camera = sim_device(base.devices.camera.source)
            scan = app.screen("scan")

            def lay(name: str) -> None:
                camera.page = scenes[name]
                time.sleep(0.3)

            def pages() -> int:
                return sum(len(m.pages) for m in app.session.materials)

            lay("empty")
            to_login(d)
            log_in(d, stack)
            _to_scan(d)
            d.wait(lambda: scan.camera_ok, 60, "camera")
            out["first_prompt"] = scan.page_prompt
            # An empty desk is refused in words and voice; auto-capture never fires on it.
            time.sleep(2.0)
            d.frames(5)
            out["auto_on_empty"] = pages()
            d.tap("btn_capture")
            d.idle(60)
            out["empty_problem"] = scan.problem
            out["empty_spoken"] = app.last_spoken
            d.screenshot(OUT / "capture" / "empty_desk.png")
            # A new page is taken by itself; the same page left there is not taken again.
            lay("a")
            d.wait(lambda: pages() == 1 and not app.busy, 90, "auto-capture of a new page")
            out["second_prompt"] = scan.page_prompt
            time.sleep(3.0)
            d.frames(5)
            out["pages_after_same_page_stays"] = pages()
            # The same page under the button: refused as already captured.
            d.tap("btn_capture")
            d.idle(60)
            out["same_page_problem"] = scan.problem
            # The back of the card, then a blurred page gets advice before it is accepted.
            lay("b")
            d.wait(lambda: pages() == 2 and not app.busy, 90, "back of the card")
            lay("blurred")
            d.wait(lambda: scan.pending is not None or pages() == 3, 90, "blurred page")
            d.idle(60)
            out["blur_advice"] = scan.problem
            out["blur_pending"] = scan.pending is not None
            d.screenshot(OUT / "capture" / "blur_advice.png")
            if scan.pending is not None:
                d.tap("btn_retake_pending")
            lay("c")
            d.wait(lambda: pages() == 3 and not app.busy, 90, "sharp page instead")
            lay("d")
            d.wait(lambda: not app.session.missing_materials() and not app.busy, 90, "all pages")
            # Look at a page large, retake it, delete one, add a page.
            d.tap(scan.ids.material_chips.children[-1])  # the first material: the ID card
            d.frames(3)
            d.tap(list(reversed(scan.ids.thumb_row.children))[0])
            out["large_view"] = scan.viewing == 0 and bool(scan.view_source)
            d.screenshot(OUT / "capture" / "large_view.png")
            d.tap("btn_retake_page")
            out["retake_prompt"] = scan.page_prompt
            first_before = app.session.materials[0].pages[0].path
            lay("e")
            d.wait(lambda: app.session.materials[0].pages[0].path != first_before and not app.busy, 90, "retaken")
            out["retake_replaced"] = len(app.session.materials[0].pages) == 2
            second = app.session.materials[1]
            lay("a")  # "a" was retaken away from the ID card, so it is a page this session does not hold any more
            d.tap(scan.ids.material_chips.children[-2])
            d.frames(3)
            out["can_add_page"] = scan.can_add_page
            d.tap("btn_add_page")
            d.wait(lambda: len(second.pages) == second.declared_pages + 1 and not app.busy, 90, "added page")
            d.tap(list(reversed(scan.ids.thumb_row.children))[-1])
            d.tap("btn_delete_page")
            out["after_delete"] = len(second.pages)
            d.screenshot(OUT / "capture" / "scan_done.png")
            d.tap("btn_next")
            d.wait_screen("confirm")
            out["confirm"] = app.screen("confirm").summary
            d.tap("btn_next")
            d.wait_screen("receipt", 120)
            receipt_no = app.last_result.receipt_no
        # The platform got the real page counts.
        deadline = time.monotonic() + 60
        case_no = None
        while time.monotonic() < deadline and not case_no:
            case_no = requests.get(f"{stack.hub_url}/api/v1/cases/{receipt_no}",
                                   headers={"Authorization": f"Bearer {stack.token}"}, timeout=5).json().get("case_no")
            time.sleep(0.5)
        sim = requests.get(f"{stack.platform_url}/sim/cases/{case_no}", timeout=5).json() if case_no else {}
        out["platform_pages"] = {m["code"]: m.get("pages") for m in sim.get("materials", [])}
        from devices.printer.decoder import decode

        out["receipt_text"] = decode(stack.printer.received).text
    return out


# -- 3. the item's own form ----------------------------------------------------------------------------------------
def item_form(work: Path) -> dict:
    out: dict = {}
    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            to_login(d)
            stack.reader.place(sample_card("foreign_2023"))  # no address on the card
            d.wait(lambda: app.current == "service_list" and not app.busy, 60, "logged in")
            _choose(d, RESIDENCE)
            form = app.screen("form")
            out["fields"] = sorted(form._rows)
            d.tap("phone")
            type_on_pad(d, PHONE)
            d.tap("btn_next")
            out["blocked_empty"] = {"screen": app.current, "errors": {k: r.error for k, (f, r) in form._rows.items()}}
            d.screenshot(OUT / "form" / "required_fields.png")
            # Malformed values get their reason; what was typed stays.
            d.tap(form.field_widget("residence_since"))
            type_on_pad(d, "20241399")
            form.field_widget("residence_address").text = "雁塔区小寨东路1号"
            d.tap(list(reversed(form.field_widget("reason").children))[0])
            d.tap("btn_next")
            out["bad_date"] = {"screen": app.current, "error": form._rows["residence_since"][1].error,
                               "address_kept": form.field_widget("residence_address").text}
            d.tap(form.field_widget("residence_since"))
            d.tap("key_clear")
            type_on_pad(d, "20240301")
            # 邮寄 with a card that has no address: only an entered address is possible.
            d.tap("delivery_post")
            out["card_address_button_disabled"] = form.ids.address_card.disabled
            form.mailing_input.text = "短"
            d.tap("btn_next")
            out["short_address"] = {"screen": app.current, "error": form.address_error}
            form.mailing_input.text = "陕西省西安市雁塔区小寨东路1号3号楼2单元501室"
            d.tap("btn_next")
            d.wait_screen("scan", 60)
            # Back to the form: everything is still there.
            d.tap("btn_back")
            d.wait_screen("form")
            out["kept_on_return"] = {"since": form.field_widget("residence_since").text,
                                     "mailing": form.mailing_input.text, "reason": form.field_widget("reason").value}
            d.tap("btn_next")
            d.wait_screen("scan", 60)
            from screens.tour import capture_all

            capture_all(d)
            d.tap("btn_next")
            d.wait_screen("confirm")
            out["confirm"] = app.screen("confirm").summary
            d.tap("btn_next")
            d.wait_screen("receipt", 120)
            receipt_no = app.last_result.receipt_no
            # The session ends while a field still has a redraw due on the clock (a size change of the form does
            # that): what was typed must not come back into Kivy's text caches after the wipe.
            from kivy.cache import Cache

            from screens.base import TYPED_TEXT_CACHES

            form.field_widget("residence_address")._trigger_refresh_text()
            # …nor from a text field that no screen's reset knows of (one a future screen might forget), dropped
            # with its redraw due on the clock: the wipe is done again after the next frame.
            from kivy.uix.textinput import TextInput

            stray = TextInput(text="陕西省西安市雁塔区小寨东路2号")
            stray._trigger_refresh_text()
            app.end_session()
            d.frames(3)
            out["typed_left"] = [key.split("\0", 1)[0] for category in TYPED_TEXT_CACHES
                                 for key in Cache._objects.get(category, {}) if "小寨东路" in key]
        deadline = time.monotonic() + 60
        case_no = None
        while time.monotonic() < deadline and not case_no:
            case_no = requests.get(f"{stack.hub_url}/api/v1/cases/{receipt_no}",
                                   headers={"Authorization": f"Bearer {stack.token}"}, timeout=5).json().get("case_no")
            time.sleep(0.5)
        sim = requests.get(f"{stack.platform_url}/sim/cases/{case_no}", timeout=5).json() if case_no else {}
        out["platform_form"] = sim.get("form")
        out["platform_delivery"] = sim.get("delivery")
    return out


# -- 5. no dead ends -------------------------------------------------------------------------------------------------
def _hung_server():
    """A TCP server that accepts and never answers (a hung hub)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held = []
    stop = threading.Event()

    def loop():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                held.append(conn)
            except OSError:
                continue
        for c in held:
            c.close()
        srv.close()

    threading.Thread(target=loop, daemon=True).start()
    return srv.getsockname()[1], stop


def no_dead_ends(work: Path) -> dict:
    from devices.scanner.simulator import device as sim_device

    out: dict = {"screens": {}}
    with DemoStack(work, printer_state="near_end") as stack:
        with running_app(stack) as (app, cfg, d):
            # Device trouble shows on home before anybody starts.
            app.terminal.refresh_device_status()
            d.wait(lambda: "paper_near_end" in app.device_problems, 15, "paper near end on home")
            out["home_banner"] = [w.text for w in app.screen("home").walk() if "打印纸" in str(getattr(w, "text", ""))]
            d.screenshot(OUT / "dead_ends" / "home_banner.png")
            # Every journey screen has Back and End session.
            to_login(d)
            out["screens"]["id_login"] = _has_exits(d)
            log_in(d, stack)
            out["screens"]["service_list"] = _has_exits(d)
            _choose(d, app.catalog[0]["item_code"])
            out["screens"]["form"] = _has_exits(d)
            d.tap("btn_back")
            d.wait_screen("guide")
            out["screens"]["guide"] = _has_exits(d)
            d.tap("btn_next")
            d.wait_screen("form")
            fill_form(d)
            d.tap("btn_next")
            d.wait_screen("scan", 60)
            out["screens"]["scan"] = _has_exits(d)
            from screens.tour import capture_all

            capture_all(d)
            d.tap("btn_next")
            d.wait_screen("confirm")
            out["screens"]["confirm"] = _has_exits(d)
            # A hung hub: the wait shows its progress and a way out after a second; the receipt then says 待上传.
            port, stop = _hung_server()
            app.terminal._hub = None
            app.terminal.cfg.hub.url = f"http://127.0.0.1:{port}"
            app.terminal.cfg.hub.timeout_s = 30
            started = time.monotonic()
            d.tap("btn_next")
            d.wait(lambda: app.busy and app.busy_elapsed >= 1 and bool(app.busy_cancel_text), 20, "cancel offered")
            d.screenshot(OUT / "dead_ends" / "hung_hub_wait.png")
            out["cancel_text"] = app.busy_cancel_text
            d.tap(app.root.ids.btn_cancel_wait)
            d.wait_screen("receipt", 60)
            out["hung_hub"] = {"seconds": round(time.monotonic() - started, 1), "pending": app.last_result.pending_upload}
            stop.set()
            d.tap("btn_quit")
            d.wait_screen("home")
            # No camera: the home screen says so and starting leads to the out-of-service screen.
            sim_device(cfg.devices.camera.source).unplug()
            app.terminal.refresh_device_status(probe_hub=False)
            d.wait(lambda: "camera_missing" in app.device_problems, 15, "camera missing")
            d.tap("btn_start")
            d.wait_screen("out_of_service")
            oos = app.screen("out_of_service")
            out["out_of_service"] = {"broken": oos.broken, "where": oos.where_to_go(), "exits": _has_exits(d)}
            d.screenshot(OUT / "dead_ends" / "out_of_service.png")
            sim_device(cfg.devices.camera.source).replug()
            app.terminal.refresh_device_status(probe_hub=False)
            d.wait_screen("home", 15)
            out["back_home_when_fixed"] = app.current
            # A hub that refuses the kiosk's token: an alarm on screen for staff.
            app.terminal._hub = None
            app.terminal.cfg.hub.url = stack.hub_url
            app.terminal.cfg.hub.token = "not-a-valid-token"
            app.terminal.refresh_device_status()
            d.wait(lambda: bool(app.staff_alarm), 15, "staff alarm")
            out["staff_alarm"] = app.staff_alarm
            d.screenshot(OUT / "dead_ends" / "staff_alarm.png")
    return out


def _has_exits(d) -> dict:
    found = {}
    for wid, names in (("btn_back", ("btn_back",)), ("btn_quit", ("btn_quit", "btn_exit"))):
        found[wid] = False
        for name in names:
            try:
                w = d.widget(name)
            except AssertionError:
                continue
            found[wid] = not w.disabled and w.opacity > 0 and bool(w.text)
            break
    return found


# -- 6. every session starts fresh; 7. English is English -------------------------------------------------------------
def fresh_and_english(work: Path) -> dict:
    out: dict = {}
    with DemoStack(work) as stack:
        with running_app(stack, base=_config(idle_timeout_s=8.0, idle_warning_s=1.0)) as (app, cfg, d):
            d.wait_screen("home")
            d.wait(lambda: app.terminal.card_reader_status == "online", 30, "card reader online")
            d.tap("btn_lang")
            d.tap("btn_elder")
            d.tap("btn_start")
            d.wait_screen("id_login")
            stack.reader.place(sample_card("foreign_2023"))
            d.wait(lambda: app.current == "service_list" and not app.busy, 60, "logged in")
            out["greeting"] = app.session.display_name  # what the screens greet with
            _choose(d, app.catalog[0]["item_code"])
            d.tap("btn_back")
            d.wait_screen("guide")
            guide = app.screen("guide")
            out["guide"] = {"title": guide.title, "body": guide.body}
            d.screenshot(OUT / "english" / "guide.png")
            d.tap("btn_next")
            d.wait_screen("form")
            out["form_labels"] = [row.label for _, row in app.screen("form")._rows.values()]
            out["form_choices"] = [b.text for _, row in app.screen("form")._rows.values()
                                   for b in getattr(row.ids.holder.children[0], "children", []) if hasattr(b, "choice_value")]
            from screens.voice_controls import VOLUME_STATE

            VOLUME_STATE.step = 2  # the quietest step, as the citizen set it
            d.tap("btn_quit")
            d.wait_screen("home")
            out["after_quit"] = {"language": app.language, "elder": app.elder_mode, "card": app.session.card,
                                 "volume_step": VOLUME_STATE.step}
            # Chosen on home and left behind: reset by the idle timeout.
            d.tap("btn_lang")
            d.wait(lambda: app.language == "zh_CN", 30, "idle reset on home")
            out["idle_reset"] = app.language
    return out


if __name__ == "__main__":
    name = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix=f"ui-{name}-") as tmp:
        result = globals()[name](Path(tmp))
    print("RESULT " + json.dumps(result, ensure_ascii=False, default=str))
