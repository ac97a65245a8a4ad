"""The counter, second part: the 取件码 printed on the citizen's own 受理回执 (the hub keeps only its HMAC, 代发
finds the result by it) and 代收 collections forwarded to the platform as supplementary materials, once, also
when the platform fails first or its answer is lost (SQLite + PostgreSQL)."""
from __future__ import annotations

import hashlib
import json

import pytest
import requests
from sqlalchemy import select

import kiosk.hub.counter as counter
from hub_support import case_payload, upload_material, wait_for
from kiosk.errors import InvalidInput
from kiosk.hub.models import AuditEvent, Upload
from kiosk.hub.tus import upload_path
from kiosk.platform.adapter import PlatformUnavailable
from kiosk.receipt import templates
from kiosk.receipt.fields import ReceiptData
from kiosk.sync.client import HubClient
from test_counter_hub import APPLICANT_ID, CLERK, _post, _ready_case, _seed, _sign_in


def _audit_text(hub) -> str:
    with hub.state.sessions() as s:
        return json.dumps([[e.entity_id, e.action, e.detail] for e in s.scalars(select(AuditEvent))],
                          ensure_ascii=False, default=str)


def test_pickup_code_from_the_receipt_finds_the_result(hub):
    seed = _seed(hub)
    token = _sign_in(hub, seed["device"], CLERK, "246810").json()["token"]
    receipt = "K0001-20261201-0031"
    hub.client().submit_case(case_payload(receipt, delivery="网点代发", pickup_code="407215"), f"key-{receipt}")
    # The same case sent again (a kiosk retrying after a lost answer) is a replay, not a conflict.
    assert hub.client().submit_case(case_payload(receipt, delivery="网点代发", pickup_code="407215"),
                                    f"key-{receipt}")["receipt_no"] == receipt
    with hub.state.sessions() as s:
        row = s.get(counter.PickupHash, receipt)
        assert row is not None and "407215" not in row.code_hash and len(row.code_hash) == 64
        assert s.get(counter.Pickup, receipt) is None  # no second code is issued
    case_no = wait_for(lambda: hub.client().case_status(receipt).get("case_no"))
    requests.post(f"{hub.sim_url}/sim/cases/{case_no}/advance", json={"status": "completed"}, timeout=5)

    [found] = _post(hub, "/lookup", token, {"pickup_code": "407215"}).json()["results"]
    assert found["receipt_no"] == receipt and found["result"] == "ready"
    assert found["pickup_code_on_receipt"] is True and "pickup_code" not in found  # the hub cannot show it
    assert _post(hub, "/lookup", token, {"pickup_code": "407216"}).json()["results"] == []
    with hub.state.sessions() as s:
        assert s.get(counter.Pickup, receipt) is None  # ready, still no hub-issued code
    r = _post(hub, "/handouts", token, {"receipt_no": receipt, "card": {"id_number": APPLICANT_ID}}, key="h1")
    assert r.status_code == 201, r.text
    assert r.json()["pickup_code"] == ""
    # The code is never written down next to its receipt number: not in the audit log either.
    assert "407215" not in _audit_text(hub)

    # Only six digits are a pickup code; anything else is refused in words, naming the field.
    bad = hub.client().session.post(f"{hub.url}/api/v1/cases", json=case_payload(
        "K0001-20261201-0032", pickup_code="40721X"), headers={"Idempotency-Key": "bad-code"}, timeout=10)
    assert bad.status_code == 422 and "pickup_code" in bad.text

    # A case from an older kiosk (no code) still gets the hub's code at its first ready status, audited masked.
    older = "K0001-20261201-0033"
    _ready_case(hub, older)
    [old] = _post(hub, "/lookup", token, {"receipt_no": older}).json()["results"]
    assert old["pickup_code_on_receipt"] is False and len(old["pickup_code"]) == 6
    assert _post(hub, "/handouts", token, {"receipt_no": older, "card": {"id_number": APPLICANT_ID}},
                 key="h2").json()["pickup_code"] == old["pickup_code"]
    with hub.state.sessions() as s:
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "handed_out", AuditEvent.entity_id == older))
        assert ev.detail["pickup_code"] == "[redacted]"


