"""The counter's local action queue: a clerk action taken while the hub is unreachable waits on disk (sealed),
goes out exactly once when the hub is back, and an action whose clerk token ran out waits for the same clerk's
next sign-in (SQLite + PostgreSQL hubs)."""
from __future__ import annotations

import requests
from argon2 import PasswordHasher
from sqlalchemy import func, select

import kiosk.hub.counter as counter
from hub_support import case_payload, wait_for
from kiosk.counter import sample_card
from kiosk.hub.case_fields import field_cipher
from kiosk.counter.actions import ActionQueue
from kiosk.hub.auth import create_token
from kiosk.hub.models import Outlet
from kiosk.hub.serving import free_port

counter._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CLERK = sample_card("clerk")
APPLICANT_ID = case_payload("K0001-20261201-0001")["applicant"]["id_number"]


def _setup(hub) -> tuple[str, int]:
    with hub.state.sessions() as s, s.begin():
        s.add(Outlet(code="O-POST-1", name="雁塔邮政政务服务专区", level="partner", items=[]))
        s.flush()
        person = counter.register_staff(s, field_cipher(hub.state), outlet_code="O-POST-1", role="clerk",
                                        name=CLERK["name"], id_number=CLERK["id_number"], pin="246810")
        device = create_token(s, "kiosk", "C0001", outlet_code="O-POST-1")
        person_id = person.id
    r = requests.post(f"{hub.url}/api/v1/counter/sign-in", headers={"Authorization": f"Bearer {device}"},
                      json={"id_number": CLERK["id_number"], "pin": "246810"}, timeout=10)
    return r.json()["token"], person_id


def _ready(hub, receipt: str) -> None:
    hub.client().submit_case(case_payload(receipt, delivery="网点代发"), f"key-{receipt}")
    case_no = wait_for(lambda: hub.client().case_status(receipt).get("case_no"))
    requests.post(f"{hub.sim_url}/sim/cases/{case_no}/advance", json={"status": "completed"}, timeout=5)


def _handouts(hub) -> int:
    with hub.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(counter.Handout))


def test_action_waits_while_the_hub_is_away_and_goes_out_once(hub, tmp_path):
    token, person_id = _setup(hub)
    receipt = "K0001-20261201-0001"
    _ready(hub, receipt)
    body = {"receipt_no": receipt, "card": {"id_number": APPLICANT_ID, "name": "欧阳娜娜"}}
    away = ActionQueue(tmp_path, f"http://127.0.0.1:{free_port()}", timeout=2)
    action_id, answer = away.perform("handout", "POST", "/api/v1/counter/handouts", body, token=token,
                                     person_id=person_id, actor=f"clerk:{CLERK['name']}")
    assert answer is None and [r["id"] for r in away.waiting()] == [action_id]
    raw = (tmp_path / "counter-actions" / "actions.db").read_bytes()
    assert APPLICANT_ID.encode() not in raw and token.encode() not in raw  # sealed at rest
    assert _handouts(hub) == 0
    back = ActionQueue(tmp_path, hub.url, timeout=10)
    assert back.drain() == {"sent": 1, "refused": 0, "waiting": 0}
    assert back.drain() == {"sent": 0, "refused": 0, "waiting": 0}
    assert _handouts(hub) == 1
    assert back.answer(action_id)["recipient"] == "applicant"
    # The same action sent again (a crash after the hub answered, before the queue knew) is not a second hand-out.
    r = requests.post(f"{hub.url}/api/v1/counter/handouts", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {token}", "Idempotency-Key": action_id})
    assert r.status_code == 200 and _handouts(hub) == 1


def test_a_refused_action_is_not_retried_and_an_expired_token_waits_for_sign_in(hub, tmp_path):
    token, person_id = _setup(hub)
    q = ActionQueue(tmp_path, hub.url, timeout=10)
    from kiosk.counter.client import CounterRefused

    try:
        q.perform("handout", "POST", "/api/v1/counter/handouts", {"receipt_no": "K0001-20261201-0999",
                                                                  "card": {"id_number": APPLICANT_ID}},
                  token=token, person_id=person_id, actor="clerk:x")
        raise AssertionError("expected a refusal")
    except CounterRefused as exc:
        assert exc.code == "not_found"
    assert q.waiting() == []  # refused: retrying would not help
    receipt = "K0001-20261201-0002"
    _ready(hub, receipt)
    # The shift ended while the action waited: it waits for this clerk's next sign-in, never goes out under another.
    requests.post(f"{hub.url}/api/v1/counter/sign-out", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    away = ActionQueue(tmp_path, f"http://127.0.0.1:{free_port()}", timeout=2)
    away.perform("handout", "POST", "/api/v1/counter/handouts",
                 {"receipt_no": receipt, "card": {"id_number": APPLICANT_ID}}, token=token, person_id=person_id,
                 actor="clerk:x")
    assert q.drain()["waiting"] == 1
    assert [r["state"] for r in q.waiting()] == ["needs_sign_in"]
    assert q.rebind(person_id + 1, "gk_other_token") == 0  # somebody else's sign-in does not take it
    with hub.state.sessions() as s, s.begin():
        new_device = create_token(s, "kiosk", "C0002", outlet_code="O-POST-1")
    fresh = requests.post(f"{hub.url}/api/v1/counter/sign-in", headers={"Authorization": f"Bearer {new_device}"},
                          json={"id_number": CLERK["id_number"], "pin": "246810"}, timeout=10).json()["token"]
    assert q.rebind(person_id, fresh) == 1
    assert q.drain() == {"sent": 1, "refused": 0, "waiting": 0}
    assert _handouts(hub) == 1
