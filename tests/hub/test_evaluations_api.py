"""好差评 on the hub: idempotent creation, the 差评 rules, upload to the platform (with 代理人 fields for a proxied
case), rectification and 回访; the citizen's lookup by card or receipt number; the kiosk's action outbox."""
from __future__ import annotations

import datetime as dt
import uuid

import requests

from hub_support import case_payload, wait_for
from kiosk.sync.action_outbox import ActionOutbox
from kiosk.sync.client import HubClient
from test_proxy_support import APPLICANT_ID, CLERK_ID, PENSION, proxy_hub, signature_b64  # noqa: F401 (fixture)

ID = "610113199001016789"


def _case(hub, receipt_no: str, token: str | None = None, **overrides) -> dict:
    client = HubClient(hub.url, token or hub.token)
    client.submit_case(case_payload(receipt_no, **overrides), f"key-{receipt_no}")
    return wait_for(lambda: (s := client.case_status(receipt_no))["case_no"] and s)


def _evaluate(url, token, key=None, **body):
    return requests.post(f"{url}/api/v1/evaluations", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key or str(uuid.uuid4())})


def test_evaluation_is_idempotent_uploaded_and_limited_to_two(hub):
    case = _case(hub, "K0001-20261201-0001")
    r = _evaluate(hub.url, hub.token, "ev-1", receipt_no=case["receipt_no"], level=5)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["channel"] == "5" and doc["assess_number"] == 1 and doc["upload_state"] == "uploaded"
    again = _evaluate(hub.url, hub.token, "ev-1", receipt_no=case["receipt_no"], level=5)
    assert again.status_code == 200 and again.json()["id"] == doc["id"]
    sim = requests.get(f"{hub.sim_url}/sim/cases/{case['case_no']}", timeout=5).json()
    assert [e["level"] for e in sim["evaluations"]] == [5] and sim["evaluations"][0]["channel"] == "5"
    # 差评 needs a reason; with one it opens a rectification and a 回访.
    bad = _evaluate(hub.url, hub.token, receipt_no=case["receipt_no"], level=1)
    assert bad.status_code == 422 and "reason" in bad.json()["detail"]
    bad = _evaluate(hub.url, hub.token, receipt_no=case["receipt_no"], level=2, detail_codes=["slow"], text="等了很久")
    assert bad.status_code == 201, bad.text
    second = bad.json()
    assert second["assess_number"] == 2 and second["rectification"]["status"] == "open"
    assert second["revisit"]["status"] == "pending" and second["rectification"]["due"]
    third = _evaluate(hub.url, hub.token, receipt_no=case["receipt_no"], level=4)
    assert third.status_code == 409 and "重复评价" in third.json()["detail"]
    unknown = _evaluate(hub.url, hub.token, receipt_no="K0001-20261201-9999", level=4)
    assert unknown.status_code == 404
    sim = requests.get(f"{hub.sim_url}/sim/cases/{case['case_no']}", timeout=5).json()
    assert [e["level"] for e in sim["evaluations"]] == [5, 2]