def test_acceptance_receipt_prints_the_pickup_code():
    data = {"receipt_no": "K0001-20261201-0031", "item_name": "城乡居民养老保险参保登记", "applicant_name": "欧阳娜娜",
            "applicant_id_number": APPLICANT_ID, "phone": "13700009050", "submitted_at": "2026-12-01T10:00:00+08:00",
            "promised_by": "2026-12-15", "delivery": "网点代发", "outlet": "雁塔邮政政务服务专区",
            "tracking_url": "https://zwfw.example.gov.cn/track?r=K0001-20261201-0031", "materials": []}
    printed = templates.acceptance(ReceiptData("acceptance", {**data, "pickup_code": "407215"}), "12345")
    lines = [f"{getattr(b, 'label', '')}{getattr(b, 'value', getattr(b, 'text', ''))}" for b in printed.blocks]
    assert "取 件 码：407215" in lines
    without = templates.acceptance(ReceiptData("acceptance", dict(data, delivery="邮寄")), "12345")
    assert not any("取 件 码" in str(getattr(b, "label", "")) for b in without.blocks)


class _Flaky:
    """The real adapter, whose supplement call fails as told: before sending, or after the platform stored it
    (the answer lost on the way back)."""

    def __init__(self, inner, plan: list[str]) -> None:
        self.inner = inner
        self.plan = plan
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def send_supplement(self, case_no, ref, materials):
        self.calls += 1
        step = self.plan.pop(0) if self.plan else "ok"
        if step == "down":
            raise PlatformUnavailable("platform unreachable (test)")
        answer = self.inner.send_supplement(case_no, ref, materials)
        if step == "lost":
            raise PlatformUnavailable("answer lost (test)")
        return answer


def _collect(hub, token, tmp_path, receipt: str, key: str, contents: list[bytes]) -> dict:
    client = HubClient(hub.url, token)
    materials = [upload_material(client, tmp_path, c, code=f"M0{i + 2}", name=f"补充材料{i + 1}")
                 for i, c in enumerate(contents)]
    r = _post(hub, "/collections", token, {"receipt_no": receipt, "materials": materials}, key=key)
    assert r.status_code == 201, r.text
    return r.json()


def test_collections_reach_the_platform_once_even_when_it_fails_first(hub, tmp_path):
    seed = _seed(hub)
    token = _sign_in(hub, seed["device"], CLERK, "246810").json()["token"]
    state = hub.state
    flaky = _Flaky(state.platform, ["down", "down", "lost"])
    state.platform = flaky
    receipt = "K0001-20261201-0041"
    hub.client().submit_case(case_payload(receipt), f"key-{receipt}")
    case_no = wait_for(lambda: hub.client().case_status(receipt).get("case_no"))
    pages = [b"%PDF-1.4 household register page", b"%PDF-1.4 marriage certificate"]
    doc = _collect(hub, token, tmp_path, receipt, "c1", pages)
    assert doc["forwarding"]["status"] == "pending" and doc["forwarding"]["label"] == "待转交"

    def delivered():
        rows = _get_collections(hub, token, receipt)
        return rows if rows and rows[0]["forwarding"]["status"] == "delivered" else None

    [row] = wait_for(delivered)
    assert row["forwarding"]["label"] == "已转交" and row["forwarding"]["attempts"] == 4
    seen = requests.get(f"{hub.sim_url}/sim/cases/{case_no}", timeout=5).json()
    [supplement] = seen["supplements"]
    assert supplement["supplement_ref"] == doc["collection_no"]
    assert supplement["posts"] == 2  # the lost answer's retry reached the platform and was not stored again
    assert sorted(m["sha256"] for m in supplement["materials"]) == sorted(hashlib.sha256(p).hexdigest() for p in pages)
    # Delivered: the hub's copies of the scans are gone; the clerk sees 已转交 in the lookup too.
    with state.sessions() as s:
        ups = list(s.scalars(select(Upload).where(Upload.bound_to.like("DS-%"))))
        assert ups and all(u.purged for u in ups)
    [found] = _post(hub, "/lookup", token, {"receipt_no": receipt}).json()["results"]
    assert [c["forwarding"]["label"] for c in found["collections"]] == ["已转交"]
    calls = flaky.calls
    state.supplements.wake()
    _collect(hub, token, tmp_path, receipt, "c2", [b"%PDF-1.4 one more page"])
    wait_for(lambda: len(requests.get(f"{hub.sim_url}/sim/cases/{case_no}", timeout=5).json()["supplements"]) == 2)
    assert flaky.calls == calls + 1  # the first collection is not sent again


