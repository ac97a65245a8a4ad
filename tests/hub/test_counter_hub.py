"""The counter's hub API: clerk sign-in (ID card + PIN, growing waits, other outlets, citizens' cards), sign-out,
代发 to the applicant, to an agent with an effective 委托书 and by post, refusals in words, and 代收 (SQLite +
PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import uuid

import requests
from argon2 import PasswordHasher
from sqlalchemy import select

import kiosk.hub.counter as counter
from hub_support import case_payload, upload_material, wait_for
from kiosk.china_time import shown
from kiosk.counter import sample_card
from kiosk.hub.case_fields import field_cipher
from kiosk.hub.auth import create_token
from kiosk.privacy.masking import mask_name
from kiosk.hub.models import AuditEvent, Outlet, ProxyMandate, ProxyRequest
from kiosk.sync.client import HubClient

counter._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # light PIN hashes in tests

CLERK = sample_card("clerk")
OTHER = sample_card("clerk_other_outlet")
AGENT = sample_card("agent")
STRANGER = sample_card("stranger")
APPLICANT_ID = case_payload("K0001-20261201-0001")["applicant"]["id_number"]


def _seed(hub) -> dict:
    state = hub.state
    fc = field_cipher(state)
    with state.sessions() as s, s.begin():
        s.add(Outlet(code="O-POST-1", name="雁塔邮政政务服务专区", level="partner", items=[]))
        s.add(Outlet(code="O-TOWN-2", name="鱼化寨街道便民服务中心", level="town", items=[]))
        s.flush()
        clerk = counter.register_staff(s, fc, outlet_code="O-POST-1", role="clerk", name=CLERK["name"],
                                       id_number=CLERK["id_number"], pin="246810")
        counter.register_staff(s, fc, outlet_code="O-TOWN-2", role="clerk", name=OTHER["name"],
                               id_number=OTHER["id_number"], pin="135790")
        runner = counter.register_staff(s, fc, outlet_code="O-POST-1", role="runner", name=AGENT["name"],
                                        id_number=AGENT["id_number"], pin="112233")
        device = create_token(s, "kiosk", "C0001", outlet_code="O-POST-1")
        return {"device": device, "clerk_id": clerk.id, "runner_id": runner.id}


def _post(hub, path, token, body=None, key=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(f"{hub.url}/api/v1/counter{path}", json=body, headers=headers, timeout=10)


def _sign_in(hub, device, card, pin):
    return _post(hub, "/sign-in", device, {"id_number": card["id_number"], "pin": pin})


def test_sign_in_pin_waits_and_sign_out(hub):
    seed = _seed(hub)
    # A citizen's card is never taken for a clerk's.
    r = _sign_in(hub, seed["device"], STRANGER, "246810")
    assert r.status_code == 403 and r.json()["detail"]["code"] == "not_staff"
    # A clerk of another outlet cannot sign in at this outlet's counter.
    r = _sign_in(hub, seed["device"], OTHER, "135790")
    assert r.status_code == 403 and r.json()["detail"]["code"] == "other_outlet"
    # Two wrong PINs are free, the third makes the next try wait 30 s, the fourth 60 s.
    first = _sign_in(hub, seed["device"], CLERK, "000000").json()["detail"]
    assert first["code"] == "wrong_pin" and first["retry_after_s"] == 0 and first["attempts_left"] == 2
    _sign_in(hub, seed["device"], CLERK, "000001")
    third = _sign_in(hub, seed["device"], CLERK, "000002")
    assert third.status_code == 401 and third.json()["detail"]["retry_after_s"] == 30
    # While it waits, even the right PIN is refused.
    locked = _sign_in(hub, seed["device"], CLERK, "246810")
    assert locked.status_code == 429 and locked.json()["detail"]["code"] == "locked"
    assert 0 < locked.json()["detail"]["retry_after_s"] <= 31
    with hub.state.sessions() as s, s.begin():
        row = s.get(counter.PinFailures, counter.id_hash(hub.state, CLERK["id_number"]))
        row.locked_until = counter.utcnow() - dt.timedelta(seconds=1)
    fourth = _sign_in(hub, seed["device"], CLERK, "000003").json()["detail"]
    assert fourth["retry_after_s"] == 60
    with hub.state.sessions() as s, s.begin():
        s.get(counter.PinFailures, counter.id_hash(hub.state, CLERK["id_number"])).locked_until = None
    ok = _sign_in(hub, seed["device"], CLERK, "246810")
    assert ok.status_code == 200, ok.text
    doc = ok.json()
    assert doc["person"] == {"id": seed["clerk_id"], "name": CLERK["name"], "role": "clerk"}
    assert doc["outlet"] == {"code": "O-POST-1", "name": "雁塔邮政政务服务专区"}
    assert dt.datetime.fromisoformat(doc["expires_at"]) > dt.datetime.now(dt.timezone.utc)
    token = doc["token"]
    me = requests.get(f"{hub.url}/api/v1/counter/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert me.status_code == 200 and me.json()["person"]["id"] == seed["clerk_id"]
    # The count starts again after a good PIN.
    with hub.state.sessions() as s:
        assert s.get(counter.PinFailures, counter.id_hash(hub.state, CLERK["id_number"])) is None
        events = {(e.actor, e.action) for e in s.scalars(select(AuditEvent))}
    assert (f"clerk:{CLERK['name']}", "signed_in") in events
    assert any(a == "wrong_pin" for _, a in events)
    # The device token cannot do clerk work; sign-out ends the clerk token at once.
    assert _post(hub, "/lookup", seed["device"], {"receipt_no": "X"}).json()["detail"]["code"] == "not_signed_in"
    assert _post(hub, "/sign-out", token).json()["ended"] is True
    assert requests.get(f"{hub.url}/api/v1/counter/me", headers={"Authorization": f"Bearer {token}"},
                        timeout=5).status_code == 401


def _ready_case(hub, receipt_no: str, delivery: str = "网点代发") -> str:
    hub.client().submit_case(case_payload(receipt_no, delivery=delivery), f"key-{receipt_no}")
    case_no = wait_for(lambda: hub.client().case_status(receipt_no).get("case_no"))
    requests.post(f"{hub.sim_url}/sim/cases/{case_no}/advance", json={"status": "completed", "note": "办结"},
                  timeout=5).raise_for_status()
    return case_no


def _add_mandate(hub, receipt_no: str, agent: dict, expires_in: dt.timedelta, status: str = "active") -> int:
    fc = field_cipher(hub.state)
    now = counter.utcnow()
    with hub.state.sessions() as s, s.begin():
        req = ProxyRequest(request_no=f"HUB-{uuid.uuid4().hex[:8]}", kind="proxy", channel="counter",
                           outlet_code="O-POST-1", item_code="11610113MB2951836X4000127003000", item_name="x",
                           mode="full_proxy", applicant_type="person",
                           applicant_enc=fc.encrypt_json({"name": "欧阳娜娜", "id_number": APPLICANT_ID},
                                                         "proxy_requests.applicant_enc"),
                           applicant_masked="*阳娜娜", phone_enc=fc.encrypt("13700009050", "proxy_requests.phone_enc"),
                           phone_masked="137****9050", status="filed", sla_days=5, sla_due_at=now, sla_budget_s=1,
                           receipt_no=receipt_no, created_by="clerk:x", created_by_token=1, idem_client="c",
                           idem_key=uuid.uuid4().hex, idem_fingerprint="f")
        s.add(req)
        s.flush()
        m = ProxyMandate(request_id=req.id, status=status, scope_items=[req.item_code], scope_text="代为申请并领取结果",
                         expires_at=now + expires_in,
                         principal_enc=fc.encrypt_json({"name": "欧阳娜娜", "id_number": APPLICANT_ID},
                                                       "proxy_mandates.principal_enc"),
                         principal_masked="*阳娜娜",
                         agent_enc=fc.encrypt_json({"name": agent["name"], "id_number": agent["id_number"]},
                                                   "proxy_mandates.agent_enc"),
                         agent_masked="*志强", created_by="clerk:x")
        s.add(m)
        s.flush()
        return m.id


def test_handout_to_the_applicant_an_agent_and_by_post(hub, tmp_path):
    seed = _seed(hub)
    token = _sign_in(hub, seed["device"], CLERK, "246810").json()["token"]
    not_yet = "K0001-20261201-0009"
    hub.client().submit_case(case_payload(not_yet, delivery="网点代发"), f"key-{not_yet}")
    wait_for(lambda: hub.client().case_status(not_yet).get("case_no"))
    r = _post(hub, "/handouts", token, {"receipt_no": not_yet, "card": {"id_number": APPLICANT_ID}}, key="k0")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "not_ready"

    receipt = "K0001-20261201-0001"
    case_no = _ready_case(hub, receipt)
    # Found by the receipt QR's URL: the platform's 办结 makes it ready, with a pickup code.
    found = _post(hub, "/lookup", token, {"receipt_no": f"https://zwfw.example.gov.cn/track?r={receipt}"}).json()
    [result] = found["results"]
    assert result["result"] == "ready" and result["case_no"] == case_no and len(result["pickup_code"]) == 6
    assert APPLICANT_ID not in str(found) and "欧阳娜娜" not in str(found)  # masked
    by_code = _post(hub, "/lookup", token, {"pickup_code": result["pickup_code"]}).json()["results"]
    by_card = _post(hub, "/lookup", token, {"id_number": APPLICANT_ID}).json()["results"]
    assert [x["receipt_no"] for x in by_code] == [receipt] and receipt in [x["receipt_no"] for x in by_card]
    # A stranger's card: refused, in words; nothing recorded.
    r = _post(hub, "/handouts", token, {"receipt_no": receipt, "card": {"id_number": STRANGER["id_number"]}}, key="k1")
    assert r.status_code == 403 and r.json()["detail"]["code"] == "not_entitled"
    assert "委托书" in r.json()["detail"]["message"]
    # The applicant's own card: handed out, under the clerk's name.
    body = {"receipt_no": receipt, "card": {"id_number": APPLICANT_ID, "name": "欧阳娜娜"}}
    r = _post(hub, "/handouts", token, body, key="k2")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["recipient"] == "applicant" and doc["clerk"] == CLERK["name"] and doc["recipient_name"] == mask_name("欧阳娜娜")
    assert _post(hub, "/handouts", token, body, key="k2").status_code == 200  # a retry of the same hand-out
    again = _post(hub, "/handouts", token, body, key="k3")
    assert again.status_code == 409 and again.json()["detail"]["code"] == "already_handed_out"
    # when, in China's time whatever the hub machine's zone (the clerk reads it)
    assert shown(again.json()["detail"]["at"]) in again.json()["detail"]["message"]
    assert _post(hub, "/lookup", token, {"receipt_no": receipt}).json()["results"][0]["result"] == "handed_out"
    with hub.state.sessions() as s:
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "handed_out"))
        assert ev.actor == f"clerk:{CLERK['name']}" and ev.detail["person_id"] == seed["clerk_id"]

    # An agent with an effective 委托书 for the applicant may take it; with an expired one not.
    agent_case = "K0001-20261201-0002"
    _ready_case(hub, agent_case)
    _add_mandate(hub, agent_case, AGENT, dt.timedelta(days=-1))
    r = _post(hub, "/handouts", token, {"receipt_no": agent_case, "card": {"id_number": AGENT["id_number"]}}, key="k4")
    assert r.status_code == 403 and r.json()["detail"]["code"] == "mandate_expired"
    _add_mandate(hub, agent_case, AGENT, dt.timedelta(days=30))
    r = _post(hub, "/handouts", token, {"receipt_no": agent_case, "card": {"id_number": AGENT["id_number"],
                                                                             "name": AGENT["name"]}}, key="k5")
    assert r.status_code == 201 and r.json()["recipient"] == "agent", r.text

    # By post: the waybill number is recorded.
    posted = "K0001-20261201-0003"
    _ready_case(hub, posted, delivery="邮寄")
    r = _post(hub, "/handouts", token, {"receipt_no": posted, "method": "post"}, key="k6")
    assert r.status_code == 422 and r.json()["detail"]["code"] == "waybill"
    r = _post(hub, "/handouts", token, {"receipt_no": posted, "method": "post", "waybill_no": "EMS1234567890"}, key="k7")
    assert r.status_code == 201 and r.json()["waybill_no"] == "EMS1234567890" and r.json()["recipient"] == "post"


def test_collection_of_materials_for_an_application_filed_elsewhere(hub, tmp_path):
    seed = _seed(hub)
    token = _sign_in(hub, seed["device"], CLERK, "246810").json()["token"]
    receipt = "K0001-20261201-0004"
    hub.client().submit_case(case_payload(receipt), f"key-{receipt}")
    material = upload_material(HubClient(hub.url, token), tmp_path, b"%PDF-1.4 collected page", code="M02",
                               name="户口簿")
    body = {"receipt_no": receipt, "materials": [material]}
    r = _post(hub, "/collections", token, body, key="c1")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["collection_no"].startswith("DS-O-POST-1-") and doc["materials"][0]["name"] == "户口簿"
    assert doc["clerk"] == CLERK["name"]
    assert _post(hub, "/collections", token, body, key="c1").json()["collection_no"] == doc["collection_no"]
    missing = _post(hub, "/collections", token, {"receipt_no": "K0001-20261201-0999", "materials": [material]}, key="c2")
    assert missing.status_code == 404 and missing.json()["detail"]["code"] == "not_found"
    with hub.state.sessions() as s:
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "materials_collected"))
        assert ev.actor == f"clerk:{CLERK['name']}" and ev.entity_id == receipt
