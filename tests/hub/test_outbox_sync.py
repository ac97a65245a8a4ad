"""The kiosk side: receipt numbers, the encrypted outbox, draining through hub outages, the worker."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import subprocess
import sys

import pytest
import requests

from hub_support import case_payload, start_hub, wait_for
from kiosk.errors import InvalidInput, Unavailable
from kiosk.hub.auth import create_token
from kiosk.hub.serving import free_port
from kiosk.sync import HubClient, Outbox, OutboxWorker, next_receipt_no

ID_NUMBER = "610113199001016789"
KIOSK = [sys.executable, "-c", "from kiosk.cli import main; main()"]


def _payload(receipt_no: str) -> dict:
    doc = case_payload(receipt_no, [{"code": "M01", "name": "居民身份证", "pages": 1}])
    return doc


def test_receipt_numbers_restart_daily_and_never_repeat_across_restarts(tmp_path):
    day = dt.date(2026, 11, 22)
    assert next_receipt_no(tmp_path, "K0001", day) == "K0001-20261122-0001"
    assert next_receipt_no(tmp_path, "K0001", day) == "K0001-20261122-0002"
    code = ("import datetime, sys; from kiosk.sync import next_receipt_no;"
            f"print(next_receipt_no(sys.argv[1], 'K0001', datetime.date(2026, 11, 22)))")
    seen = {"K0001-20261122-0001", "K0001-20261122-0002"}
    for _ in range(2):  # new processes: the sequence lives on disk
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
        seen.add(out.stdout.strip())
    assert seen == {f"K0001-20261122-{n:04d}" for n in range(1, 5)}
    assert next_receipt_no(tmp_path, "K0001", day + dt.timedelta(days=1)) == "K0001-20261123-0001"
    assert next_receipt_no(tmp_path, "K0002", day) == "K0002-20261122-0001"
    assert next_receipt_no(tmp_path, "K0001", day) == "K0001-20261122-0005"
    with pytest.raises(InvalidInput):
        next_receipt_no(tmp_path, "K 1", day)


def test_outbox_keeps_personal_data_encrypted_at_rest(tmp_path):
    scan = tmp_path / "page.jpg"
    scan.write_bytes(b"JPEG-PAGE-" + os.urandom(2000))
    box = Outbox(tmp_path / "data")
    box.enqueue(_payload("K0001-20261122-0001"), [str(scan)], receipt_escpos=b"\x1b@PRINTED-SLIP-42")
    key = tmp_path / "data" / "outbox.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data" / "outbox").rglob("*") if p.is_file())
    for secret in (ID_NUMBER.encode(), "欧阳娜娜".encode(), b"13700009050", b"JPEG-PAGE-", b"PRINTED-SLIP"):
        assert secret not in stored
    assert box.receipt("K0001-20261122-0001") == b"\x1b@PRINTED-SLIP-42"
    [entry] = box.pending()
    assert entry["receipt_no"] == "K0001-20261122-0001" and entry["files"] == 1 and entry["state"] == "pending"
    with pytest.raises(InvalidInput, match="already in the outbox"):
        box.enqueue(_payload("K0001-20261122-0001"), [str(scan)])
    with pytest.raises(InvalidInput, match="cannot read"):
        box.enqueue(_payload("K0001-20261122-0002"), [str(tmp_path / "missing.jpg")])
    assert len(box.pending()) == 1 and not (tmp_path / "data/outbox/files/K0001-20261122-0002").exists()


def test_unreachable_hub_raises_unavailable_with_a_clear_message():
    client = HubClient(f"http://127.0.0.1:{free_port()}", "gk_x_y", timeout=2)
    assert client.health() is False
    with pytest.raises(Unavailable, match="unreachable") as info:
        client.catalog()
    assert "outbox" in info.value.action


def test_outbox_drains_after_the_hub_comes_back_and_nothing_is_lost(db_url, sim, tmp_path):
    port = free_port()
    data = tmp_path / "kiosk"
    box = Outbox(data)
    scans = []
    for n in range(3):
        p = tmp_path / f"scan{n}.pdf"
        p.write_bytes(os.urandom(40_000 + n))
        scans.append(p)
    receipts = [box.enqueue(_payload(f"K0001-20261122-{n + 1:04d}"), [str(scans[n])]) for n in range(3)]

    # The hub is down: nothing is sent, nothing is lost, the reason is recorded.
    down = HubClient(f"http://127.0.0.1:{port}", "gk_unused_token", timeout=2)
    result = box.drain(down)
    assert result["sent"] == 0 and result["pending"] == 3 and "unreachable" in result["error"]
    assert box.status()["last_error"] and len(list((data / "outbox" / "files").iterdir())) == 3

    server, app = start_hub(db_url, sim.url, tmp_path, port=port)
    try:
        with app.state.hub.sessions() as s, s.begin():
            token = create_token(s, "kiosk", "K0001")
        client = HubClient(server.url, token)
        # The kiosk crashed after the hub accepted the first case but before it marked it sent:
        # the retry carries the same idempotency key, so the hub still has exactly one case.
        import sqlite3
        key = sqlite3.connect(str(data / "outbox" / "outbox.db")).execute(
            "SELECT idempotency_key FROM entries WHERE receipt_no = ?", (receipts[0],)).fetchone()[0]
        url = client.upload_material(str(scans[0]), {"filename": "scan0.pdf"})
        early = dict(_payload(receipts[0]))
        early["materials"] = [dict(early["materials"][0], sha256=hashlib.sha256(scans[0].read_bytes()).hexdigest(),
                                   bytes=scans[0].stat().st_size, upload_url=url)]
        assert client.submit_case(early, key)["status"] in ("queued", "submitted")

        result = box.drain(client)
        assert result["sent"] == 3 and result["pending"] == 0 and result["error"] is None
        assert list((data / "outbox" / "files").iterdir()) == []  # local copies deleted once confirmed
        assert box.status()["sent"] == 3 and box.receipt(receipts[1]) is None
        for n, receipt in enumerate(receipts):
            done = wait_for(lambda r=receipt: (s := client.case_status(r))["status"] == "submitted" and s)
            cases = requests.get(f"{sim.url}/sim/cases", params={"client_ref": receipt}, timeout=5).json()["cases"]
            assert len(cases) == 1 and cases[0]["case_no"] == done["case_no"]
            sim_case = requests.get(f"{sim.url}/sim/cases/{done['case_no']}", timeout=5).json()
            assert sim_case["materials"][0]["sha256"] == hashlib.sha256(scans[n].read_bytes()).hexdigest()
        assert box.drain(client)["sent"] == 0
    finally:
        server.stop()


def test_refused_entries_are_kept_with_the_reason_and_can_be_retried(hub, tmp_path):
    box = Outbox(tmp_path / "kiosk")
    scan = tmp_path / "p.pdf"
    scan.write_bytes(b"page")
    bad = _payload("K0001-20261122-0009")
    bad["delivery"] = "快递"  # not one of the delivery methods
    box.enqueue(bad, [str(scan)])
    result = box.drain(hub.client())
    assert result["failed"] == 1 and result["sent"] == 0
    [entry] = box.pending()
    assert entry["state"] == "failed" and "delivery" in entry["last_error"]
    assert box.retry_failed() == 1 and box.pending()[0]["state"] == "pending"


def test_an_entry_the_hub_is_still_working_on_stays_queued_and_goes_through_later(hub, tmp_path, monkeypatch):
    """When retries of one case keep overlapping at the hub (it answers 409 with Retry-After: "being processed"),
    the outbox keeps the case pending and sends it again; it is not marked failed like a refused case."""
    import kiosk.hub.cases as cases
    from kiosk.sync.outbox import SET_ASIDE_AFTER

    def always_busy(attempt, busy, tries=3):
        raise busy()

    box = Outbox(tmp_path / "kiosk")
    scan = tmp_path / "p.pdf"
    scan.write_bytes(b"page")
    box.enqueue(_payload("K0001-20261122-0012"), [str(scan)])
    with monkeypatch.context() as m:
        m.setattr(cases, "first_insert_wins", always_busy)
        for _ in range(SET_ASIDE_AFTER + 1):  # not counted as the entry's fault (a 5xx would set it aside)
            result = box.drain(hub.client())
    assert result["failed"] == 0 and result["sent"] == 0
    [entry] = box.pending()
    assert entry["state"] == "pending" and "still working" in entry["last_error"]
    assert box.drain(hub.client())["sent"] == 1


def test_worker_drains_in_the_background_and_stops(hub, tmp_path):
    box = Outbox(tmp_path / "kiosk")
    scan = tmp_path / "p.pdf"
    scan.write_bytes(b"page one")
    results = []
    worker = OutboxWorker(box, hub.client(), interval_s=30, on_result=results.append)
    worker.start()
    try:
        box.enqueue(_payload("K0001-20261122-0011"), [str(scan)])
        worker.wake()
        wait_for(lambda: box.status()["sent"] == 1)
    finally:
        worker.stop()
    assert worker._thread is None and results and results[-1]["sent"] == 1


def test_outbox_cli_status_json(tmp_path):
    env = dict(os.environ, KIOSK_DATA_DIR=str(tmp_path), KIOSK_CONFIG=str(tmp_path / "none.toml"))
    scan = tmp_path / "p.pdf"
    scan.write_bytes(b"x")
    Outbox(tmp_path).enqueue(_payload("K0001-20261122-0001"), [str(scan)])
    env.pop("KIOSK_CONFIG")
    out = subprocess.run(KIOSK + ["outbox", "status", "--json"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["pending"] == 1 and doc["entries"][0]["receipt_no"] == "K0001-20261122-0001"
    assert ID_NUMBER not in out.stdout and "欧阳娜娜" not in out.stdout
    env["KIOSK_HUB_URL"] = f"http://127.0.0.1:{free_port()}"
    out = subprocess.run(KIOSK + ["outbox", "retry"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 3 and out.stdout == "" and "unreachable" in out.stderr