def test_collection_waits_for_the_application_number(hub, tmp_path):
    """A collection for an application the platform has not numbered yet waits (待转交) and goes once it has."""
    seed = _seed(hub)
    token = _sign_in(hub, seed["device"], CLERK, "246810").json()["token"]
    state = hub.state
    receipt = "K0001-20261201-0042"
    requests.post(f"{hub.sim_url}/sim/faults", json={"fail_rate": 1.0}, timeout=5).raise_for_status()
    hub.client().submit_case(case_payload(receipt), f"key-{receipt}")
    _collect(hub, token, tmp_path, receipt, "c3", [b"%PDF-1.4 late paper"])
    wait_for(lambda: (_get_collections(hub, token, receipt)[0]["forwarding"]["attempts"] or 0) >= 2)
    [row] = _get_collections(hub, token, receipt)
    assert row["forwarding"]["status"] == "pending" and "办件编号" in (row["forwarding"]["error"] or "")
    requests.post(f"{hub.sim_url}/sim/faults", json={"fail_rate": 0.0}, timeout=5).raise_for_status()
    state.relay.make_retries_due()
    wait_for(lambda: _get_collections(hub, token, receipt)[0]["forwarding"]["status"] == "delivered", timeout=60)
    case_no = hub.client().case_status(receipt)["case_no"]
    [supplement] = requests.get(f"{hub.sim_url}/sim/cases/{case_no}", timeout=5).json()["supplements"]
    assert supplement["posts"] == 1 and supplement["materials"][0]["sha256"] == hashlib.sha256(
        b"%PDF-1.4 late paper").hexdigest()


def _get_collections(hub, token, receipt: str) -> list[dict]:
    r = requests.get(f"{hub.url}/api/v1/counter/collections", params={"receipt_no": receipt},
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["collections"]


class _Refusing:
    """The platform refuses supplements (a 4xx of its own): the collection is set aside as failed."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def send_supplement(self, case_no, ref, materials):
        from kiosk.platform.adapter import PlatformRejected

        raise PlatformRejected("supplement refused: file type not accepted (test)")


def test_a_failed_collection_is_sent_again_or_its_scans_deleted_by_the_operator(hub, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from kiosk.cli import cli
    from kiosk.hub.collections_admin import discard

    seed = _seed(hub)
    token = _sign_in(hub, seed["device"], CLERK, "246810").json()["token"]
    state = hub.state
    real = state.platform
    receipt, other = "K0001-20261201-0043", "K0001-20261201-0044"
    for r in (receipt, other):
        hub.client().submit_case(case_payload(r), f"key-{r}")
        wait_for(lambda r=r: hub.client().case_status(r).get("case_no"))
    state.platform = _Refusing(real)
    first = _collect(hub, token, tmp_path, receipt, "c5", [b"%PDF-1.4 refused once"])
    second = _collect(hub, token, tmp_path, other, "c6", [b"%PDF-1.4 given back"])
    wait_for(lambda: all(_get_collections(hub, token, r)[0]["forwarding"]["status"] == "failed"
                         for r in (receipt, other)))
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    run = lambda *args: CliRunner().invoke(cli, ["hub", "collections", *args, "--db", hub.db_url])  # noqa: E731
    listed = run("list", "--json")
    assert listed.exit_code == 0, listed.output
    docs = {d["collection_no"]: d for d in json.loads(listed.output.strip().splitlines()[-1])["collections"]}
    assert set(docs) == {first["collection_no"], second["collection_no"]}
    assert docs[first["collection_no"]]["scans_kept"] == 1 and "file type" in docs[first["collection_no"]]["error"]
    assert run("retry", "DS-NOPE-999999").exit_code != 0  # an unknown number changes nothing
    # the cause fixed, the operator sends the first one again: it reaches the platform once
    state.platform = real
    again = run("retry", first["collection_no"], "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output.strip().splitlines()[-1])["status"] == "pending"
    state.supplements.wake()
    wait_for(lambda: _get_collections(hub, token, receipt)[0]["forwarding"]["status"] == "delivered", timeout=60)
    case_no = hub.client().case_status(receipt)["case_no"]
    [supplement] = requests.get(f"{hub.sim_url}/sim/cases/{case_no}", timeout=5).json()["supplements"]
    assert supplement["supplement_ref"] == first["collection_no"]
    assert run("retry", first["collection_no"]).exit_code != 0  # delivered: nothing to send again
    # the second one's papers went back to the citizen: its scans go, it stays as a record
    with pytest.raises(InvalidInput):
        discard(state.sessions, state.upload_dir, second["collection_no"], "  ")
    doc = discard(state.sessions, state.upload_dir, second["collection_no"], "材料已退还群众")
    assert doc["status"] == "discarded" and doc["label"] == "已退回" and doc["scans_kept"] == 0
    with state.sessions() as s:
        ups = list(s.scalars(select(Upload).where(Upload.bound_to == f"DS-{int(second['collection_no'][-6:]):06d}")))
    assert ups and all(u.purged for u in ups)
    assert not any(upload_path(state.upload_dir, u.id).exists() for u in ups)
    assert "supplements_discarded" in _audit_text(hub) and "supplements_requeued" in _audit_text(hub)
    assert _get_collections(hub, token, other)[0]["forwarding"]["label"] == "已退回"
