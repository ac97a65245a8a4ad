"""Counter UI scenarios, each in its own process (Kivy has one window per process), run by test_counter_ui.py.

The real app in the counter role, offscreen, on the real stack (platform simulator and hub processes, simulated
ID reader, printer and camera); the outlet, its clerks (sample cards, PIN 246810) and a counter device token
bound to the outlet are seeded with `kiosk.counter.training.seed`.
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

from kiosk.counter import sample_card as staff_card  # noqa: E402
from kiosk.counter.training import OUTLET, TRAINING_PIN  # noqa: E402
from kiosk.demo import sample_card  # noqa: E402
from screens.counter.tour_steps import (bar_widget, counter_stack, draw_signature, finish_at_platform, hub_get,  # noqa: E402
                                        create_request, material_button, sign_in, submit_case, take_card_away, type_pin, upload_scan)

OUT = Path(os.environ.get("KIOSK_UI_SHOTS", tempfile.mkdtemp(prefix="ui-counter-")))


@contextlib.contextmanager
def counter_app(stack, **cfg_overrides):
    from screens.tour import make_app

    cfg = stack.kiosk_config(**cfg_overrides)
    cfg.hub.timeout_s = 30.0  # a busy machine answers slowly: these scenarios are not about an unreachable hub
    app = make_app(cfg, headless=True)
    from screens.driver import AppDriver

    d = AppDriver(app)
    d.start()
    try:
        yield app, cfg, d
    finally:
        d.stop()


def pin_lockout(work: Path) -> dict:
    """A citizen's card is refused as a clerk's; wrong PINs: two free, then a wait that even the right PIN cannot
    skip; the clerk signs in once the wait is over, and signs out."""
    with counter_stack(work) as stack:
        with counter_app(stack) as (app, cfg, d):
            scr = app.screen("counter_clerk_login")
            d.wait_screen("counter_clerk_login", 60)
            d.wait(lambda: app.terminal.card_reader_status == "online", 30, "card reader online")
            stack.reader.place(sample_card("resident"))
            d.wait(lambda: scr.has_card, 30, "citizen card read")
            type_pin(d, "123456")
            d.tap("btn_sign_in")
            d.idle(30)
            citizen_refusal = scr.problem
            take_card_away(d, stack)
            stack.reader.place(staff_card("clerk"))
            d.wait(lambda: scr.has_card and staff_card("clerk")["id_number"][-4:] in scr.card_line, 30, "clerk card")
            problems = []
            for wrong in ("111111", "222222", "333333"):
                type_pin(d, wrong)
                d.tap("btn_sign_in")
                d.idle(30)
                problems.append(scr.problem)
            d.screenshot(OUT / "pin" / "locked.png")
            wait_after_third = scr.wait_s
            button_disabled = d.widget("btn_sign_in").disabled
            # The right PIN while it waits: refused by the hub too (the button is held down only on this screen).
            from kiosk.counter.client import CounterClient, CounterRefused

            try:
                CounterClient(stack.hub_url, stack.token, timeout=30).sign_in(staff_card("clerk")["id_number"], TRAINING_PIN)
                locked_code = "signed_in"
            except CounterRefused as exc:
                locked_code = exc.code
            # The wait ends (the test moves the hub's clock on), then the right PIN signs in.
            import sqlite3

            db = sqlite3.connect(stack.hub_db[len("sqlite:///"):])
            db.execute("UPDATE counter_pin_failures SET locked_until = NULL")
            db.commit()
            db.close()
            scr.wait_s = 0
            type_pin(d, TRAINING_PIN)
            d.tap("btn_sign_in")
            d.wait_screen("counter_desk", 60)
            bar = app.root.walk()
            header = next(w.text for w in bar if getattr(w, "text", "") and "李文华" in str(w.text))
            d.screenshot(OUT / "pin" / "desk.png")
            d.tap(bar_widget(app, "btn_sign_out"))
            d.wait_screen("counter_clerk_login", 30)
            return {"citizen_refusal": citizen_refusal, "problems": problems, "wait_after_third": wait_after_third,
                    "button_disabled": button_disabled, "locked_code": locked_code, "header": header,
                    "after_sign_out": app.current, "signed_in": app.counter.signed_in}


def handout(work: Path) -> dict:
    """代发: a result 办结 at the platform, looked up by its receipt number; a stranger's card is refused in words
    and nothing is recorded; the applicant's card gets it, recorded under the clerk's name, 取件凭条 printed."""
    from devices.printer.decoder import decode

    citizen = sample_card("resident")
    with counter_stack(work) as stack:
        receipt_no = f"{stack.device_id}-20261201-0101"
        case_no = submit_case(stack, receipt_no, citizen)
        finish_at_platform(stack, case_no)
        with counter_app(stack) as (app, cfg, d):
            sign_in(d, stack)
            d.wait_screen("counter_desk", 30)
            take_card_away(d, stack)
            d.tap("btn_handout")
            d.wait_screen("counter_handout")
            scr = app.screen("counter_handout")
            d.widget("code").text = receipt_no
            d.tap("btn_find")
            d.idle(60)
            d.wait(lambda: scr.selected.get("result") == "ready", 30, "result selected")
            found = dict(scr.selected)
            stack.reader.place(staff_card("stranger"))
            d.wait(lambda: staff_card("stranger")["id_number"][-4:] in scr.card_line, 30, "stranger card read")
            d.tap("btn_hand_out")
            d.idle(60)
            refused = scr.problem
            refused_flag = scr.refused
            d.screenshot(OUT / "counter_handout" / "handout_refused.png")
            printed_after_refusal = len(stack.printer.received)
            take_card_away(d, stack)
            stack.reader.place(citizen)
            d.wait(lambda: citizen["id_number"][-4:] in scr.card_line, 30, "applicant card read")
            d.tap("btn_hand_out")
            d.idle(60)
            d.wait(lambda: bool(scr.message), 30, "hand-out recorded")
            message = scr.message
            d.screenshot(OUT / "counter_handout" / "handout.png")
        text = decode(stack.printer.received).text
        lookup_token = None
        audit = None
        import sqlite3

        db = sqlite3.connect(stack.hub_db[len("sqlite:///"):])
        audit = db.execute("SELECT actor, action FROM audit_events WHERE action = 'handed_out'").fetchall()
        rows = db.execute("SELECT recipient, clerk, outlet_code FROM counter_handouts").fetchall()
        db.close()
        return {"found": found, "refused": refused, "refused_flag": refused_flag, "message": message,
                "printed_after_refusal": printed_after_refusal, "slip": text, "audit": audit, "rows": rows,
                "citizen_name": citizen["name"], "citizen_id": citizen["id_number"], "lookup_token": lookup_token}


def entry(work: Path) -> dict:
    """代录: the clerk enters an application for the citizen at the counter with the citizen journey's screens;
    the case carries channel counter, the clerk and the outlet; the 受理回执 is printed; back at the desk."""
    from devices.printer.decoder import decode
    from screens.tour import capture_all, fill_form, log_in, to_form

    with counter_stack(work) as stack:
        with counter_app(stack) as (app, cfg, d):
            sign_in(d, stack)
            d.wait_screen("counter_desk", 30)
            take_card_away(d, stack)
            d.tap("btn_entry")
            d.wait_screen("id_login", 30)
            log_in(d, stack)
            to_form(d)
            fill_form(d)
            d.screenshot(OUT / "entry" / "entry_form.png")
            d.tap("btn_next")
            d.wait_screen("scan", 60)
            capture_all(d)
            d.tap("btn_next")
            d.wait_screen("confirm")
            d.tap("btn_next")
            d.wait_screen("receipt", 120)
            receipt_no = app.screen("receipt").receipt_no
            pickup_line = app.screen("receipt").pickup_line
            pickup_code = getattr(app.last_result, "pickup_code", "")
            delivery = app.session.delivery
            d.tap("btn_next")
            d.wait_screen("done")
            d.tap("btn_home")
            d.wait_screen("counter_desk", 30)
            back_at = app.current
        import sqlite3

        deadline = time.monotonic() + 30
        row = None
        while time.monotonic() < deadline and row is None:
            db = sqlite3.connect(stack.hub_db[len("sqlite:///"):])
            row = db.execute("SELECT channel, created_by, status FROM cases WHERE receipt_no = ?", (receipt_no,)).fetchone()
            db.close()
            time.sleep(0.3)
        # The receipt copy kept at the hub for reprints carries no 取件码 (the hub holds only its HMAC).
        copy_text = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and copy_text is None:
            db = sqlite3.connect(stack.hub_db[len("sqlite:///"):])
            got = db.execute("SELECT escpos FROM receipt_copies WHERE receipt_no = ?", (receipt_no,)).fetchone()
            db.close()
            copy_text = decode(bytes(got[0])).text if got else None
            time.sleep(0.3)
        # The form (with the counter's stamp) is sealed with the hub key: read it the way the hub does.
        from kiosk.hub.app import create_app

        hub_app = create_app(stack.hub_db, None, relay=False, upload_dir=stack.workdir / "uploads")
        from kiosk.hub.counter import PickupHash, personal
        from kiosk.hub.models import Case
        from sqlalchemy import select

        with hub_app.state.hub.sessions() as s:
            case = s.scalar(select(Case).where(Case.receipt_no == receipt_no))
            form = personal(hub_app.state.hub, case)["form"]
            pickup_bound = s.get(PickupHash, receipt_no) is not None
        return {"receipt_no": receipt_no, "case": list(row) if row else None, "counter": form.get("counter"),
                "slip": decode(stack.printer.received).text, "back_at": back_at, "pickup_line": pickup_line,
                "pickup_code": pickup_code, "delivery": delivery, "pickup_bound": pickup_bound, "copy_text": copy_text}


def full_proxy(work: Path) -> dict:
    """A full 代办 from claim to filed: a kiosk's 全程代办 request waits in the queue; the clerk claims it, the
    citizen signs the 委托书 on the screen, the clerk starts it, prints the 代办受理单, files the application by
    代录 (the case links back to the request) and the request is filed."""
    from devices.printer.decoder import decode
    from screens.tour import capture_all, fill_form, log_in, to_form

    citizen = sample_card("resident")
    with counter_stack(work) as stack:
        from kiosk.sync.client import HubClient

        kiosk = HubClient(stack.hub_url, stack.token, timeout=30)
        item = kiosk.catalog()[0]
        scan = upload_scan(stack, work)  # the citizen's 户口簿 scanned at the kiosk: two pages
        request_id = create_request(stack, item, citizen, materials=[scan])["id"]
        with counter_app(stack) as (app, cfg, d):
            sign_in(d, stack)
            d.wait_screen("counter_desk", 30)
            take_card_away(d, stack)
            d.tap("btn_queue")
            d.wait_screen("counter_queue", 30)
            d.wait(lambda: len(d.widget("rows").children) > 0, 30, "queue rows")
            queue_rows = len(d.widget("rows").children)
            d.screenshot(OUT / "proxy" / "queue.png")
            d.tap("btn_claim")
            d.idle(60)
            d.wait_screen("counter_request_detail", 30)
            detail = app.screen("counter_request_detail")
            d.wait(lambda: detail.request.get("status") == "claimed", 30, "claimed")
            claimed_by = detail.request.get("holder")
            # the citizen's scan, page by page
            d.tap(material_button(detail, scan))
            d.wait_screen("counter_material", 30)
            viewer = app.screen("counter_material")
            d.wait(lambda: viewer.page_no == 1, 60, "first page of the scan")
            d.idle(10)
            first_page = tuple(d.widget("page").texture.size) if d.widget("page").texture else None
            d.screenshot(OUT / "proxy" / "material.png")
            d.tap("btn_next")
            d.wait(lambda: viewer.page_no == 2, 30, "second page")
            pages_seen = (viewer.page_line, viewer.page_count, first_page)
            d.tap("btn_back")
            d.wait_screen("counter_request_detail", 30)
            kept_after_leaving = len(viewer._pages)
            d.tap("btn_sign")
            d.wait_screen("counter_proxy_signature", 30)
            sig = app.screen("counter_proxy_signature")
            stack.reader.place(citizen)
            d.wait(lambda: bool(sig.principal_line), 30, "principal card")
            draw_signature(d, d.widget("pad"))
            d.screenshot(OUT / "proxy" / "proxy_signature.png")
            d.tap("btn_confirm")
            d.idle(60)
            d.wait_screen("counter_request_detail", 30)
            d.wait(lambda: (detail.request.get("mandate") or {}).get("status") == "active", 30, "mandate active")
            d.tap(detail.button("start"))
            d.idle(60)
            d.wait(lambda: detail.request.get("status") == "in_progress", 30, "started")
            d.tap("btn_print")
            d.idle(60)
            d.screenshot(OUT / "proxy" / "request_detail.png")
            take_card_away(d, stack)
            d.tap("btn_file")
            d.wait_screen("id_login", 30)
            log_in(d, stack)
            to_form(d)
            fill_form(d)
            d.tap("btn_next")
            d.wait_screen("scan", 60)
            capture_all(d)
            d.tap("btn_next")
            d.wait_screen("confirm")
            d.tap("btn_next")
            d.wait_screen("receipt", 120)
            receipt_no = app.screen("receipt").receipt_no
            d.tap("btn_next")
            d.wait_screen("done")
            d.tap("btn_home")
            d.wait_screen("counter_desk", 30)
            clerk_token = app.counter.services.clerk.token
            deadline = time.monotonic() + 30
            final = {}
            while time.monotonic() < deadline:
                final = hub_get(stack, f"/api/v1/proxy-requests/{request_id}", clerk_token)
                if final.get("status") == "filed":
                    break
                time.sleep(0.3)
        slip = decode(stack.printer.received).text
        return {"queue_rows": queue_rows, "claimed_by": claimed_by, "receipt_no": receipt_no,
                "pages_seen": pages_seen, "kept_after_leaving": kept_after_leaving,
                "final_status": final.get("status"), "final_receipt": final.get("receipt_no"),
                "mandate": (final.get("mandate") or {}).get("status"),
                "actors": sorted({e["actor"] for e in final.get("events", [])}),
                "actions": [e["action"] for e in final.get("events", [])], "slip": slip}


def handout_hub_down(work: Path) -> dict:
    """The hub goes away between finding the result and handing it out: the hand-out waits in the counter's
    queue (the slip says so), the bar counts it, and it reaches the hub by itself once the hub is back."""
    from devices.printer.decoder import decode

    citizen = sample_card("resident")
    with counter_stack(work) as stack:
        receipt_no = f"{stack.device_id}-20261201-0201"
        finish_at_platform(stack, submit_case(stack, receipt_no, citizen))
        with counter_app(stack) as (app, cfg, d):
            cfg.hub.timeout_s = 3.0
            sign_in(d, stack)
            take_card_away(d, stack)
            d.tap("btn_handout")
            d.wait_screen("counter_handout")
            scr = app.screen("counter_handout")
            stack.reader.place(citizen)
            d.wait(lambda: scr.selected.get("result") == "ready", 60, "result found by the card")
            stack.stop_process("hub")
            d.tap("btn_hand_out")
            d.idle(90)
            d.wait(lambda: bool(scr.message), 30, "hand-out kept")
            message = scr.message
            d.wait(lambda: app.counter.waiting_actions == 1, 30, "bar counts the waiting action")
            waiting_on_bar = app.counter.waiting_actions
            d.screenshot(OUT / "offline" / "handout_queued.png")
            stack.restart_hub()
            d.wait(lambda: app.counter.waiting_actions == 0, 90, "queued hand-out sent")
        import sqlite3

        db = sqlite3.connect(stack.hub_db[len("sqlite:///"):])
        rows = db.execute("SELECT recipient, clerk FROM counter_handouts").fetchall()
        db.close()
        return {"message": message, "waiting_on_bar": waiting_on_bar, "rows": rows,
                "slip": decode(stack.printer.received).text}


def training(work: Path) -> dict:
    """Training mode: its own hub with sample clerks and citizens; an application entered there prints a receipt
    marked 培训 and never reaches the real hub; leaving training deletes it."""
    from devices.printer.decoder import decode
    from screens.tour import capture_all, fill_form, log_in, to_form

    with counter_stack(work) as stack:
        real_before = hub_get(stack, "/healthz")
        with counter_app(stack) as (app, cfg, d):
            d.wait_screen("counter_clerk_login", 60)
            d.tap("btn_training")
            d.idle(240)
            d.wait(lambda: app.counter.training, 60, "training on")
            training_hub = app.counter.services.hub_url
            app.counter.inject_sample_card("clerk")
            d.wait(lambda: app.screen("counter_clerk_login").has_card, 30, "sample clerk card")
            type_pin(d, TRAINING_PIN)
            d.tap("btn_sign_in")
            d.idle(60)
            d.wait_screen("counter_desk", 30)
            watermark = next(w for w in app.root.walk() if type(w).__name__ == "CounterTrainingWatermark").opacity
            # The camera was switched to the sample papers: wait until the terminal sees its devices ready.
            d.wait(lambda: not app.terminal.device_status.blocking, 60, "devices ready")
            d.tap("btn_entry")
            d.wait_screen("id_login", 30)
            log_in(d, stack)
            to_form(d)
            fill_form(d)
            d.tap("btn_next")
            d.wait_screen("scan", 60)
            capture_all(d)
            d.tap("btn_next")
            d.wait_screen("confirm")
            d.tap("btn_next")
            d.wait_screen("receipt", 120)
            receipt_no = app.screen("receipt").receipt_no
            d.tap("btn_next")
            d.wait_screen("done")
            d.tap("btn_home")
            d.wait_screen("counter_desk", 30)
            training_dir = Path(cfg.kiosk.data_dir) / "training"
            existed = training_dir.exists()
            d.tap(bar_widget(app, "btn_sign_out"))
            d.wait_screen("counter_clerk_login", 30)
            d.tap("btn_training")
            d.idle(120)
            d.wait(lambda: not app.counter.training, 60, "training off")
            gone = not training_dir.exists()
        import sqlite3

        db = sqlite3.connect(stack.hub_db[len("sqlite:///"):])
        real_cases = db.execute("SELECT count(*) FROM cases").fetchone()[0]
        real_sessions = db.execute("SELECT count(*) FROM counter_sessions").fetchone()[0]
        db.close()
        return {"training_hub": training_hub, "real_hub": stack.hub_url, "watermark": watermark,
                "receipt_no": receipt_no, "slip": decode(stack.printer.received).text, "real_cases": real_cases,
                "real_sessions": real_sessions, "existed": existed, "gone": gone, "real_ok": real_before.get("ok")}


def escalation_seat(work: Path) -> dict:
    """A request escalated to 窗口人员 shows on the window clerk's seat with its history; the seat resolves it
    and sends it back down with the resolution."""
    from kiosk.sync.client import HubClient
    from screens.counter.tour_steps import create_request, escalate_by_api

    with counter_stack(work) as stack:
        item = HubClient(stack.hub_url, stack.token, timeout=30).catalog()[0]
        req = create_request(stack, item, staff_card("stranger"), mode="remote_guidance", green=False)
        escalate_by_api(stack, req["id"])
        with counter_app(stack) as (app, cfg, d):
            sign_in(d, stack, card="window")
            take_card_away(d, stack)
            d.tap("btn_escalation")
            d.wait_screen("counter_escalation", 30)
            d.wait(lambda: len(d.widget("rows").children) > 0, 60, "escalated requests")
            seen = len(d.widget("rows").children)
            row_texts = [row.text for row in d.widget("rows").children]
            d.tap(list(reversed(d.widget("rows").children))[0])
            d.idle(60)
            d.wait_screen("counter_request_detail", 30)
            detail = app.screen("counter_request_detail")
            d.wait(lambda: bool(detail.history), 30, "history")
            history = detail.history
            d.tap(detail.button("down"))
            refused_without_note = detail.problem
            d.widget("note").text = "已联系申请人补齐材料，退回代办员继续办理"
            d.tap(detail.button("down"))
            d.idle(60)
            d.wait(lambda: detail.request.get("level") == 0, 30, "sent down")
            final = detail.request
        return {"seen": seen, "row_texts": row_texts, "history": history, "refused_without_note": refused_without_note,
                "level": final.get("level"), "last_event": (final.get("events") or [{}])[-1],
                "escalated_at": next(e["at"] for e in final.get("events") or [] if e.get("action") == "escalated")}


def shift_timeout(work: Path) -> dict:
    """No touch for the idle sign-out time: the clerk is signed out, told why, and the token no longer works."""
    with counter_stack(work) as stack:
        with counter_app(stack) as (app, cfg, d):
            sign_in(d, stack)
            token = app.counter.services.clerk.token
            d.wait(lambda: app.current == "counter_clerk_login", 60, "signed out after the pause")
            notice = app.notice
            import time as _t

            deadline = _t.monotonic() + 30
            status = None
            while _t.monotonic() < deadline:
                status = requests.get(f"{stack.hub_url}/api/v1/counter/me", timeout=30,
                                      headers={"Authorization": f"Bearer {token}"}).status_code
                if status == 401:
                    break
                _t.sleep(0.5)
        return {"screen": app.current, "notice": notice, "me_after": status, "signed_in": app.counter.signed_in}


def _on_the_desk(page_rgb, path: Path, seed: int, page_mm: tuple[float, float], base: str = "wood") -> Path:
    """A paper (an RGB page image of `page_mm`) lying on the counter under the 高拍仪, as the camera sees it: turned
    a little, lit unevenly, slightly soft (devices.scanner.synthetic, as benchmarks/scenes.py makes its scenes)."""
    import cv2
    import numpy as np

    from devices.scanner.synthetic import SceneSpec, compose_scene, place_page

    size = (2592, 1944)
    rng = np.random.default_rng(seed)
    corners = place_page(rng, size, page_mm, height_frac=(0.8, 0.9), max_rotation=8)
    spec = SceneSpec(frame_size=size, corners=corners, base=base, falloff=0.1, blur_sigma=0.8, noise_sigma=2.0,
                     jpeg_quality=90, seed=seed)
    cv2.imwrite(str(path), compose_scene(page_rgb, spec))
    return path


def receipt_scene(path: Path, data: dict, seed: int = 3) -> Path:
    """The citizen's 受理回执 as the kiosk prints it (kiosk.receipt), lying on the desk."""
    import cv2

    from kiosk.receipt import preview_png, render_receipt

    paper = path.with_suffix(".paper.png")
    preview_png(render_receipt("acceptance", data, paper=80), str(paper), paper=80)
    page = cv2.cvtColor(cv2.imread(str(paper), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return _on_the_desk(page, path, seed, (80.0, 80.0 * page.shape[0] / page.shape[1]))


def paper_mandate_scene(path: Path, principal: str, seed: int = 5) -> Path:
    """A 委托书 printed on A4, signed with a pen, lying on the desk."""
    import numpy as np
    from PIL import Image, ImageDraw

    from devices.scanner.synthetic import cjk_font

    page = Image.new("RGB", (1240, 1754), (250, 250, 248))
    draw = ImageDraw.Draw(page)
    title, body = cjk_font(64), cjk_font(34)
    draw.text((420, 120), "代办服务委托书", font=title, fill=(20, 20, 20))
    text = ("本人自愿委托本网点代办员，代为申请城乡居民养老保险参保登记并领取办理结果。代办不收取任何费用；"
            "本人仍为申请人，对所提交材料的真实性负责，并可随时撤回委托。")
    for i in range(0, len(text), 30):
        draw.text((120, 300 + (i // 30) * 60), text[i:i + 30], font=body, fill=(30, 30, 30))
    draw.text((120, 1300), f"委托人：{principal}", font=body, fill=(30, 30, 30))
    draw.text((120, 1420), "委托人签名：", font=body, fill=(30, 30, 30))
    pen = [(360 + i * 14, 1440 + int(28 * np.sin(i / 2.2))) for i in range(40)]
    draw.line(pen, fill=(15, 25, 90), width=7)
    draw.line([(380, 1480), (620, 1410), (700, 1470)], fill=(15, 25, 90), width=6)
    return _on_the_desk(np.asarray(page), path, seed, (210.0, 297.0), base="cream_desk")


def handout_by_qr(work: Path) -> dict:
    """代发 with the citizen's 受理回执 under the 高拍仪: the receipt's QR finds the result; the 取件码 printed on the
    same receipt finds it too; the applicant's card gets it."""
    from devices.printer.decoder import decode

    citizen = sample_card("resident")
    shots = work / "scenes"
    shots.mkdir()
    with counter_stack(work) as stack:
        receipt_no = f"{stack.device_id}-20261201-0201"
        case_no = submit_case(stack, receipt_no, citizen, pickup_code="407215")
        finish_at_platform(stack, case_no)
        with counter_app(stack) as (app, cfg, d):
            scene = receipt_scene(shots / "receipt.png", {
                "receipt_no": receipt_no, "item_name": "城乡居民养老保险参保登记", "applicant_name": citizen["name"],
                "applicant_id_number": citizen["id_number"], "phone": "13712349050",
                "submitted_at": "2026-12-01T10:00:00+08:00", "promised_by": "2026-12-15", "delivery": "网点代发",
                "outlet": OUTLET["name"], "tracking_url": f"{cfg.kiosk.tracking_base_url}?r={receipt_no}",
                "materials": [], "pickup_code": "407215"})
            sign_in(d, stack)
            d.wait_screen("counter_desk", 30)
            take_card_away(d, stack)
            app.terminal.release_camera()
            cfg.devices.camera.source = f"sim:{scene}"  # the 高拍仪 now sees the receipt on the desk
            d.tap("btn_handout")
            d.wait_screen("counter_handout")
            scr = app.screen("counter_handout")
            d.tap("btn_qr")
            d.idle(90)
            d.wait(lambda: scr.selected.get("receipt_no") == receipt_no or bool(scr.problem), 60, "found by QR")
            by_qr = {"selected": scr.selected.get("receipt_no"), "code_field": d.widget("code").text,
                     "problem": scr.problem, "result": scr.selected.get("result")}
            d.screenshot(OUT / "counter_handout" / "handout_by_qr.png")
            # The same result by the 取件码 printed on that receipt, typed in.
            scr.selected = {}
            d.widget("code").text = "407215"
            d.tap("btn_find")
            d.idle(60)
            d.wait(lambda: scr.selected.get("receipt_no") == receipt_no, 30, "found by pickup code")
            by_code = scr.selected.get("receipt_no")
            stack.reader.place(citizen)
            d.wait(lambda: citizen["id_number"][-4:] in scr.card_line, 30, "applicant card read")
            d.tap("btn_hand_out")
            d.idle(60)
            d.wait(lambda: bool(scr.message) or bool(scr.problem), 30, "hand-out recorded")
            message, problem = scr.message, scr.problem
        import sqlite3

        db = sqlite3.connect(stack.hub_db[len("sqlite:///"):])
        rows = db.execute("SELECT receipt_no, recipient FROM counter_handouts").fetchall()
        db.close()
        return {"receipt_no": receipt_no, "by_qr": by_qr, "by_code": by_code, "message": message, "problem": problem,
                "rows": rows, "slip": decode(stack.printer.received).text}


def full_proxy_paper_mandate(work: Path) -> dict:
    """全程代办 with a 委托书 signed on paper: the clerk claims the request, the citizen's card names the principal,
    the signed paper is photographed under the 高拍仪 and its image stands as the signature at the hub; the
    委托书 is in force and the clerk starts the work."""
    import cv2
    import numpy as np

    from kiosk.counter.paper import paper_png
    from screens.counter.tour_steps import create_request

    citizen = sample_card("resident")
    shots = work / "scenes"
    shots.mkdir()
    scene = paper_mandate_scene(shots / "mandate.png", citizen["name"])
    with counter_stack(work) as stack:
        from kiosk.sync.client import HubClient

        item = HubClient(stack.hub_url, stack.token, timeout=30).catalog()[0]
        request_id = create_request(stack, item, citizen)["id"]
        with counter_app(stack) as (app, cfg, d):
            sign_in(d, stack)
            d.wait_screen("counter_desk", 30)
            take_card_away(d, stack)
            d.tap("btn_queue")
            d.wait_screen("counter_queue", 30)
            d.wait(lambda: len(d.widget("rows").children) > 0, 30, "queue rows")
            d.tap("btn_claim")
            d.idle(60)
            d.wait_screen("counter_request_detail", 30)
            detail = app.screen("counter_request_detail")
            d.wait(lambda: detail.request.get("status") == "claimed", 30, "claimed")
            app.terminal.release_camera()
            cfg.devices.camera.source = f"sim:{scene}"  # the signed paper on the desk
            d.tap("btn_scan_mandate")
            d.wait_screen("counter_proxy_signature", 30)
            sig = app.screen("counter_proxy_signature")
            stack.reader.place(citizen)
            d.wait(lambda: bool(sig.principal_line), 30, "principal card")
            d.tap("btn_confirm")  # not scanned yet: refused in words
            d.idle(30)
            unscanned = sig.problem
            d.tap("btn_clear")  # on a paper 委托书 this button takes the photo
            d.idle(60)
            d.wait(lambda: sig.scanned or bool(sig.problem and sig.problem != unscanned), 60, "paper scanned")
            scanned = sig.scanned
            d.screenshot(OUT / "proxy" / "paper_mandate.png")
            d.tap("btn_confirm")
            d.idle(60)
            d.wait_screen("counter_request_detail", 30)
            d.wait(lambda: (detail.request.get("mandate") or {}).get("status") == "active", 30, "mandate active")
            mandate = dict(detail.request.get("mandate") or {})
            d.tap(detail.button("start"))
            d.idle(60)
            d.wait(lambda: detail.request.get("status") == "in_progress", 30, "started")
            clerk_token = app.counter.services.clerk.token
        r = requests.get(f"{stack.hub_url}/api/v1/mandates/{mandate['id']}/signature", timeout=30,
                         headers={"Authorization": f"Bearer {clerk_token}"})
        stored = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_GRAYSCALE) if r.ok else None
        expected = cv2.imdecode(np.frombuffer(paper_png(cv2.imread(str(scene))), np.uint8), cv2.IMREAD_GRAYSCALE)
        same = None
        if stored is not None:
            resized = cv2.resize(stored, (expected.shape[1], expected.shape[0]), interpolation=cv2.INTER_NEAREST)
            ink, ink_expected = resized == 0, expected == 0  # the ink of the stored image and of the paper
            same = float((ink & ink_expected).sum() / max(1, (ink | ink_expected).sum()))
        final = hub_get(stack, f"/api/v1/proxy-requests/{request_id}", clerk_token)
        return {"unscanned": unscanned, "scanned": scanned, "mandate": mandate.get("status"),
                "signature_status": r.status_code, "signature_type": r.headers.get("content-type"),
                "stored_shape": list(stored.shape) if stored is not None else None,
                "bilevel": bool(stored is not None and set(np.unique(stored)) <= {0, 255}), "same_ink": same,
                "status": final.get("status"), "actions": [e["action"] for e in final.get("events", [])]}


def queue_live(work: Path) -> dict:
    """The queue follows the hub's live feed: with polling switched off (REFRESH_S of an hour), a request created
    after the queue is open appears on the clerk's screen by the feed alone."""
    import screens.counter.queue as queue_screen

    queue_screen.REFRESH_S = 3600.0
    queue_screen.FEED_SAFETY_S = 3600.0
    citizen = sample_card("resident")
    with counter_stack(work) as stack:
        from kiosk.sync.client import HubClient

        item = HubClient(stack.hub_url, stack.token, timeout=30).catalog()[0]
        with counter_app(stack) as (app, cfg, d):
            sign_in(d, stack)
            d.wait_screen("counter_desk", 30)
            take_card_away(d, stack)
            d.tap("btn_queue")
            d.wait_screen("counter_queue", 30)
            scr = app.screen("counter_queue")
            d.idle(60)
            d.wait(lambda: scr.feed_live, 30, "live feed connected")
            before = len(d.widget("rows").children)
            started = time.monotonic()
            created = create_request(stack, item, citizen, green=False)
            d.wait(lambda: len(d.widget("rows").children) > before, 20, "new request on the screen")
            appeared_s = time.monotonic() - started
            texts = [w.text for w in d.widget("rows").children]
            connections = scr._follower.connections if scr._follower else 0
            d.screenshot(OUT / "queue" / "queue_live.png")
            d.tap("btn_back")
            d.idle(30)
            follower_after_leave = scr._follower
        return {"before": before, "after": len(texts), "appeared_s": round(appeared_s, 2),
                "request_no": created.get("request_no"), "texts": texts, "connections": connections,
                "follower_after_leave": follower_after_leave is not None}


if __name__ == "__main__":
    name = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix=f"ui-{name}-") as tmp:
        result = globals()[name](Path(tmp))
    print("RESULT " + json.dumps(result, ensure_ascii=False, default=str))
