"""Steps that drive the counter role of the real app (offscreen, synthetic touches) on the real stack: used by
`kiosk tour --role counter` and the counter UI tests (tests/ui/counter_scenarios.py)."""
from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import requests

from kiosk.counter import sample_card as staff_card
from kiosk.counter.training import OUTLET, TRAINING_PIN, seed
from kiosk.demo import DemoStack, sample_card


@contextlib.contextmanager
def counter_stack(work: Path):
    with DemoStack(work, role="counter") as stack:
        stack.token = seed(stack.hub_db, stack.workdir, device_token_name=stack.device_id)["device_token"]
        yield stack


def type_pin(d, pin: str) -> None:
    for digit in pin:
        d.tap_text(digit, exact=True)


def sign_in(d, stack, card: str = "clerk", pin: str = TRAINING_PIN) -> None:
    app = d.app
    d.wait_screen("counter_clerk_login", 60)
    d.wait(lambda: app.terminal.card_reader_status == "online", 30, "card reader online")
    stack.reader.place(staff_card(card))
    d.wait(lambda: app.screen("counter_clerk_login").has_card, 30, "clerk card read")
    type_pin(d, pin)
    d.tap("btn_sign_in")
    d.idle(60)
    d.frames(3)
    scr = app.screen("counter_clerk_login")
    if app.current != "counter_desk":
        raise AssertionError(f"sign-in failed: {scr.problem!r} (card: {scr.card_line!r})")


def take_card_away(d, stack) -> None:
    from screens.tour import swap_card_out

    swap_card_out(d, stack)
    d.wait(lambda: not d.app.terminal.device_status.blocking, 30, "devices ready")


def bar_widget(app, widget_id: str):
    """A widget of the clerk bar (above the screens)."""
    from screens.counter.widgets import CounterClerkBar

    bar = next(w for w in app.root.walk() if isinstance(w, CounterClerkBar))
    return bar.ids[widget_id]


def hub_get(stack, path: str, token: str | None = None) -> dict:
    return requests.get(f"{stack.hub_url}{path}", headers={"Authorization": f"Bearer {token or stack.token}"},
                        timeout=30).json()


def sample_form(item: dict) -> dict:
    """Values for the item's own form fields, as the citizen journey's form would send them."""
    from screens.tour import FIELD_SAMPLES

    form = {}
    for f in item.get("form_fields", []):
        kind = f.get("type", "text")
        if kind == "choice":
            form[f["key"]] = (f.get("choices") or [""])[0]
        elif kind == "date":
            form[f["key"]] = "2024-03-01"
        else:
            form[f["key"]] = FIELD_SAMPLES.get(kind, FIELD_SAMPLES["text"])
    return form


