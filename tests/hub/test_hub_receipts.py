"""Receipt copies: stored on the hub per case, fetched by clerks, kept in the kiosk's outbox until the hub has
them, and reprinted by `kiosk receipt reprint` on a simulated printer (SQLite + PostgreSQL)."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import pytest
import requests
from sqlalchemy import select

from devices.printer.simulator import SimulatedPrinter
from hub_support import case_payload
from kiosk.errors import InvalidInput
from kiosk.hub.auth import create_token
from kiosk.hub.models import AuditEvent, ReceiptCopy
from kiosk.hub.receipts import MAX_RECEIPT_BYTES
from kiosk.hub.serving import free_port
from kiosk.receipt import render_receipt
from kiosk.sync import HubClient, HubRejected, Outbox
from kiosk.sync.client import MAX_RECEIPT_BYTES as CLIENT_MAX_RECEIPT_BYTES

KIOSK = [sys.executable, "-c", "from kiosk.cli import main; main()"]
SLIP = b"\x1b@" + "受理回执 RECEIPT-COPY-MARKER".encode("gb18030") + b"\n\x1dVB\x00"


def _token(hub, role: str, name: str) -> str:
    with hub.state.sessions() as s, s.begin():
        return create_token(s, role, name)


def _submit(hub, receipt_no: str) -> None:
    hub.client().submit_case(case_payload(receipt_no), f"key-{receipt_no}")


def _put(hub, receipt_no: str, body, token: str | None = None, ctype: str = "application/octet-stream"):
    return requests.put(f"{hub.url}/api/v1/cases/{receipt_no}/receipt", data=body, timeout=10,
                        headers={**hub.headers(token), "Content-Type": ctype})


def _get(hub, receipt_no: str, token: str | None = None):
    return requests.get(f"{hub.url}/api/v1/cases/{receipt_no}/receipt", headers=hub.headers(token), timeout=10)


def _receipt_audit(hub, receipt_no: str) -> list[AuditEvent]:
    with hub.state.sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.entity == "receipt",
                                                       AuditEvent.entity_id == receipt_no).order_by(AuditEvent.id)))


def _payload(receipt_no: str) -> dict:
    return case_payload(receipt_no, [{"code": "M01", "name": "居民身份证", "pages": 1}])


def _scan(tmp_path, name: str = "p.pdf"):
    path = tmp_path / name
    path.write_bytes(b"PAGE-" + os.urandom(500))
    return str(path)


# -- hub ------------------------------------------------------------------------------------------------------
def test_store_is_idempotent_replace_is_audited_and_clerks_fetch(hub):
    rn = "K0001-20261122-0101"
    _submit(hub, rn)
    client = hub.client()
    first = client.put_receipt(rn, SLIP)
    assert first["outcome"] == "stored" and first["bytes"] == len(SLIP)
    assert first["sha256"] == hashlib.sha256(SLIP).hexdigest() and first["stored_by"] == "kiosk:K0001"
    assert _put(hub, rn, SLIP).status_code == 200  # the same bytes again: nothing changes
    assert client.put_receipt(rn, SLIP)["outcome"] == "unchanged"

    clerk = HubClient(hub.url, hub.clerk_token)
    assert clerk.get_receipt(rn) == SLIP
    r = _get(hub, rn, hub.clerk_token)
    assert r.headers["content-type"] == "application/octet-stream" and r.headers["cache-control"] == "no-store"
    assert r.headers["x-receipt-sha256"] == hashlib.sha256(SLIP).hexdigest()
    supervisor = _token(hub, "supervisor", "sup01")
    assert _get(hub, rn, supervisor).content == SLIP

    newer = SLIP + b"REPRINTED"
    replaced = client.put_receipt(rn, newer)
    assert replaced["outcome"] == "replaced" and replaced["sha256"] == hashlib.sha256(newer).hexdigest()
    assert clerk.get_receipt(rn) == newer
    with hub.state.sessions() as s:
        [copy] = s.scalars(select(ReceiptCopy).where(ReceiptCopy.receipt_no == rn)).all()
        assert copy.escpos == newer and copy.size == len(newer) and copy.stored_by == "kiosk:K0001"

    events = _receipt_audit(hub, rn)
    assert [e.action for e in events] == ["receipt_stored", "receipt_unchanged", "receipt_unchanged",
                                          "receipt_fetched", "receipt_fetched", "receipt_fetched",
                                          "receipt_replaced", "receipt_fetched"]
    assert [e.actor for e in events if e.action == "receipt_fetched"] == ["clerk:clerk01", "clerk:clerk01",
                                                                          "supervisor:sup01", "clerk:clerk01"]
    assert events[6].detail["previous_sha256"] == hashlib.sha256(SLIP).hexdigest()
    assert events[6].detail["sha256"] == hashlib.sha256(newer).hexdigest()


def test_only_the_cases_own_device_or_a_clerk_may_store_and_kiosks_may_not_fetch(hub):
    rn = "K0001-20261122-0102"
    _submit(hub, rn)
    other_kiosk = _token(hub, "kiosk", "K0002")
    for token in (other_kiosk, _token(hub, "installer", "inst01"), _token(hub, "supervisor", "sup02")):
        r = _put(hub, rn, SLIP, token)
        assert r.status_code == 403, r.text
    assert "K0002" in _put(hub, rn, SLIP, other_kiosk).json()["detail"]
    assert _put(hub, rn, SLIP, "gk_000000000000_wrong").status_code == 401
    assert requests.get(f"{hub.url}/api/v1/cases/{rn}/receipt", timeout=5).status_code == 401
    assert _get(hub, rn, hub.clerk_token).status_code == 404  # the case is there, its copy not yet
    assert _put(hub, rn, SLIP, hub.clerk_token).json()["stored_by"] == "clerk:clerk01"

    for token in (hub.token, other_kiosk):
        r = _get(hub, rn, token)
        assert r.status_code == 403 and r.content != SLIP
    with pytest.raises(HubRejected) as info:
        hub.client().get_receipt(rn)
    assert info.value.status == 403

    unknown = "K0001-20261122-0999"
    assert _put(hub, unknown, SLIP).status_code == 404
    assert "has reached the hub" in _get(hub, unknown, hub.clerk_token).json()["detail"]
    with hub.state.sessions() as s:
        assert s.scalar(select(ReceiptCopy).where(ReceiptCopy.receipt_no == unknown)) is None
    assert [e.action for e in _receipt_audit(hub, rn)] == ["receipt_stored"]  # refusals change nothing


def test_receipt_size_cap_type_and_empty_body(hub):
    rn = "K0001-20261122-0103"
    _submit(hub, rn)
    assert MAX_RECEIPT_BYTES == CLIENT_MAX_RECEIPT_BYTES == 64 * 1024
    assert _put(hub, rn, b"x" * (MAX_RECEIPT_BYTES + 1)).status_code == 413

    def chunks():  # no Content-Length: the hub counts while reading
        for _ in range(MAX_RECEIPT_BYTES // 4096 + 1):
            yield b"y" * 4096

    assert _put(hub, rn, chunks()).status_code == 413
    assert _put(hub, rn, SLIP, ctype="text/plain").status_code == 415
    assert _put(hub, rn, b"").status_code == 422
    assert _receipt_audit(hub, rn) == []
    largest = b"z" * MAX_RECEIPT_BYTES
    assert _put(hub, rn, largest).status_code == 201
    assert HubClient(hub.url, hub.clerk_token).get_receipt(rn) == largest


# -- kiosk outbox -----------------------------------------------------------------------------------------------
def test_receipt_attached_before_delivery_reaches_the_hub_with_its_case(hub, tmp_path):
    box = Outbox(tmp_path / "kiosk")
    rn = box.enqueue(_payload("K0001-20261122-0201"), [_scan(tmp_path)])
    box.attach_receipt(rn, SLIP)
    assert box.receipt(rn) == SLIP
    stored = b"".join(p.read_bytes() for p in (tmp_path / "kiosk" / "outbox").rglob("*") if p.is_file())
    assert b"RECEIPT-COPY-MARKER" not in stored  # sealed at rest
    [copy] = box.status()["receipts"]
    assert copy["receipt_no"] == rn and copy["waiting_for_case"] is True and copy["bytes"] == len(SLIP)

    result = box.drain(hub.client())
    assert result["sent"] == 1 and result["receipts_sent"] == 1 and result["receipts_pending"] == 0
    assert box.receipt(rn) is None and box.status()["receipts"] == []  # deleted once the hub confirmed
    assert HubClient(hub.url, hub.clerk_token).get_receipt(rn) == SLIP
    assert box.drain(hub.client())["receipts_sent"] == 0


def test_receipt_attached_after_delivery_keeps_a_receipt_only_entry(hub, tmp_path):
    box = Outbox(tmp_path / "kiosk")
    rn = box.enqueue(_payload("K0001-20261122-0202"), [_scan(tmp_path)])
    assert box.drain(hub.client())["sent"] == 1  # delivered; its row is marked sent
    box.attach_receipt(rn, SLIP)
    assert box.receipt(rn) == SLIP
    assert box.status()["receipts"][0]["waiting_for_case"] is False

    # The row of a delivered case can be gone altogether (pruned): the copy still has its own entry.
    with sqlite3.connect(tmp_path / "kiosk" / "outbox" / "outbox.db") as db:
        db.execute("DELETE FROM entries WHERE receipt_no = ?", (rn,))
    status = box.status()
    assert status["receipts_pending"] == 1 and status["pending"] == 0 and status["entries"] == []
    result = box.drain(hub.client())
    assert result["receipts_sent"] == 1 and box.receipt(rn) is None
    assert HubClient(hub.url, hub.clerk_token).get_receipt(rn) == SLIP


def test_a_receipt_copy_the_hub_is_still_storing_waits_and_goes_later(hub, tmp_path, monkeypatch):
    """Overlapping pushes of one copy that keep losing the insert's race: 409 with Retry-After, and the outbox
    keeps the copy pending (not failed) and sends it on a later drain."""
    import kiosk.hub.receipts as receipts

    def always_busy(attempt, busy, tries=3):
        raise busy()

    box = Outbox(tmp_path / "kiosk")
    rn = box.enqueue(_payload("K0001-20261122-0203"), [_scan(tmp_path)])
    box.attach_receipt(rn, SLIP)
    with monkeypatch.context() as m:
        m.setattr(receipts, "first_insert_wins", always_busy)
        result = box.drain(hub.client())
    assert result["sent"] == 1 and result["receipts_sent"] == 0 and result["receipts_pending"] == 1
    assert box.status()["receipts"][0]["state"] == "pending"
    assert box.drain(hub.client())["receipts_sent"] == 1
    assert HubClient(hub.url, hub.clerk_token).get_receipt(rn) == SLIP


def test_receipt_copies_wait_through_an_outage_and_for_refused_cases(hub, tmp_path):
    box = Outbox(tmp_path / "kiosk")
    rn = box.enqueue(_payload("K0001-20261122-0203"), [_scan(tmp_path)], receipt_escpos=SLIP)
    down = HubClient(f"http://127.0.0.1:{free_port()}", hub.token, timeout=2)
    result = box.drain(down)
    assert result["sent"] == 0 and result["receipts_pending"] == 1 and "unreachable" in result["error"]
    assert box.receipt(rn) == SLIP

    bad = _payload("K0001-20261122-0204")
    bad["delivery"] = "快递"  # the hub refuses this case, so its receipt copy cannot follow it
    refused = box.enqueue(bad, [_scan(tmp_path, "q.pdf")], receipt_escpos=SLIP + b"2")
    result = box.drain(hub.client())
    assert result["sent"] == 1 and result["failed"] == 1 and result["receipts_sent"] == 1
    [waiting] = box.status()["receipts"]
    assert waiting["receipt_no"] == refused and waiting["waiting_for_case"] and waiting["state"] == "pending"
    assert box.receipt(refused) == SLIP + b"2"

    # A copy for a case the hub never had is refused (404), kept for a local reprint, and shown with the reason.
    stray = "K0001-20261122-0299"
    box.attach_receipt(stray, SLIP)
    result = box.drain(hub.client())
    assert result["receipts_failed"] == 1 and box.receipt(stray) == SLIP
    failed = next(c for c in box.status()["receipts"] if c["receipt_no"] == stray)
    assert failed["state"] == "failed" and "404" in failed["last_error"]
    assert box.retry_failed() == 2  # the refused case and the refused copy


def test_a_copy_attached_during_a_push_is_not_deleted(hub, tmp_path):
    box = Outbox(tmp_path / "kiosk")
    rn = "K0001-20261122-0205"
    _submit(hub, rn)
    box.attach_receipt(rn, SLIP)
    client = hub.client()
    real_put = client.put_receipt

    def put_then_reattach(receipt_no, escpos):
        answer = real_put(receipt_no, escpos)
        box.attach_receipt(receipt_no, SLIP + b"NEWER")  # e.g. re-rendered once the case number arrived
        return answer

    client.put_receipt = put_then_reattach
    assert box.drain(client)["receipts_sent"] == 1
    assert box.receipt(rn) == SLIP + b"NEWER"
    assert box.drain(hub.client())["receipts_sent"] == 1 and box.receipt(rn) is None
    assert HubClient(hub.url, hub.clerk_token).get_receipt(rn) == SLIP + b"NEWER"


def test_attach_refuses_empty_or_oversized_copies(tmp_path):
    box = Outbox(tmp_path / "kiosk")
    with pytest.raises(InvalidInput, match="empty"):
        box.attach_receipt("K0001-20261122-0001", b"")
    with pytest.raises(InvalidInput, match="at most"):
        box.attach_receipt("K0001-20261122-0001", b"x" * (CLIENT_MAX_RECEIPT_BYTES + 1))
    with pytest.raises(InvalidInput, match="receipt number"):
        box.attach_receipt("", SLIP)
    assert box.status()["receipts"] == []


def test_old_outbox_rows_with_a_receipt_are_adopted(tmp_path):
    box = Outbox(tmp_path / "kiosk")
    rn = box.enqueue(_payload("K0001-20261122-0206"), [_scan(tmp_path)])
    sealed = box._sealer.seal(SLIP, rn.encode())  # as outboxes stored it before receipt copies had a table
    with sqlite3.connect(box.db_path) as db:
        db.execute("UPDATE entries SET receipt = ? WHERE receipt_no = ?", (sealed, rn))
    again = Outbox(tmp_path / "kiosk")
    assert again.receipt(rn) == SLIP and again.status()["receipts"][0]["receipt_no"] == rn
    with sqlite3.connect(box.db_path) as db:
        assert db.execute("SELECT receipt FROM entries").fetchone()[0] is None


# -- commands -------------------------------------------------------------------------------------------------
def _env(tmp_path, hub_url: str, token: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("KIOSK_CONFIG", "KIOSK_DEVICES_PRINTER_URI")}
    env.update(KIOSK_DATA_DIR=str(tmp_path / "counter"), KIOSK_HUB_URL=hub_url, KIOSK_HUB_TOKEN=token,
               KIOSK_HUB_TIMEOUT_S="3", **extra)
    return env


def _kiosk(args, env) -> subprocess.CompletedProcess:
    return subprocess.run(KIOSK + args, capture_output=True, text=True, env=env, timeout=60)


def test_reprint_prints_the_hubs_copy_for_a_clerk_and_refuses_a_kiosk_token(hub, tmp_path):
    rn = "K0001-20261122-0301"
    _submit(hub, rn)
    escpos = render_receipt("test", {})
    hub.client().put_receipt(rn, escpos)
    with SimulatedPrinter() as printer:
        env = _env(tmp_path, hub.url, hub.clerk_token, KIOSK_DEVICES_PRINTER_URI=printer.device)
        out = _kiosk(["receipt", "reprint", rn], env)
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        assert doc["source"] == "hub" and doc["printed"] is True and doc["bytes"] == len(escpos)
        assert doc["device"] == printer.device and doc["sha256"] == hashlib.sha256(escpos).hexdigest()
        assert escpos in printer.received

        printed = len(printer.received)
        out = _kiosk(["receipt", "reprint", rn], _env(tmp_path, hub.url, hub.token,
                                                     KIOSK_DEVICES_PRINTER_URI=printer.device))
        assert out.returncode == 1 and out.stdout == ""
        assert "not a clerk's token" in out.stderr and "--role clerk" in out.stderr
        assert len(printer.received) == printed

        out = _kiosk(["receipt", "reprint", "K0001-20261122-0399", "--device", printer.device], env)
        assert out.returncode == 5 and out.stdout == "" and "no receipt copy" in out.stderr
        out = _kiosk(["receipt", "reprint", "not-a-receipt", "--device", printer.device], env)
        assert out.returncode == 2 and out.stdout == ""

        printer.set_state("empty")
        out = _kiosk(["receipt", "reprint", rn], env)
        assert out.returncode == 1 and out.stdout == "" and "paper" in out.stderr.lower()
        assert len(printer.received) == printed and printer.held == b""  # nothing left for the next citizen
    fetched = [e.actor for e in _receipt_audit(hub, rn) if e.action == "receipt_fetched"]
    assert fetched[0] == "clerk:clerk01"


def test_reprint_falls_back_to_the_local_outbox_when_the_hub_is_unreachable(tmp_path):
    env = _env(tmp_path, f"http://127.0.0.1:{free_port()}", "gk_abc_def")
    rn = "K0001-20261122-0302"
    escpos = render_receipt("test", {})
    with SimulatedPrinter() as printer:
        out = _kiosk(["receipt", "reprint", rn, "--device", printer.device], env)
        assert out.returncode == 3 and out.stdout == "" and "unreachable" in out.stderr
        assert not (tmp_path / "counter" / "outbox").exists()  # no outbox is created just to look

        box = Outbox(tmp_path / "counter")
        box.enqueue(_payload(rn), [_scan(tmp_path)])
        box.attach_receipt(rn, escpos)
        out = _kiosk(["receipt", "reprint", rn, "--device", printer.device], env)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["source"] == "outbox" and escpos in printer.received

        status = _kiosk(["outbox", "status"], env)
        assert status.returncode == 0 and "receipt copies waiting: 1" in status.stdout
        assert f"{rn}  receipt pending" in status.stdout and "waits for its case" in status.stdout
        doc = json.loads(_kiosk(["outbox", "status", "--json"], env).stdout)
        assert doc["receipts_pending"] == 1 and doc["receipts"][0]["receipt_no"] == rn
    out = _kiosk(["receipt", "reprint", rn, "--device", f"tcp://127.0.0.1:{free_port()}"], env)
    assert out.returncode == 3 and out.stdout == ""