def test_bad_review_rectification_and_revisit_by_staff(hub):
    from kiosk.hub.auth import create_token

    with hub.state.sessions() as s, s.begin():
        window = create_token(s, "window", "win1", outlet_code=None)
        supervisor = create_token(s, "supervisor", "console")
    case = _case(hub, "K0001-20261201-0002")
    eid = _evaluate(hub.url, hub.token, receipt_no=case["receipt_no"], level=1, detail_codes=["attitude"]).json()["id"]
    h = {"Authorization": f"Bearer {window}"}
    board = requests.get(f"{hub.url}/api/v1/evaluations?bad=true&rectification=open",
                         headers={"Authorization": f"Bearer {supervisor}"}, timeout=5).json()
    assert [e["id"] for e in board["items"]] == [eid]
    r = requests.post(f"{hub.url}/api/v1/evaluations/{eid}/rectification", json={"status": "rectified", "note": "已约谈窗口人员"},
                      headers=h, timeout=5)
    assert r.status_code == 200 and r.json()["rectification"]["by"] == "window:win1"
    r = requests.post(f"{hub.url}/api/v1/evaluations/{eid}/revisit", json={"result": "satisfied", "note": "电话回访"},
                      headers=h, timeout=5)
    assert r.json()["revisit"] == {**r.json()["revisit"], "status": "done", "result": "satisfied"}
    # The kiosk and the supervisor may not touch the follow-up.
    for token in (hub.token, supervisor):
        r = requests.post(f"{hub.url}/api/v1/evaluations/{eid}/revisit", json={"result": "satisfied"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert r.status_code == 403


def test_citizen_lookup_by_card_and_by_receipt_qr(hub):
    case = _case(hub, "K0001-20261201-0003")
    _case(hub, "K0001-20261201-0004", applicant={"name": "王五", "id_number": "110105194912310029", "card_type": "111"})
    h = {"Authorization": f"Bearer {hub.token}"}
    mine = requests.post(f"{hub.url}/api/v1/citizen/lookup", json={"id_number": ID}, headers=h, timeout=10).json()
    assert [r["receipt_no"] for r in mine["results"]] == [case["receipt_no"]]
    found = mine["results"][0]
    assert found["status"] == "accepted" and found["promised_by"] and found["history"][-1]["status"] == "accepted"
    assert ID not in str(mine) and "欧阳娜娜" not in str(mine)
    by_qr = requests.post(f"{hub.url}/api/v1/citizen/lookup", headers=h, timeout=10,
                          json={"receipt_no": f"https://zwfw.example.gov.cn/track?r={case['receipt_no']}"}).json()
    assert [r["receipt_no"] for r in by_qr["results"]] == [case["receipt_no"]]
    none = requests.post(f"{hub.url}/api/v1/citizen/lookup", json={"receipt_no": "X-1"}, headers=h, timeout=10).json()
    assert none["results"] == []


def test_proxied_case_uploads_the_agent_fields(proxy_hub):
    hub = proxy_hub
    req = hub.created("kiosk", mode="full_proxy")
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat()
    m = hub.post("kiosk", "/api/v1/mandates", {"request_id": req["id"], "scope_items": [PENSION], "scope_text": "代为申请",
                                               "expires_at": expires,
                                               "principal": {"name": "欧阳娜娜", "id_number": APPLICANT_ID},
                                               "signature_png_b64": signature_b64()})
    assert m.status_code == 201, m.text
    assert hub.claim("clerk", id=req["id"]).status_code == 200
    r = hub.post("clerk", f"/api/v1/mandates/{m.json()['id']}/actions",
                 {"action": "activate", "agent": {"name": "张三", "id_number": CLERK_ID}})
    assert r.status_code == 200, r.text
    assert hub.act("clerk", req["id"], "start").status_code == 200
    receipt = "C0001-20261201-0001"
    client = HubClient(hub.url, hub.tokens["clerk"])
    client.submit_case(case_payload(receipt, channel="counter",
                                    applicant={"name": "欧阳娜娜", "id_number": APPLICANT_ID, "card_type": "111"}), "k-c1")
    case = wait_for(lambda: (s := client.case_status(receipt))["case_no"] and s)
    assert hub.act("clerk", req["id"], "file", receipt_no=receipt).status_code == 200
    r = _evaluate(hub.url, hub.tokens["kiosk"], receipt_no=receipt, level=4)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["proxied"] is True and doc["agent"].startswith("张*") and CLERK_ID not in doc["agent"]
    sim = requests.get(f"{proxy_hub.app.state.hub.platform.base_url}/sim/cases/{case['case_no']}", timeout=5).json()
    detail = sim["evaluations"][0]["detail"]
    assert detail["proxied"] is True and detail["handle_user_name"] == "张*"
    assert detail["handle_user_page_code"].endswith(CLERK_ID[-4:]) and detail["handle_user_page_type"] == "111"
    # The citizen sees the 代办 request and the case by card.
    look = hub.post("kiosk", "/api/v1/citizen/lookup", {"id_number": APPLICANT_ID}).json()["results"]
    assert {r.get("receipt_no") for r in look if r["kind"] == "case"} == {receipt}
    assert [r["request_no"] for r in look if r["kind"] == "proxy"] == [req["request_no"]]


def test_action_outbox_keeps_calls_until_the_hub_takes_them(hub, tmp_path):
    case = _case(hub, "K0001-20261201-0005")
    box = ActionOutbox(tmp_path / "kiosk")
    key = box.enqueue("evaluation", "POST", "/api/v1/evaluations", {"receipt_no": case["receipt_no"], "level": 5})
    assert box.enqueue("evaluation", "POST", "/api/v1/evaluations", {"receipt_no": case["receipt_no"], "level": 5},
                       key=key) == key  # same key: still one entry
    bad = box.enqueue("evaluation", "POST", "/api/v1/evaluations", {"receipt_no": case["receipt_no"], "level": 1})
    raw = (tmp_path / "kiosk" / "outbox" / "actions.db").read_bytes()
    assert case["receipt_no"].encode() not in raw  # bodies are sealed at rest
    away = box.drain(HubClient("http://127.0.0.1:9", hub.token, timeout=1))
    assert away == {"sent": 0, "failed": 0, "waiting": 2}
    assert box.pending()[0]["attempts"] == 1 and "unreachable" in box.pending()[0]["last_error"]
    result = box.drain(HubClient(hub.url, hub.token))
    assert result == {"sent": 1, "failed": 1, "waiting": 0}
    assert box.result(key)["level"] == 5
    assert [p["state"] for p in box.pending()] == ["failed"] and box.pending()[0]["key"] == bad
    # Sent again after the hub answered (a lost response): the hub answers the same evaluation.
    box2 = ActionOutbox(tmp_path / "kiosk")
    box2.enqueue("evaluation", "POST", "/api/v1/evaluations", {"receipt_no": case["receipt_no"], "level": 5}, key=key)
    assert box2.drain(HubClient(hub.url, hub.token))["sent"] == 1
    assert box2.result(key)["id"] == box.result(key)["id"]
