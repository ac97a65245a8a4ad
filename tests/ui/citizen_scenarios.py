"""UI scenarios of the citizen journeys beyond applying, each run in its own process by test_citizen_journeys.py.

Like scenarios.py: the real stack (platform simulator and hub processes, simulated reader, printer and camera),
the real app offscreen, synthetic touches; a failed assertion exits non-zero with its traceback on stderr.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from kiosk.demo import DemoStack, sample_card  # noqa: E402
from scenarios import running_app  # noqa: E402
from screens.tour import swap_card_out  # noqa: E402

OUT = Path(os.environ.get("KIOSK_UI_SHOTS", tempfile.mkdtemp(prefix="ui-shots-")))
PHONE = "13712349050"


def tap(d, widget_id: str) -> None:
    """Tap a button once it is laid out and enabled (under load a frame can lag behind the screen change)."""
    d.wait(lambda: (w := d.widget(widget_id)).width > 40 and w.opacity > 0 and not w.disabled, 10,
           f"{widget_id} ready")
    d.tap(widget_id)


def _ready(d, app) -> None:
    d.wait_screen("home")
    d.wait(lambda: app.terminal.card_reader_status == "online", 30, "card reader online")


def _card_in(d, app, stack, screen: str) -> None:
    d.wait_screen("id_login")
    stack.reader.place(sample_card("resident"))
    d.wait(lambda: app.current == screen and not app.busy, 60, f"{screen} after the card")


def _digits(d, text: str) -> None:
    for ch in text:
        d.tap_text(ch, exact=True)


def _hub(stack, path: str, method: str = "GET", **kw):
    return requests.request(method, f"{stack.hub_url}{path}", headers={"Authorization": f"Bearer {stack.token}"},
                            timeout=10, **kw)


def _submit_case(app, d, stack, shot=None, rate: int | None = None) -> str:
    """Apply for the first item of the list the usual way (the application journey's own steps), back to home;
    with `rate`, through the goodbye screen's 评价本次服务 and that face."""
    from screens.tour import capture_all, fill_form, log_in, swap_card_out, to_form, to_login

    to_login(d)
    log_in(d, stack)
    to_form(d)
    fill_form(d)
    tap(d, "btn_next")
    d.wait_screen("scan", 60)
    capture_all(d)
    tap(d, "btn_next")
    d.wait_screen("confirm")
    tap(d, "btn_next")
    d.wait_screen("receipt", 120)
    receipt_no = app.screen("receipt").receipt_no
    tap(d, "btn_next")
    d.wait_screen("done")
    if rate is None:
        tap(d, "btn_home")
    else:
        tap(d, "btn_rate")
        d.wait_screen("evaluation")
        assert app.screen("evaluation").subject, "the goodbye screen's case has no name on the evaluation screen"
        d.tap(app.screen("evaluation").ids[f"face_{rate}"].children[-1])
    d.wait_screen("home", 30)
    swap_card_out(d, stack)
    return receipt_no


def find_and_search(work: Path) -> dict:
    """办事指南 without a card: categories by department and life event, search by initials on the keyboard, the
    full guide of an item that needs the person (said up front), then of one this kiosk cannot take."""
    from screens.citizen_tour import close_keyboard, tap_item, to_search

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            _ready(d, app)
            tap(d, "btn_guide")
            d.wait_screen("service_list", 60)
            scr = app.screen("service_list")
            d.screenshot(OUT / "find" / "service_list.png")
            departments = len(scr.ids.categories.children)
            tap(d, "tab_event")
            events = len(scr.ids.categories.children)
            tap(d, "tab_bundle")
            bundles = [r["title"] for r in scr.ids.service_items.data]
            tap(d, "tab_department")
            to_search(d, "ylbx", lambda n: d.screenshot(OUT / "find" / f"{n}.png"))
            search = app.screen("search")
            hits = [r["title"] for r in search.ids.results.data]
            # With the keyboard open the list ends above it: the first results stay in sight, also in elder mode.
            above = {}
            for elder in (False, True):
                app.elder_mode = elder
                d.frames(3)
                d.tap(search.ids.search_field)
                d.frames(6)
                above["elder" if elder else "standard"] = _rows_above_keyboard(search)
                _window_shot(d, OUT / "find" / f"search_keyboard{'_elder' if elder else ''}.png")
                close_keyboard(d)
                d.frames(3)
            app.elder_mode = False
            d.frames(3)
            above["room_after_close"] = search.ids.keyboard_room.height
            search_ms = search.last_ms
            d.screenshot(OUT / "find" / "search.png")
            # An item that needs the person: the row says so before anything starts.
            search.ids.search_field.text = "护照"
            d.frames(2)
            passport = search.ids.results.data[0]
            tap_item(d, search.ids.results, passport["item_code"])
            d.wait_screen("item_detail")
            detail = app.screen("item_detail")
            shown = {"warning": detail.warning, "body": detail.body, "can_apply": detail.can_apply}
            d.screenshot(OUT / "find" / "guide_in_person.png")
            tap(d, "btn_back")
            d.wait_screen("search")
            # Every item of the catalog is searchable; the whole catalog in one list is virtualised.
            search.ids.search_field.text = "z"
            d.frames(2)
            many = len(search.ids.results.data)
            widgets = len(search.ids.results.layout_manager.children)
            return {"departments": departments, "events": events, "bundles": bundles, "hits": hits,
                    "search_ms": search_ms, "passport_badge": passport["badge"], "detail": shown, "many": many,
                    "row_widgets": widgets, "above_keyboard": above}


def _window_shot(d, path: Path) -> None:
    """The whole window, the keyboard overlay included (the driver's screenshot has the app's root only)."""
    from kivy.core.window import Window

    path.parent.mkdir(parents=True, exist_ok=True)
    d.frames(3)
    made = Window.screenshot(name=str(path))
    if made:
        Path(made).replace(path)


def _rows_above_keyboard(search) -> dict:
    """How many of the first results are wholly on screen above the open keyboard (window coordinates)."""
    from screens.keyboard import current_panel

    panel = current_panel()
    assert panel is not None, "the keyboard is not open"
    top = panel.to_window(panel.x, panel.top)[1]
    results = search.ids.results
    view_bottom = results.to_window(results.x, results.y)[1]
    view_top = results.to_window(results.x, results.top)[1]
    shown = 0
    for entry in results.data:
        row = results.row_for(entry["item_code"])
        if row is None:
            break
        bottom, row_top = row.to_window(row.x, row.y)[1], row.to_window(row.x, row.top)[1]
        if bottom < top - 1 or bottom < view_bottom - 1 or row_top > view_top + 1:
            break
        shown += 1
    return {"shown": shown, "keyboard_top": top, "list_bottom": view_bottom, "hits": len(results.data)}


def proxy_full(work: Path) -> dict:
    """我要代办: intro, card, an in-person item refused with the nearest window, then 全程代办 for a proxy-able
    item with the 委托书 signed by finger, the 代办受理单 printed with the request number and QR."""
    from devices.printer.decoder import decode
    from screens.citizen_tour import tap_item

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            shots = OUT / "proxy"
            _ready(d, app)
            tap(d, "btn_proxy")
            d.wait_screen("proxy_intro")
            intro = app.screen("proxy_intro").ids.body.text
            tap(d, "btn_next")
            _card_in(d, app, stack, "service_list")
            scr = app.screen("service_list")
            scr.pick("police")
            d.frames(3)
            passport = next(r for r in scr.ids.service_items.data if "护照" in r["title"])
            tap_item(d, scr.ids.service_items, passport["item_code"])
            d.wait_screen("item_detail")
            refusal = app.screen("item_detail").warning
            d.screenshot(shots / "proxy_refused.png")
            tap(d, "btn_back")
            d.wait_screen("service_list")
            scr.pick("hrss")
            d.frames(3)
            tap_item(d, scr.ids.service_items, scr.ids.service_items.data[0]["item_code"])
            d.wait_screen("proxy_mode")
            tap(d, "btn_next")
            no_mode = app.screen("proxy_mode").problem
            tap(d, "mode_full_proxy")
            _digits(d, PHONE)
            d.screenshot(shots / "proxy_mode.png")
            tap(d, "btn_next")
            d.wait_screen("proxy_consent")
            consent = app.screen("proxy_consent").body
            d.screenshot(shots / "proxy_consent.png")
            tap(d, "btn_next")
            d.wait_screen("proxy_signature")
            sig = app.screen("proxy_signature")
            sig.ids.pad.draw_strokes([[(60 + i * 9, 80 + (i % 6) * 12) for i in range(40)]])
            d.screenshot(shots / "proxy_signature.png")
            tap(d, "btn_next")
            d.wait_screen("proxy_receipt", 60)
            receipt = app.screen("proxy_receipt")
            seen = {"request_no": receipt.request_no, "details": receipt.details, "qr": receipt.qr_texture is not None}
            d.screenshot(shots / "proxy_receipt.png")
        listed = _hub(stack, "/api/v1/proxy-requests").json()["items"]
        printed = decode(stack.printer.received)
        return {"intro": intro, "refusal": refusal, "no_mode": no_mode, "consent": consent, **seen,
                "hub": [{k: r.get(k) for k in ("request_no", "mode", "kind", "status", "contact_phone", "priority")}
                        | {"mandate": (r.get("mandate") or {}).get("status"), "signed": (r.get("mandate") or {}).get("signed")}
                        for r in listed],
                "printed": printed.text, "printed_qr": printed.qr_payloads}


def _proxy_list(d, app, stack, department: str):
    """我要代办 from home: the intro, the card, the service list showing `department`'s items."""
    tap(d, "btn_proxy")
    d.wait_screen("proxy_intro")
    tap(d, "btn_next")
    _card_in(d, app, stack, "service_list")
    scr = app.screen("service_list")
    scr.pick(department)
    d.frames(3)
    return scr


def proxy_outside_scope(work: Path) -> dict:
    """我要代办 for an item the kiosk's outlet is not entrusted with: the hub refuses it, the citizen is told in
    plain words what to do instead (not the hub's message); nothing is filed and nothing is sent again."""
    from kiosk.citizen.services import citizen_services
    from screens.citizen_tour import tap_item

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            _ready(d, app)
            scr = _proxy_list(d, app, stack, "hrss")
            first, other = (r["item_code"] for r in scr.ids.service_items.data[:2])
            stack.entrust([other])  # the outlet handles another service, not this one
            tap_item(d, scr.ids.service_items, first)
            d.wait_screen("proxy_mode")
            tap(d, "mode_remote_guidance")
            _digits(d, PHONE)
            tap(d, "btn_next")
            d.wait(lambda: bool(app.notice) and not app.busy, 60, "the refusal told")
            d.frames(3)
            seen = {"notice": app.notice, "screen": app.current,
                    "queued": [(p["kind"], p["state"]) for p in citizen_services(app).actions().pending()]}
            d.screenshot(OUT / "proxy" / "proxy_outside_scope.png")
        listed = _hub(stack, "/api/v1/proxy-requests").json()["items"]
        return {**seen, "hub": listed}


def proxy_hub_down(work: Path) -> dict:
    """我要代办 (全程代办, signed by finger) while the hub is unreachable: the request is kept in the kiosk's action
    outbox, the 代办受理单 says 待上传 with the number the kiosk issued; once the hub is back the request reaches
    it exactly once, with the signature uploaded and the signed 委托书."""
    from devices.printer.decoder import decode
    from kiosk.citizen.services import citizen_services
    from screens.citizen_tour import tap_item

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            _ready(d, app)
            svc = citizen_services(app)
            svc.load_catalog()  # a cached catalog, as after a day of use
            scr = _proxy_list(d, app, stack, "hrss")
            tap_item(d, scr.ids.service_items, scr.ids.service_items.data[0]["item_code"])
            d.wait_screen("proxy_mode")
            tap(d, "mode_full_proxy")
            _digits(d, PHONE)
            tap(d, "btn_next")
            d.wait_screen("proxy_consent")
            tap(d, "btn_next")
            d.wait_screen("proxy_signature")
            pad = app.screen("proxy_signature").ids.pad
            pad.draw_strokes([[(60 + i * 9, 80 + (i % 6) * 12) for i in range(40)]])
            stack.stop_process("hub")
            tap(d, "btn_next")
            d.wait_screen("proxy_receipt", 60)
            receipt = app.screen("proxy_receipt")
            d.frames(3)
            d.screenshot(OUT / "proxy" / "hub_down.png")
            seen = {"screen": app.current, "notice": app.notice, "request_no": receipt.request_no,
                    "pending": receipt.pending, "pending_line": receipt.pending_line,
                    "waiting": [p["kind"] for p in svc.actions().pending()]}
            printed = decode(stack.printer.received).text
            stack.restart_hub()
            svc._actions_worker.wake()
            d.wait(lambda: not svc.actions().pending(), 90, "the request delivered after the hub came back")
            svc._actions_worker.wake()  # one more round: nothing is sent twice
            d.idle(5)
        listed = _hub(stack, "/api/v1/proxy-requests").json()["items"]
        return {**seen, "printed": printed,
                "hub": [{"request_no": r["request_no"], "mode": r["mode"], "materials": r["materials"],
                         "mandate": (r.get("mandate") or {}).get("status"),
                         "signed": (r.get("mandate") or {}).get("signed")} for r in listed]}


def query_and_evaluate(work: Path) -> dict:
    """进度查询 after an application: by card (status in words with dates, reprint for the card holder), by the
    receipt's QR under the camera, by a QR that is not ours, by a typed number; then 好差评: a 差评 without a reason
    is refused, with one it goes through the outbox to the hub and the platform."""
    import qrcode
    from PIL import Image

    from kiosk.citizen.services import citizen_services

    qr_dir = work / "qr"
    qr_dir.mkdir(parents=True)
    out = {}
    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            _ready(d, app)
            receipt_no = _submit_case(app, d, stack)
            printed_before = len(stack.printer.received)
            # By card.
            tap(d, "btn_query")
            d.wait_screen("query")
            d.screenshot(OUT / "query" / "query.png")
            tap(d, "btn_by_card")
            _card_in(d, app, stack, "query_result")
            result = app.screen("query_result")
            d.wait(lambda: bool(result.results), 30, "results")
            card = result.ids.cards.children[-1]
            out["by_card"] = {"status": card.status, "body": card.body, "n": len(result.results)}
            d.screenshot(OUT / "query" / "query_result.png")
            d.tap_text(app.tr._("Print the receipt again"))
            d.idle(30)
            out["reprinted"] = len(stack.printer.received) > printed_before
            tap(d, "btn_finish")
            d.wait_screen("home")
            swap_card_out(d, stack)
            # The receipt's QR under the simulated 高拍仪, then a QR that is not ours.
            for name, payload in (("ours", f"{cfg.kiosk.tracking_base_url}?r={receipt_no}"),
                                  ("foreign", "https://pay.example.com/order/88812")):
                canvas = Image.new("RGB", (1600, 1200), "white")
                canvas.paste(qrcode.make(payload, box_size=12, border=4).convert("RGB"), (500, 300))
                path = qr_dir / f"{name}.png"
                canvas.save(path)
                app.terminal.release_camera()
                cfg.devices.camera.source = f"sim:{path}"  # the camera opens on this picture
                if app.current != "home":
                    app.end_session()
                d.wait_screen("home")
                tap(d, "btn_query")
                d.wait_screen("query")
                tap(d, "btn_by_qr")
                if name == "ours":
                    d.wait_screen("query_result", 60)
                    d.wait(lambda: bool(app.screen("query_result").results), 30, "results by QR")
                    out["by_qr"] = [r.get("receipt_no") for r in app.screen("query_result").results]
                else:
                    d.wait(lambda: bool(app.screen("query").problem), 60, "QR refused")
                    out["foreign"] = app.screen("query").problem
                    d.screenshot(OUT / "query" / "qr_not_ours.png")
            # Typing the number works the same.
            tap(d, "btn_by_number")
            for ch in receipt_no:
                d.tap_text(ch, exact=True)
            tap(d, "btn_next")
            d.wait_screen("query_result", 30)
            d.wait(lambda: bool(app.screen("query_result").results), 30, "results by number")
            out["typed"] = [r.get("receipt_no") for r in app.screen("query_result").results]
            # 好差评 of that case: a 差评 needs a reason.
            d.tap_text(app.tr._("Rate this service"))
            d.wait_screen("evaluation")
            d.screenshot(OUT / "query" / "evaluation.png")
            d.tap(app.screen("evaluation").ids.face_2.children[-1])
            d.wait_screen("evaluation_reason")
            tap(d, "btn_next")
            out["no_reason"] = app.screen("evaluation_reason").problem
            d.tap_text(app.tr._("It took too long"))
            d.screenshot(OUT / "query" / "evaluation_reason.png")
            tap(d, "btn_next")
            d.wait_screen("home", 30)
            out["thanks"] = app.notice
            box = citizen_services(app).actions()
            d.wait(lambda: not box.pending(), 30, "evaluation delivered")
        case_no = _hub(stack, f"/api/v1/cases/{receipt_no}").json()["case_no"]
        sim = requests.get(f"{stack.platform_url}/sim/cases/{case_no}", timeout=5).json()
        out["platform_evaluations"] = sim["evaluations"]
        out["receipt_no"] = receipt_no
        return out


def evaluation_hub_down(work: Path) -> dict:
    """好差评 from the home tile while the hub goes away after listing: the evaluation waits in the kiosk's outbox
    and reaches the hub and platform once it is back."""
    from screens.tour import swap_card_out

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            _ready(d, app)
            receipt_no = _submit_case(app, d, stack, rate=4)  # offered on the goodbye screen, hub up
            from kiosk.citizen.services import citizen_services

            d.wait(lambda: not citizen_services(app).actions().pending(), 60, "the first evaluation delivered")
            tap(d, "btn_evaluate")
            _card_in(d, app, stack, "query_result")
            result = app.screen("query_result")
            d.wait(lambda: bool(result.results), 30, "the citizen's cases")
            heading = result.heading
            stack.stop_process("hub")
            d.tap_text(app.tr._("Rate this service"))
            d.wait_screen("evaluation")
            d.tap(app.screen("evaluation").ids.face_5.children[-1])
            d.wait_screen("home", 30)
            box = citizen_services(app).actions()
            waiting = box.pending()
            stack.restart_hub()
            citizen_services(app)._actions_worker.wake()
            d.wait(lambda: not box.pending(), 60, "delivered after the hub came back")
        case_no = _hub(stack, f"/api/v1/cases/{receipt_no}").json()["case_no"]
        sim = requests.get(f"{stack.platform_url}/sim/cases/{case_no}", timeout=5).json()
        return {"heading": heading, "waiting": [w["kind"] for w in waiting], "platform": sim["evaluations"]}


def cannot_do(work: Path) -> dict:
    """办不成事反映: card, the item, where, what happened, phone → a number; the hub files it as a complaint."""
    from screens.citizen_tour import tap_item

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            _ready(d, app)
            tap(d, "btn_cannot")
            _card_in(d, app, stack, "cannot_do")
            tap(d, "btn_next")
            empty = app.screen("cannot_do").problem
            tap(d, "btn_item")
            d.wait_screen("service_list", 60)
            scr = app.screen("service_list")
            tap_item(d, scr.ids.service_items, scr.ids.service_items.data[1]["item_code"])
            d.wait_screen("cannot_do")
            tap(d, "where_window")
            tap(d, "what_sent_back")
            _digits(d, PHONE)
            d.screenshot(OUT / "cannot_do" / "cannot_do.png")
            tap(d, "btn_next")
            d.idle(30)
            d.frames(3)
            number = app.screen("cannot_do").number
            details = app.screen("cannot_do").details
            d.screenshot(OUT / "cannot_do" / "cannot_do_number.png")
            # A second report while the hub is away: kept on the kiosk with a number it issued (待上传), delivered
            # exactly once when the hub is back.
            from kiosk.citizen.services import citizen_services
            from screens.tour import swap_card_out

            tap(d, "btn_next")  # Finish
            d.wait_screen("home")
            swap_card_out(d, stack)
            tap(d, "btn_cannot")
            _card_in(d, app, stack, "cannot_do")
            tap(d, "btn_item")
            d.wait_screen("service_list", 60)
            tap_item(d, scr.ids.service_items, scr.ids.service_items.data[2]["item_code"])
            d.wait_screen("cannot_do")
            tap(d, "where_kiosk")
            tap(d, "what_system")
            _digits(d, PHONE)
            stack.stop_process("hub")
            tap(d, "btn_next")
            d.idle(60)
            d.frames(3)
            screen = app.screen("cannot_do")
            offline = {"number": screen.number, "pending_line": screen.pending_line, "problem": screen.problem,
                       "details": screen.details,
                       "spoken": app.last_spoken,
                       "waiting": [p["kind"] for p in citizen_services(app).actions().pending()]}
            d.screenshot(OUT / "cannot_do" / "cannot_do_kept.png")
            tap(d, "btn_next")  # Finish: the report stays in the outbox after the session ends
            d.wait_screen("home")
            stack.restart_hub()
            box = citizen_services(app).actions()
            citizen_services(app)._actions_worker.wake()
            d.wait(lambda: not box.pending(), 60, "the kept report delivered once the hub is back")
        listed = _hub(stack, "/api/v1/proxy-requests?kind=complaint").json()["items"]
        # What the service centre reads: the report as the hub keeps it.
        kept = {r["request_no"]: _hub(stack, f"/api/v1/proxy-requests/{r['id']}").json()["details"] for r in listed}
        return {"empty": empty, "number": number, "details": details, "phone": PHONE, "offline": offline,
                "hub_details": kept,
                "hub": [{k: r.get(k) for k in ("request_no", "kind", "item_name", "status", "level", "channel")}
                        for r in listed]}


def bundle(work: Path) -> dict:
    """一件事: the questionnaire one question per screen, the combined materials, then one application through
    the usual form, scan, confirm and receipt; the platform records it as a bundle."""
    from screens.citizen_tour import tap_item
    from screens.tour import capture_all, fill_form, log_in, to_login

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            _ready(d, app)
            to_login(d)
            log_in(d, stack)
            tap(d, "tab_bundle")
            scr = app.screen("service_list")
            birth = next(r for r in scr.ids.service_items.data if r["title"] == "出生一件事")
            tap_item(d, scr.ids.service_items, birth["item_code"])
            d.wait_screen("bundle_questions")
            q = app.screen("bundle_questions")
            questions = []
            while app.current == "bundle_questions":
                questions.append(q.question)
                if len(questions) == 1:
                    d.screenshot(OUT / "bundle" / "bundle_questions.png")
                # First option ("yes") everywhere but the first question (both parents here: nothing extra).
                buttons = list(reversed(q.ids.options.children))
                d.tap(buttons[0])
            d.wait_screen("bundle_summary")
            summary = app.screen("bundle_summary").body
            d.screenshot(OUT / "bundle" / "bundle_summary.png")
            tap(d, "btn_next")
            d.wait_screen("guide")
            materials = [m.name for m in app.session.materials]
            d.tap("btn_next", "guide")
            d.wait_screen("form")
            d.screenshot(OUT / "bundle" / "form.png")
            fill_form(d)
            tap(d, "btn_next")
            d.wait_screen("scan", 60)
            capture_all(d)
            tap(d, "btn_next")
            d.wait_screen("confirm")
            tap(d, "btn_next")
            d.wait_screen("receipt", 120)
            receipt_no = app.screen("receipt").receipt_no
        deadline = time.monotonic() + 60
        case_no = None
        while not case_no and time.monotonic() < deadline:
            case_no = _hub(stack, f"/api/v1/cases/{receipt_no}").json().get("case_no")
            time.sleep(0.5)
        sim = requests.get(f"{stack.platform_url}/sim/cases/{case_no}", timeout=5).json() if case_no else {}
        return {"questions": questions, "summary": summary, "materials": materials, "case_no": case_no,
                "bundle": sim.get("bundle"), "item_name": sim.get("item_name")}


def elder_voice_new_screens(work: Path) -> dict:
    """Elder mode speaks the new screens' prompts; the replay button says it again in standard mode too; volume
    steps down."""
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from kiosk.i18n import gettext

    with DemoStack(work) as stack:
        with running_app(stack) as (app, cfg, d):
            _ready(d, app)
            tap(d, "btn_query")
            d.wait_screen("query")
            query_wav = app.voice.wav_path(gettext(app.screen("query").voice_prompt, "zh_CN"), "zh_CN")
            silent = not query_wav.exists()
            tap(d, "btn_replay")
            d.wait(lambda: query_wav.exists(), 60, "replayed prompt synthesised")
            tap(d, "btn_volume")
            volume = app.voice.player.volume
            tap(d, "btn_back")
            d.wait_screen("home")
            tap(d, "btn_elder")
            tap(d, "btn_proxy")
            d.wait_screen("proxy_intro")
            intro_wav = app.voice.wav_path(gettext(app.screen("proxy_intro").voice_prompt, "zh_CN"), "zh_CN")
            d.wait(lambda: intro_wav.exists(), 60, "proxy intro prompt synthesised")
            return {"silent_before_replay": silent, "replayed": query_wav.exists(), "volume": volume,
                    "elder_prompt": intro_wav.exists()}


if __name__ == "__main__":
    name = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix=f"ui-{name}-") as tmp:
        result = globals()[name](Path(tmp))
    print("RESULT " + json.dumps(result, ensure_ascii=False, default=str))
