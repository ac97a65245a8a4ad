"""代办 API: intake, claims, the state machine, escalation, visibility and the 委托书 lifecycle (both engines)."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests
from sqlalchemy import select, text

from kiosk.hub.models import ProxyRequest
from test_proxy_support import (APPLICANT_ID, BUSINESS, CLERK_ID, PENSION, RESIDENCE, USCC_OK, proxy_hub,  # noqa: F401
                                body, signature_b64)


def test_create_is_idempotent_and_masks_personal_data(proxy_hub):
    key = str(uuid.uuid4())
    first = proxy_hub.create(key=key, priority="green", green_reason="elderly")
    assert first.status_code == 201, first.text
    doc = first.json()
    assert doc["status"] == "new" and doc["level"] == 0 and doc["proxy_fee"] == 0
    assert doc["request_no"].startswith("HUB-") and doc["device_id"] == "K0001"
    assert doc["applicant"] == {"type": "person", "name": "欧***", "id_number": "6*************6787", "card_type": "111"}
    assert doc["contact_phone"] == "137****9050"
    assert doc["sla_due_at"] and doc["sla"]["days"] == 1 and not doc["overdue"]
    again = proxy_hub.create(key=key, priority="green", green_reason="elderly")
    assert again.status_code == 200 and again.json()["id"] == doc["id"]
    other = proxy_hub.create(key=key, priority="normal")
    assert other.status_code == 422
    # at rest: ciphertext only
    with proxy_hub.app.state.hub.engine.connect() as conn:
        raw = conn.execute(text("SELECT applicant_enc, phone_enc FROM proxy_requests")).first()
    assert APPLICANT_ID.encode() not in bytes(raw[0]) and b"13700009050" not in bytes(raw[1])
    events = proxy_hub.events("kiosk", doc["id"])
    assert [e["action"] for e in events] == ["created", "notified"]
    assert events[1]["detail"]["phone"] == "137****9050" and events[1]["detail"]["template"] == "received"


def test_overlapping_retries_of_a_kiosk_numbered_request_are_one_request(proxy_hub):
    """The kiosk's action outbox may send a request again while its first try is still at the hub (a timeout):
    every try gets the one request (201 once, 200 replays), never 409 "number used under another key"."""
    from concurrent.futures import ThreadPoolExecutor

    key, number = str(uuid.uuid4()), "K0001-20261202-0101"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: proxy_hub.create(key=key, request_no=number), range(8)))
    assert sorted(r.status_code for r in answers) == [200] * 7 + [201], [r.text for r in answers if r.status_code != 200]
    assert {r.json()["id"] for r in answers} == {answers[0].json()["id"]}
    with proxy_hub.app.state.hub.sessions() as s:
        assert len(s.scalars(select(ProxyRequest).where(ProxyRequest.request_no == number)).all()) == 1


def test_a_create_answered_on_the_event_loop_is_the_one_a_thread_gives(proxy_hub):
    """On PostgreSQL a create whose checks answer from memory runs on the event loop (CREATE_PG there); a replay,
    another body under the key, a refusal or a cold cache go to `create` on a thread. Both give the same answer."""
    if not proxy_hub.db_url.startswith("postgresql"):
        pytest.skip("SQLite: every create is the thread's")
    svc = proxy_hub.app.state.proxy
    proxy_hub.created()  # the outlet tree, the outlets' items and the catalog loaded
    on_thread = []
    create = svc.create
    svc.create = lambda *a, **kw: on_thread.append(a[2].item_code) or create(*a, **kw)
    try:
        key = str(uuid.uuid4())
        loop_doc = proxy_hub.created(key=key, priority="green", green_reason="elderly")
        assert on_thread == []
        again = proxy_hub.create(key=key, priority="green", green_reason="elderly")
        assert again.status_code == 200 and again.json()["id"] == loop_doc["id"] and len(on_thread) == 1
        assert proxy_hub.create(key=key).status_code == 422  # the same key with another body
        refused = proxy_hub.create(outlet="TOWN2")  # not entrusted with the item: the thread explains
        assert refused.status_code == 422 and refused.json()["reason"] == "outside_outlet_scope"
        assert proxy_hub.create(item_code=RESIDENCE).status_code == 422  # needs the person, refused from memory
        svc._catalog = (0.0, {})  # a cold catalog: this one is the thread's
        thread_doc = proxy_hub.created(priority="green", green_reason="elderly")
        assert on_thread == [PENSION] * 4  # the replay, the other body, the refusal by scope, the cold catalog
    finally:
        svc.create = create
    differ = {"id", "request_no", "sla", "created_at", "updated_at", "sla_due_at"}
    assert {k: v for k, v in loop_doc.items() if k not in differ} == {
        k: v for k, v in thread_doc.items() if k not in differ}
    assert [e["action"] for e in proxy_hub.events("kiosk", loop_doc["id"])] == ["created", "notified"]


def test_a_create_still_at_work_under_its_key_asks_for_a_retry(proxy_hub, monkeypatch):
    """Retries that keep losing the insert's race to another call with the same key get 409 `in_progress` with
    Retry-After (a kiosk's outbox then sends again), not a refusal."""
    import kiosk.hub.proxy_service as service

    def always_busy(attempt, busy, tries=3):
        raise busy()

    monkeypatch.setattr(service, "first_insert_wins", always_busy)
    monkeypatch.setattr(proxy_hub.app.state.proxy, "_apg", None)  # the thread's path, where the race is
    monkeypatch.setattr(proxy_hub.app.state.proxy, "is_pg", False)
    r = proxy_hub.create()
    assert r.status_code == 409 and r.json()["code"] == "in_progress" and r.headers["Retry-After"] == "1"
    from kiosk.counter.client import CounterClient
    from kiosk.errors import Unavailable
    from test_proxy_support import body
    with pytest.raises(Unavailable):  # the counter's action queue keeps it and sends it again
        CounterClient(proxy_hub.url, proxy_hub.tokens["kiosk"]).call(
            "POST", "/api/v1/proxy-requests", json=body(), key=str(uuid.uuid4()))
    refused = proxy_hub.create(outlet="NOWHERE")
    assert refused.status_code == 422 and "Retry-After" not in refused.headers


def test_refuses_items_that_need_the_person_and_bad_input(proxy_hub):
    r = proxy_hub.create(item_code=RESIDENCE, item_name="居住证申领")
    assert r.status_code == 422 and "必须本人办理" in r.json()["detail"]
    assert proxy_hub.create(item_code="NO-SUCH-ITEM").status_code == 422
    assert proxy_hub.create(outlet="NOWHERE").status_code == 422
    assert proxy_hub.create(outlet="TOWN2").status_code == 422  # TOWN2 is entrusted with BUSINESS only
    assert proxy_hub.create(applicant={"name": "x", "id_number": "610113199001016789"}).status_code == 422
    assert proxy_hub.create(contact_phone="12345").status_code == 422
    assert proxy_hub.create(surprise=1).status_code == 422
    assert proxy_hub.create(mode="home_visit").status_code == 422  # needs an address
    assert proxy_hub.create(channel="hotline").status_code == 403  # a kiosk creates kiosk requests
    from test_proxy_support import body
    r = proxy_hub.post("kiosk", "/api/v1/proxy-requests", body())
    assert r.status_code == 400  # no Idempotency-Key
    with proxy_hub.app.state.hub.sessions() as s:
        assert s.scalar(select(ProxyRequest.id)) is None  # nothing was created by any of these


def test_organisation_applicant_needs_a_valid_credit_code(proxy_hub):
    org = {"org_name": "西安某某科技有限公司", "uscc": USCC_OK, "contact_name": "王五"}
    doc = proxy_hub.created(applicant=org, item_code=BUSINESS, outlet="TOWN2", item_name="个体工商户设立登记")
    assert doc["applicant"] == {"type": "org", "org_name": "西安某某科技有限公司", "uscc": USCC_OK, "contact_name": "王*"}
    bad = dict(org, uscc=USCC_OK[:-1] + "4")
    r = proxy_hub.create(applicant=bad, item_code=BUSINESS, outlet="TOWN2")
    assert r.status_code == 422 and "check character" in r.text


def test_claim_order_leases_and_state_machine(proxy_hub):
    a = proxy_hub.created()
    b = proxy_hub.created(priority="green", green_reason="pregnant")
    c = proxy_hub.created(outlet="VIL1")
    r = proxy_hub.claim("clerk")
    assert r.status_code == 200 and r.json()["id"] == b["id"]  # green first
    got = r.json()
    assert got["status"] == "claimed" and got["holder"] == "clerk:zhang" and got["lease_until"]
    assert proxy_hub.claim("clerk2").json()["id"] == a["id"]  # then the oldest
    assert proxy_hub.claim("clerk_t2").status_code == 204  # TOWN2 sees nothing of TOWN1
    assert proxy_hub.claim("vclerk").json()["id"] == c["id"]  # the village's own
    assert proxy_hub.claim("clerk").status_code == 204
    # only the holder works it; invalid transitions answer 409 with the state
    r = proxy_hub.act("clerk2", b["id"], "start")
    assert r.status_code == 403 and "held by clerk:zhang" in r.json()["detail"]
    r = proxy_hub.act("clerk", b["id"], "resume")
    assert r.status_code == 409 and r.json()["status"] == "claimed"
    assert proxy_hub.act("clerk", b["id"], "start").json()["status"] == "in_progress"
    paused = proxy_hub.act("clerk", b["id"], "wait_citizen", note="请补充户口簿").json()
    assert paused["status"] == "waiting_citizen" and paused["sla"]["paused"]
    assert proxy_hub.act("clerk", b["id"], "file", receipt_no="K0001-20261201-0001").status_code == 409
    assert proxy_hub.act("clerk", b["id"], "resume").json()["status"] == "in_progress"
    assert proxy_hub.act("clerk", b["id"], "file").status_code == 422  # file needs the case
    filed = proxy_hub.act("clerk", b["id"], "file", receipt_no="K0001-20261201-0001").json()
    assert filed["status"] == "filed" and filed["receipt_no"] == "K0001-20261201-0001" and filed["sla"]["stopped"]
    done = proxy_hub.act("clerk", b["id"], "complete").json()
    assert done["status"] == "done" and done["closed_at"]
    r = proxy_hub.act("clerk", b["id"], "cancel")
    assert r.status_code == 409 and r.json()["status"] == "done"
    actions = [e["action"] for e in proxy_hub.events("clerk", b["id"])]
    assert actions[:1] == ["created"] and "claimed" in actions and actions[-2:] == ["done", "notified"]
    # refuse needs its reason; release returns to the pool
    assert proxy_hub.act("clerk2", a["id"], "refuse").status_code == 422
    assert proxy_hub.act("clerk2", a["id"], "release").json()["status"] == "released"
    assert proxy_hub.claim("clerk").json()["id"] == a["id"]
    refused = proxy_hub.act("clerk", a["id"], "refuse", note="材料不全且无法补正").json()
    assert refused["status"] == "refused" and refused["reason"] == "材料不全且无法补正"


def test_expired_lease_goes_back_to_the_pool(proxy_hub):
    a = proxy_hub.created()
    assert proxy_hub.claim("clerk").json()["id"] == a["id"]
    with proxy_hub.app.state.hub.sessions() as s, s.begin():
        s.get(ProxyRequest, a["id"]).lease_until = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    r = proxy_hub.act("clerk", a["id"], "start")
    assert r.status_code == 403 and "lease" in r.json()["detail"]
    got = proxy_hub.claim("clerk2").json()  # the pool was empty: the claim returned the lapsed one first
    assert got["id"] == a["id"] and got["holder"] == "clerk:li"
    assert "lease_expired" in [e["action"] for e in proxy_hub.events("clerk2", a["id"])]
    renewed = proxy_hub.act("clerk2", a["id"], "renew", lease_s=3600).json()
    assert renewed["lease_until"] > got["lease_until"]


def test_claim_by_id_and_conflicts(proxy_hub):
    a = proxy_hub.created()
    r = proxy_hub.claim("clerk", id=a["id"])
    assert r.status_code == 200
    r = proxy_hub.claim("clerk2", id=a["id"])
    assert r.status_code == 409 and r.json()["status"] == "claimed"
    assert proxy_hub.claim("clerk_t2", id=a["id"]).status_code == 403
    assert proxy_hub.claim("kiosk").status_code == 403
    assert proxy_hub.claim("unbound").status_code == 403
    assert proxy_hub.claim("clerk", outlet="TOWN2").status_code == 403


def test_visibility_by_role(proxy_hub):
    mine = proxy_hub.created()
    theirs = proxy_hub.created("kiosk2", device_id="K0002")
    hot = proxy_hub.created("hotline", channel="hotline")
    listed = proxy_hub.get("kiosk", "/api/v1/proxy-requests").json()
    assert [x["id"] for x in listed["items"]] == [mine["id"]] and listed["total"] == 1
    assert proxy_hub.get("kiosk", f"/api/v1/proxy-requests/{theirs['id']}").status_code == 404
    assert proxy_hub.get("hotline", f"/api/v1/proxy-requests/{mine['id']}").status_code == 404
    assert proxy_hub.get("clerk_t2", f"/api/v1/proxy-requests/{mine['id']}").status_code == 403
    assert proxy_hub.get("supervisor", "/api/v1/proxy-requests").json()["total"] == 3
    assert proxy_hub.get("installer", "/api/v1/proxy-requests").status_code == 403
    assert proxy_hub.get("clerk", "/api/v1/proxy-requests?status=new&outlet=TOWN1").json()["total"] == 3
    assert proxy_hub.get("clerk", "/api/v1/proxy-requests?status=bogus").status_code == 422
    assert proxy_hub.get("vclerk", "/api/v1/proxy-requests").json()["total"] == 0  # village sees its own subtree
    # the creator may cancel (voluntary), nothing else
    assert proxy_hub.act("hotline", hot["id"], "start").status_code == 409
    assert proxy_hub.claim("clerk", id=hot["id"]).status_code == 200
    assert proxy_hub.act("hotline", hot["id"], "start").status_code == 403
    assert proxy_hub.act("hotline", hot["id"], "cancel").json()["status"] == "cancelled"
    # unmasked detail only for the holder
    proxy_hub.claim("clerk", id=mine["id"])
    r = proxy_hub.get("clerk", f"/api/v1/proxy-requests/{mine['id']}?unmasked=true").json()
    assert r["applicant"]["id_number"] == APPLICANT_ID and r["contact_phone"] == "13700009050" and r["unmasked"]
    assert proxy_hub.get("clerk2", f"/api/v1/proxy-requests/{mine['id']}?unmasked=true").status_code == 403
    assert "personal_data_viewed" in [e["action"] for e in proxy_hub.events("clerk", mine["id"])]


def test_escalation_ladder(proxy_hub):
    a = proxy_hub.created()
    proxy_hub.claim("clerk", id=a["id"])
    esc = lambda who, d, reason="卡住了": proxy_hub.post(who, f"/api/v1/proxy-requests/{a['id']}/escalations",  # noqa: E731
                                                       {"direction": d, "reason": reason})
    assert esc("clerk2", "up").status_code == 403  # not the holder
    assert esc("clerk", "down").status_code == 409  # already at 0
    assert esc("clerk", "up", "").status_code == 422  # a reason is required
    r = esc("clerk", "up")
    assert r.status_code == 200 and r.json()["level"] == 1 and r.json()["level_name"] == "窗口人员"
    assert proxy_hub.get("clerk2", f"/api/v1/proxy-requests/{a['id']}").status_code == 403  # above clerk2's level
    assert proxy_hub.get("clerk", f"/api/v1/proxy-requests/{a['id']}").status_code == 200  # the holder still sees it
    assert proxy_hub.get("window", "/api/v1/proxy-requests?level=1").json()["total"] == 1
    assert esc("window_t2", "up").status_code == 403  # another town's window
    assert esc("window", "up").json()["level"] == 2
    assert esc("window", "down").status_code == 403  # level 2 belongs to the chief now
    assert esc("chief", "up").json()["level"] == 3
    assert esc("leader", "up").status_code == 409
    assert esc("leader", "down", "协调完毕").json()["level"] == 2
    assert esc("chief", "down", "已解决").json()["level"] == 1
    assert esc("window", "down", "已解决").json()["level"] == 0
    events = [e for e in proxy_hub.events("clerk", a["id"]) if e["action"] in ("escalated", "deescalated")]
    assert [(e["action"], e["detail"]["to_level"]) for e in events] == [
        ("escalated", 1), ("escalated", 2), ("escalated", 3), ("deescalated", 2), ("deescalated", 1),
        ("deescalated", 0)]
    assert events[-1]["note"] == "已解决"


def test_mandate_lifecycle_gates_full_proxy(proxy_hub):
    a = proxy_hub.created(mode="full_proxy")
    proxy_hub.claim("clerk", id=a["id"])
    r = proxy_hub.act("clerk", a["id"], "start")
    assert r.status_code == 409 and r.json()["mandate_status"] is None
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat()
    mandate = {"request_id": a["id"], "scope_items": [PENSION], "scope_text": "代为申请", "expires_at": expires,
               "principal": {"name": "欧阳娜娜", "id_number": APPLICANT_ID}, "signature_png_b64": signature_b64()}
    assert proxy_hub.post("kiosk", "/api/v1/mandates", dict(mandate, scope_items=[BUSINESS])).status_code == 422
    guidance = proxy_hub.created()  # remote guidance: the citizen acts alone, no 委托书
    assert proxy_hub.post("kiosk", "/api/v1/mandates", dict(mandate, request_id=guidance["id"])).status_code == 422
    wrong = dict(mandate, principal={"name": "某人", "id_number": CLERK_ID})
    assert proxy_hub.post("kiosk", "/api/v1/mandates", wrong).status_code == 422
    m = proxy_hub.post("kiosk", "/api/v1/mandates", mandate)
    assert m.status_code == 201, m.text
    m = m.json()
    assert m["status"] == "pending" and m["signed"] and m["principal"]["name"] == "欧***"
    again = proxy_hub.post("kiosk", "/api/v1/mandates", mandate)  # a retry whose first answer was lost
    assert again.status_code == 200 and again.json()["id"] == m["id"], again.text
    other = dict(mandate, scope_text="代为申请并领取")
    assert proxy_hub.post("kiosk", "/api/v1/mandates", other).status_code == 409  # one open mandate
    assert proxy_hub.post("clerk", "/api/v1/mandates", mandate).status_code == 409  # another author: not a retry
    act = lambda who, action, **kw: proxy_hub.post(who, f"/api/v1/mandates/{m['id']}/actions",  # noqa: E731
                                                   {"action": action, **kw})
    assert act("kiosk", "activate").status_code == 403
    assert act("clerk", "activate").status_code == 422  # no agent yet
    bad_agent = {"name": "张三", "id_number": "610113194510230033"}
    assert act("clerk", "activate", agent=bad_agent).status_code == 422  # not the signed-in clerk's ID
    r = act("clerk", "activate", agent={"name": "张三", "id_number": CLERK_ID})
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["agent_person_id"]
    assert proxy_hub.act("clerk", a["id"], "start").json()["status"] == "in_progress"
    assert act("kiosk", "suspend", reason="本人外出").json()["status"] == "suspended"
    r = proxy_hub.act("clerk", a["id"], "file", receipt_no="K0001-20261201-0002")
    assert r.status_code == 409 and r.json()["mandate_status"] == "suspended"
    assert act("clerk", "renew", expires_at=expires).status_code == 422  # 续办 is signed again
    r = act("clerk", "renew", expires_at=expires, signature_png_b64=signature_b64())
    assert r.json()["status"] == "renewed"
    assert proxy_hub.act("clerk", a["id"], "file", receipt_no="K0001-20261201-0002").status_code == 200
    png = proxy_hub.get("clerk", f"/api/v1/mandates/{m['id']}/signature")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert proxy_hub.get("clerk2", f"/api/v1/mandates/{m['id']}/signature").status_code == 403
    assert proxy_hub.act("clerk", a["id"], "complete").json()["mandate"]["status"] == "completed"
    assert act("kiosk", "revoke", reason="x").status_code == 409


def test_revoked_or_expired_mandate_blocks(proxy_hub):
    a = proxy_hub.created(mode="full_proxy")
    proxy_hub.claim("clerk", id=a["id"])
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat()
    m = proxy_hub.post("clerk", "/api/v1/mandates", {
        "request_id": a["id"], "scope_items": [PENSION], "expires_at": expires,
        "principal": {"name": "欧阳娜娜", "id_number": APPLICANT_ID},
        "agent": {"name": "张三", "id_number": CLERK_ID}, "signature_png_b64": signature_b64()}).json()
    proxy_hub.post("clerk", f"/api/v1/mandates/{m['id']}/actions", {"action": "activate"})
    assert proxy_hub.act("clerk", a["id"], "start").status_code == 200
    # expire it in the database: the next action that needs it is refused, the sweeper records the expiry
    from kiosk.hub.models import ProxyMandate
    with proxy_hub.app.state.hub.sessions() as s, s.begin():
        s.get(ProxyMandate, m["id"]).expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    r = proxy_hub.act("clerk", a["id"], "complete")
    assert r.status_code == 409 and r.json()["mandate_status"] == "expired"
    assert proxy_hub.app.state.proxy_runtime.sweeper.run_once()["mandates"] == 1
    assert proxy_hub.get("clerk", f"/api/v1/mandates/{m['id']}").json()["status"] == "expired"
    r = proxy_hub.post("kiosk", f"/api/v1/mandates/{m['id']}/actions", {"action": "revoke", "reason": "不再委托"})
    assert r.json()["status"] == "revoked"
    assert proxy_hub.act("clerk", a["id"], "complete").json()["mandate_status"] == "revoked"


def test_complaint_goes_through_the_same_ladder(proxy_hub):
    doc = proxy_hub.created(kind="complaint", item_code="", mode=None, details="窗口说要去县里办，县里又让回镇上")
    assert doc["kind"] == "complaint" and doc["mode"] == "remote_guidance" and doc["sla"]["days"] == 3
    assert proxy_hub.create(kind="complaint", item_code="", mode=None).status_code == 422  # needs details
    got = proxy_hub.claim("window", kind="complaint").json()
    assert got["id"] == doc["id"]
    detail = proxy_hub.get("window", f"/api/v1/proxy-requests/{doc['id']}").json()
    assert detail["details"].startswith("窗口说要去县里办")


def test_kiosk_reads_only_its_own_cases(proxy_hub):
    from hub_support import case_payload

    payload = case_payload("K0001-20261201-0001")
    r = proxy_hub.post("kiosk", "/api/v1/cases", payload, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    assert proxy_hub.get("kiosk", "/api/v1/cases/K0001-20261201-0001").status_code == 200
    assert proxy_hub.get("kiosk2", "/api/v1/cases/K0001-20261201-0001").status_code == 404
    assert proxy_hub.get("clerk", "/api/v1/cases/K0001-20261201-0001").status_code == 200


def test_malformed_and_oversized_bodies_change_nothing(proxy_hub):
    url = f"{proxy_hub.url}/api/v1/proxy-requests"
    h = proxy_hub.h("kiosk", **{"Idempotency-Key": "k1", "Content-Type": "application/json"})
    assert requests.post(url, data=b"{not json", headers=h, timeout=10).status_code == 422
    assert requests.post(url, data=b"[1, 2]", headers=h, timeout=10).status_code == 422
    huge = b'{"outlet": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    assert requests.post(url, data=huge, headers=h, timeout=30).status_code == 413
    assert requests.post(url, data=b"{}", headers={"Authorization": "Bearer gk_forged_token"}, timeout=10).status_code == 401
    assert requests.post(url + "/1/transitions", json={"action": "start"}, timeout=10).status_code == 401
    assert proxy_hub.act("clerk", 2 ** 31, "start").status_code == 422  # beyond any id: refused before the database
    assert proxy_hub.act("clerk", 999, "start").status_code == 404
    assert proxy_hub.act("clerk", 999, "refuse", note="bad\x00byte").status_code == 422  # NUL: refused, not stored
    assert proxy_hub.create(item_name="养老\ud800").status_code == 422  # a lone surrogate
    assert proxy_hub.get("clerk", "/api/v1/outlets?under=T%00").status_code == 422
    assert proxy_hub.get("supervisor", "/api/v1/proxy-requests").json()["total"] == 0


def test_key_rotation_reencrypts_proxy_requests_and_mandates(proxy_hub):
    """`kiosk hub rekey` (kiosk.hub.rekey): every 代办 field and 委托书 under the new key, readable afterwards;
    run again, nothing left; a value under neither key is named, not skipped."""
    import os

    import pytest

    from kiosk.hub.crypto import DecryptionError, FieldCipher
    from kiosk.hub.models import ProxyMandate
    from kiosk.hub.rekey import reseal_columns

    a = proxy_hub.created(mode="home_visit", address="西安市周至县二曲街道1号")
    b = proxy_hub.created(mode="full_proxy")
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat()
    m = proxy_hub.post("clerk", "/api/v1/mandates", {
        "request_id": b["id"], "scope_items": [PENSION], "expires_at": expires,
        "principal": {"name": "欧阳娜娜", "id_number": APPLICANT_ID},
        "agent": {"name": "张三", "id_number": CLERK_ID}, "signature_png_b64": signature_b64()})
    assert m.status_code == 201, m.text
    svc = proxy_hub.service
    old, new = svc.cipher, FieldCipher(os.urandom(32))
    sessions = proxy_hub.app.state.hub.sessions
    done = reseal_columns(sessions, old, new)
    assert done["proxy_requests.applicant_enc"] == done["proxy_requests.phone_enc"] >= 2
    assert done["proxy_requests.address_enc"] >= 1
    assert done["proxy_mandates.principal_enc"] == done["proxy_mandates.agent_enc"] == 1
    assert done["proxy_mandates.signature_enc"] == 1
    assert not any(reseal_columns(sessions, old, new).values())  # run again after an interruption: nothing left
    with sessions() as s:
        req = s.get(ProxyRequest, a["id"])
        assert new.decrypt_text(req.address_enc, "proxy_requests.address_enc") == "西安市周至县二曲街道1号"
        with pytest.raises(DecryptionError):
            old.decrypt(req.applicant_enc, "proxy_requests.applicant_enc")
        mandate = s.scalar(select(ProxyMandate).where(ProxyMandate.request_id == b["id"]))
        assert new.decrypt_json(mandate.agent_enc, "proxy_mandates.agent_enc")["name"] == "张三"
    svc.cipher = new  # the hub restarted with the new key: requests read as before
    doc = proxy_hub.get("clerk", f"/api/v1/proxy-requests/{a['id']}")
    assert doc.status_code == 200 and doc.json()["applicant"]["name"] == "欧***"
    with pytest.raises(DecryptionError, match="proxy_requests.applicant_enc of row"):
        reseal_columns(sessions, FieldCipher(os.urandom(32)), FieldCipher(os.urandom(32)))


def test_refusals_carry_a_code_the_counter_turns_into_words(proxy_hub):
    """Each refusal a clerk meets has a machine-readable `code` beside the words (the counter shows its own
    translated text for it) and changes nothing."""
    import requests as rq

    from kiosk.counter.client import _refusal

    a = proxy_hub.created()
    proxy_hub.claim("clerk", id=a["id"])
    r = proxy_hub.act("clerk2", a["id"], "start")
    assert r.status_code == 403 and r.json()["code"] == "held_by_other" and r.json()["status"] == "claimed", r.text
    r = proxy_hub.act("clerk", a["id"], "complete")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state" and r.json()["status"] == "claimed"
    r = proxy_hub.claim("clerk2", id=a["id"])
    assert r.status_code == 409 and r.json()["code"] == "taken"
    b = proxy_hub.created()
    r = proxy_hub.act("clerk", b["id"], "start")  # not claimed yet
    assert r.status_code == 409 and r.json()["code"] == "invalid_state" and r.json()["status"] == "new"
    assert proxy_hub.get("clerk", f"/api/v1/proxy-requests/{a['id']}").json()["status"] == "claimed"  # unchanged

    resp = rq.models.Response()
    resp.status_code, resp._content = 409, b'{"detail": "cannot complete a request that is claimed", "code":' \
                                           b' "invalid_state", "status": "claimed", "level": 0}'
    refusal = _refusal(resp)
    assert (refusal.code, refusal.status, refusal.detail["status"]) == ("invalid_state", 409, "claimed")
    assert "cannot complete" in refusal.message


def test_a_requests_scans_are_kept_while_it_is_open_shown_to_its_holder_and_deleted_when_it_closes(proxy_hub,
                                                                                                 tmp_path):
    from hub_support import upload_material

    from kiosk.hub.models import Upload
    from kiosk.hub.tus import upload_path
    from kiosk.sync.client import HubClient

    hub = proxy_hub
    state = hub.app.state.hub
    kiosk = HubClient(hub.url, hub.tokens["kiosk"])
    scans = {}
    for code in ("M01", "M02"):  # one request closed by `complete` (done), one by `cancel`
        m = upload_material(kiosk, tmp_path, f"%PDF-1.4 {code} hukou".encode(), code=code)
        scans[code] = m["upload_url"].rstrip("/").rsplit("/", 1)[1]
        scans[code + "_url"] = m["upload_url"]
    done = hub.created(materials=[{"code": "M01", "name": "户口簿", "upload_url": scans["M01_url"]}])
    cancelled = hub.created(materials=[{"code": "M02", "name": "户口簿", "upload_url": scans["M02_url"]}])
    # an upload already attached to a request is not attached to another one
    twice = hub.create(materials=[{"code": "M01", "name": "户口簿", "upload_url": scans["M01_url"]}])
    assert twice.status_code == 422 and "already filed" in twice.json()["detail"]

    # past the upload's own expiry the scans stay: the requests are open
    with state.sessions() as s, s.begin():
        for code in ("M01", "M02"):
            s.get(Upload, scans[code]).expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    state.relay.purge_expired_uploads()
    for code in ("M01", "M02"):
        assert upload_path(state.upload_dir, scans[code]).read_bytes() == f"%PDF-1.4 {code} hukou".encode()
    gone = requests.delete(scans["M01_url"], headers={"Authorization": f"Bearer {hub.tokens['kiosk']}",
                                                      "Tus-Resumable": "1.0.0"}, timeout=10)
    assert gone.status_code == 409 and "代办" in gone.json()["detail"]

    path = f"/api/v1/proxy-requests/{done['id']}/materials/{scans['M01']}"
    assert hub.get("clerk", path).status_code == 403  # not claimed yet: nobody holds it
    assert hub.claim("clerk").json()["id"] == done["id"]
    got = hub.get("clerk", path)
    assert got.status_code == 200 and got.content == b"%PDF-1.4 M01 hukou"
    assert got.headers["content-type"] == "application/pdf" and got.headers["cache-control"] == "no-store"
    assert hub.get("clerk2", path).status_code == 403  # another clerk of the outlet
    from kiosk.counter.client import CounterClient, CounterRefused

    assert CounterClient(hub.url, hub.tokens["clerk"]).download(path) == b"%PDF-1.4 M01 hukou"  # the counter's viewer
    with pytest.raises(CounterRefused) as refused:
        CounterClient(hub.url, hub.tokens["clerk2"]).download(path)
    assert refused.value.status == 403
    assert hub.get("kiosk", path).status_code == 403  # the kiosk that created it reads no scans back
    assert hub.get("clerk", f"/api/v1/proxy-requests/{done['id']}/materials/{scans['M02']}").status_code == 404
    assert any(e["action"] == "material_viewed" and e["detail"]["material"] == "M01"
               for e in hub.events("clerk", done["id"]))

    assert hub.act("clerk", done["id"], "start").status_code == 200
    assert hub.act("clerk", done["id"], "complete").json()["status"] == "done"
    assert hub.act("kiosk", cancelled["id"], "cancel", note="群众改为窗口办理").json()["status"] == "cancelled"
    with state.sessions() as s:
        assert s.get(Upload, scans["M01"]).purged and s.get(Upload, scans["M02"]).purged
    for code in ("M01", "M02"):
        assert not upload_path(state.upload_dir, scans[code]).exists()
    after = hub.get("clerk", path)
    assert after.status_code == 404 and after.json()["code"] == "material_gone"


def test_the_device_header_names_the_device_in_every_event_of_a_clerks_calls(proxy_hub):
    """`X-Device-Id` (a counter PC names itself) is recorded on the create, the claim, `start` and `complete`, on
    whichever path answers them (on PostgreSQL the second create and the holder's steps run on the event loop);
    without it the kiosk's own id stands, and a header that is not printable text is ignored."""
    pc = {"X-Device-Id": "PC-07"}
    ids = []
    for _ in range(2):  # the first create loads the caches (a thread's path), the second may answer from memory
        r = proxy_hub.post("kiosk", "/api/v1/proxy-requests", body(),
                           headers={"Idempotency-Key": str(uuid.uuid4()), **pc})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    plain = proxy_hub.created()
    odd = proxy_hub.post("kiosk", "/api/v1/proxy-requests", body(),
                         headers={"Idempotency-Key": str(uuid.uuid4()), "X-Device-Id": "PC\t07"})
    assert odd.status_code == 201, odd.text
    for rid in ids:
        claimed = proxy_hub.post("clerk", "/api/v1/proxy-requests/claim", {"id": rid}, headers=pc)
        assert claimed.status_code == 200 and claimed.json()["id"] == rid, claimed.text
        for action in ("start", "complete"):
            r = proxy_hub.post("clerk", f"/api/v1/proxy-requests/{rid}/transitions", {"action": action}, headers=pc)
            assert r.status_code == 200, r.text
        devices = {e["action"]: e["device"] for e in proxy_hub.events("supervisor", rid)}
        assert devices["created"] == devices["claimed"] == devices["started"] == devices["done"] == "PC-07", devices
    nxt = proxy_hub.post("clerk", "/api/v1/proxy-requests/claim", {}, headers=pc)  # the pool's pick (not by id)
    assert nxt.status_code == 200, nxt.text
    assert {e["action"]: e["device"] for e in proxy_hub.events("supervisor", nxt.json()["id"])}["claimed"] == "PC-07"
    assert proxy_hub.events("supervisor", plain["id"])[0]["device"] == "K0001"
    assert proxy_hub.events("supervisor", odd.json()["id"])[0]["device"] == "K0001"