def submit_case(stack, receipt_no: str, card: dict, delivery: str = "网点代发", pickup_code: str | None = None) -> str:
    """A case filed at a kiosk (as a citizen would), relayed to the platform; returns its 办件编号."""
    from kiosk.sync.client import HubClient

    hub = HubClient(stack.hub_url, stack.token, timeout=30)
    item = hub.catalog()[0]
    payload = {"receipt_no": receipt_no, "device_id": stack.device_id, "channel": "kiosk",
               "item_code": item["item_code"], "item_name": item["name"],
               "applicant": {"name": card["name"], "id_number": card["id_number"], "card_type": "111",
                             "phone": "13712349050", "address": card["address"]},
               "form": sample_form(item), "materials": [], "delivery": delivery, "submitted_at": "2026-12-01T10:00:00+08:00"}
    if pickup_code:  # the 取件码 printed on the citizen's receipt
        payload["pickup_code"] = pickup_code
    hub.submit_case(payload, f"key-{receipt_no}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = hub.case_status(receipt_no)
        if status.get("case_no"):
            return status["case_no"]
        time.sleep(0.3)
    raise AssertionError(f"case {receipt_no} not relayed: {status}")


def finish_at_platform(stack, case_no: str) -> None:
    requests.post(f"{stack.platform_url}/sim/cases/{case_no}/advance", json={"status": "completed", "note": "办结"},
                  timeout=30).raise_for_status()


def draw_signature(d, pad) -> None:
    from screens.driver import FingerTouch

    x0, y0 = pad.to_window(pad.x + pad.width * 0.15, pad.y + pad.height * 0.4)
    touch = FingerTouch(x0, y0)
    touch.touch_down()
    for i in range(1, 25):
        touch.touch_move(x0 + i * pad.width * 0.03, y0 + (30 if i % 4 < 2 else -30))
        d.frames(1)
    touch.touch_up()
    d.frames(2)


def material_pdf(work: Path) -> Path:
    """A two-page scan as the kiosk's page pipeline writes it (JPEG pages in a PDF): two A4 forms, 1240×1754 px,
    on paper of different shades."""
    import io

    import numpy as np
    from PIL import Image

    from devices.scanner.pdf import jpegs_to_pdf
    from devices.scanner.synthetic import release_fonts, render_form_page

    rng = np.random.default_rng(7)
    pages = []
    for shade in ((246, 240, 226), (226, 236, 246)):
        buf = io.BytesIO()
        Image.fromarray(render_form_page(rng, 1240, paper_rgb=shade)).save(buf, "JPEG", quality=80)
        pages.append(buf.getvalue())
    release_fonts()
    path = work / "hukou.pdf"
    path.write_bytes(jpegs_to_pdf(pages, 150))
    return path


def upload_scan(stack, work: Path) -> dict:
    """The citizen's 户口簿 scanned at a kiosk of the outlet and uploaded: a material entry for a 代办 request."""
    from kiosk.sync.client import HubClient

    scan = material_pdf(work)
    url = HubClient(stack.hub_url, stack.token, timeout=30).upload_material(
        str(scan), {"filename": scan.name, "filetype": "application/pdf"})
    return {"code": "M01", "name": "户口簿", "upload_url": url}


def material_button(detail, material: dict):
    """The request screen's 查看 button of one material (by its code, among the materials the hub lists)."""
    return detail.button("material:" + next(m["upload_id"] for m in detail.request.get("materials") or []
                                            if m.get("code") == material["code"]))


def create_request(stack, item: dict, citizen: dict, mode: str = "full_proxy", green: bool = True,
                   materials: list[dict] | None = None) -> dict:
    """A 代办 request as a kiosk of the outlet sends it."""
    body = {"outlet": OUTLET["code"], "item_code": item["item_code"], "item_name": item["name"], "mode": mode,
            "channel": "kiosk", "device_id": stack.device_id,
            "applicant": {"name": citizen["name"], "id_number": citizen["id_number"], "card_type": "111"},
            "contact_phone": "13712349050", "delivery": "网点代发"}
    if green:
        body.update(priority="green", green_reason="elderly")
    if mode == "home_visit":
        body["address"] = citizen["address"]
    if materials:
        body["materials"] = materials
    r = requests.post(f"{stack.hub_url}/api/v1/proxy-requests", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {stack.token}", "Idempotency-Key": str(uuid.uuid4())})
    r.raise_for_status()
    return r.json()


def escalate_by_api(stack, request_id: int, card: str = "clerk", reason: str = "材料缺失，申请人联系不上") -> None:
    """A clerk (signed in over the API) claims a request and escalates it to 窗口人员."""
    from kiosk.counter.client import CounterClient

    doc = CounterClient(stack.hub_url, stack.token, timeout=30).sign_in(staff_card(card)["id_number"], TRAINING_PIN)
    clerk = CounterClient(stack.hub_url, doc["token"], timeout=30)
    clerk.call("POST", "/api/v1/proxy-requests/claim", json={"id": request_id})
    clerk.call("POST", f"/api/v1/proxy-requests/{request_id}/escalations", json={"direction": "up", "reason": reason})
    clerk.call("POST", "/api/v1/counter/sign-out")


def sign_out(d) -> None:
    d.tap(bar_widget(d.app, "btn_sign_out"))
    d.wait_screen("counter_clerk_login", 30)


def run_counter_tour(out_dir, work, elder: bool = False, language: str = "zh_CN",
                     orientation: str = "landscape") -> dict:
    """One PNG per counter screen: clerk_login, queue, material, request_detail, proxy_signature, entry_form, collect,
    handout, handout_refused, escalation, training; and the last slip printed, as receipt_preview.png."""
    import shutil

    out, work = Path(out_dir), Path(work)
    out.mkdir(parents=True, exist_ok=True)
    overflow: dict[str, list[str]] = {}
    from devices.scanner.simulator import device as sim_device
    from screens.tour import fill_form, log_in, make_app, to_form

    written: list[str] = []
    citizen = sample_card("resident")
    with counter_stack(work) as stack:
        from kiosk.sync.client import HubClient

        item = HubClient(stack.hub_url, stack.token, timeout=30).catalog()[0]
        ready = f"{stack.device_id}-20261201-0901"
        finish_at_platform(stack, submit_case(stack, ready, citizen))
        elsewhere = f"{stack.device_id}-20261201-0902"
        submit_case(stack, elsewhere, citizen, delivery="自取")
        scan = upload_scan(stack, work)
        create_request(stack, item, citizen, materials=[scan])
        other = create_request(stack, item, staff_card("stranger"), mode="remote_guidance", green=False)
        escalate_by_api(stack, other["id"])
        cfg = stack.kiosk_config(elder=elder, language=language)
        cfg.hub.timeout_s = 30.0  # a busy machine (CI) answers slowly; the tour waits rather than queueing
        if hasattr(cfg.display, "orientation"):
            cfg.display.orientation = orientation
        app = make_app(cfg, headless=True)
        from screens.driver import AppDriver

        d = AppDriver(app)
        d.start()

        def shot(name: str) -> None:
            written.append(str(d.screenshot(out / f"{name}.png")))
            problems = d.overflow() if hasattr(d, "overflow") else []
            if problems:
                overflow[name] = problems

        try:
            d.wait_screen("counter_clerk_login", 60)
            d.wait(lambda: app.terminal.card_reader_status == "online", 30, "card reader online")
            stack.reader.place(staff_card("clerk"))
            d.wait(lambda: app.screen("counter_clerk_login").has_card, 30, "clerk card read")
            type_pin(d, "2468")
            shot("clerk_login")
            d.tap("key_clear")
            type_pin(d, TRAINING_PIN)
            d.tap("btn_sign_in")
            d.idle(60)
            d.wait_screen("counter_desk", 30)
            take_card_away(d, stack)
            # 代办: the queue, a request claimed, the 委托书 signed on screen.
            d.tap("btn_queue")
            d.wait_screen("counter_queue", 30)
            d.wait(lambda: len(d.widget("rows").children) > 0, 30, "queue rows")
            shot("queue")
            d.tap("btn_claim")
            d.idle(60)
            d.wait_screen("counter_request_detail", 30)
            detail = app.screen("counter_request_detail")
            d.wait(lambda: detail.request.get("status") == "claimed", 30, "claimed")
            d.tap(material_button(detail, scan))
            d.wait_screen("counter_material", 30)
            d.wait(lambda: app.screen("counter_material").page_no == 1, 60, "first page of the scan")
            d.idle(10)
            shot("material")
            d.tap("btn_back")
            d.wait_screen("counter_request_detail", 30)
            d.tap("btn_sign")
            d.wait_screen("counter_proxy_signature", 30)
            stack.reader.place(citizen)
            d.wait(lambda: bool(app.screen("counter_proxy_signature").principal_line), 30, "principal card")
            draw_signature(d, d.widget("pad"))
            shot("proxy_signature")
            d.tap("btn_confirm")
            d.idle(60)
            d.wait_screen("counter_request_detail", 30)
            d.wait(lambda: (detail.request.get("mandate") or {}).get("status") == "active", 30, "mandate active")
            d.tap(detail.button("start"))
            d.idle(60)
            d.wait(lambda: detail.request.get("status") == "in_progress", 30, "started")
            shot("request_detail")
            take_card_away(d, stack)
            # 代录: the citizen journey's form, at the counter.
            d.tap("btn_back")
            d.wait_screen("counter_queue", 30)
            d.tap("btn_back")
            d.wait_screen("counter_desk", 30)
            d.tap("btn_entry")
            d.wait_screen("id_login", 30)
            log_in(d, stack)
            to_form(d)
            fill_form(d)
            shot("entry_form")
            app.end_session()
            d.wait_screen("counter_desk", 30)
            take_card_away(d, stack)
            # 代收: papers for an application filed elsewhere.
            d.tap("btn_collect")
            d.wait_screen("counter_collect", 30)
            d.widget("code").text = elsewhere
            d.tap("btn_find")
            d.idle(60)
            collect = app.screen("counter_collect")
            d.wait(lambda: bool(collect.selected) and len(d.widget("material_items").children) > 0, 30, "materials")
            sim_device(app.cfg.devices.camera.source).next_page()
            d.tap(list(reversed(d.widget("material_items").children))[0])
            d.idle(120)
            d.wait(lambda: bool(collect.scanned_line) or bool(collect.problem), 30, "paper scanned")
            if not collect.scanned_line:
                raise AssertionError(f"代收 scan failed: {collect.problem}")
            d.tap("btn_file")
            d.idle(120)
            d.wait(lambda: bool(collect.message), 30, "materials filed")
            shot("collect")
            d.tap("btn_back")
            d.wait_screen("counter_desk", 30)
            # 代发: a wrong card refused, then the applicant's.
            d.tap("btn_handout")
            d.wait_screen("counter_handout", 30)
            handout = app.screen("counter_handout")
            d.widget("code").text = ready
            d.tap("btn_find")
            d.idle(60)
            d.wait(lambda: handout.selected.get("result") == "ready", 30, "result ready")
            stack.reader.place(staff_card("stranger"))
            d.wait(lambda: staff_card("stranger")["id_number"][-4:] in handout.card_line, 30, "stranger's card")
            d.tap("btn_hand_out")
            d.idle(60)
            d.wait(lambda: handout.refused, 30, "refused")
            shot("handout_refused")
            take_card_away(d, stack)
            stack.reader.place(citizen)
            d.wait(lambda: citizen["id_number"][-4:] in handout.card_line, 30, "applicant's card")
            d.tap("btn_hand_out")
            d.idle(60)
            d.wait(lambda: bool(handout.message), 30, "handed out")
            shot("handout")
            take_card_away(d, stack)
            d.tap("btn_back")
            d.wait_screen("counter_desk", 30)
            # The escalation seat: 窗口人员.
            sign_out(d)
            stack.reader.place(staff_card("window"))
            d.wait(lambda: app.screen("counter_clerk_login").has_card, 30, "window clerk's card")
            type_pin(d, TRAINING_PIN)
            d.tap("btn_sign_in")
            d.idle(60)
            d.wait_screen("counter_desk", 30)
            take_card_away(d, stack)
            d.tap("btn_escalation")
            d.wait_screen("counter_escalation", 30)
            d.wait(lambda: len(d.widget("rows").children) > 0, 30, "escalated rows")
            d.tap(list(reversed(d.widget("rows").children))[0])
            d.idle(60)
            d.wait_screen("counter_request_detail", 30)
            d.wait(lambda: bool(detail.history), 30, "history")
            shot("escalation")
            sign_out(d)
            # Training mode: its own hub, sample cards, 培训 everywhere.
            d.tap("btn_training")
            d.idle(180)
            d.wait(lambda: app.counter.training, 60, "training on")
            app.counter.inject_sample_card("clerk")
            d.wait(lambda: app.screen("counter_clerk_login").has_card, 30, "sample clerk card")
            type_pin(d, TRAINING_PIN)
            d.tap("btn_sign_in")
            d.idle(60)
            d.wait_screen("counter_desk", 30)
            shot("training")
            sign_out(d)
            d.tap("btn_training")
            d.idle(60)
            d.wait(lambda: not app.counter.training, 60, "training off")
        finally:
            d.stop()
        preview = None
        slips = sorted((Path(cfg.kiosk.data_dir) / "receipts").glob("*.png"), key=lambda p: p.stat().st_mtime)
        if slips:
            preview = out / "receipt_preview.png"
            shutil.copyfile(slips[-1], preview)
            written.append(str(preview))
    return {"screens": written, "receipt_preview": str(preview) if preview else None, "overflow": overflow,
            "orientation": orientation}
