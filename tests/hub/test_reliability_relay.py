"""Issue 13, the relay and the upload volume: recovery after an outage without hammering the platform, leases
kept while a delivery is in flight, several hubs on one database, full disks, files left behind."""
from __future__ import annotations

import errno
import logging
import os
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from hub_support import case_payload, set_faults, start_hub, upload_material, wait_for
from kiosk.hub.models import Case, Upload
from kiosk.hub.storage import VolumeMismatch
from kiosk.hub.tus import upload_id_from_url, upload_path


def _post(hub_url, headers, doc):
    return requests.post(f"{hub_url}/api/v1/cases", json=doc, headers=headers | {"Idempotency-Key": doc["receipt_no"]},
                         timeout=10)


def _status(hub, receipt_no):
    return requests.get(f"{hub.url}/api/v1/cases/{receipt_no}", headers=hub.headers(), timeout=5).json()["status"]


class Counting:
    """Wraps the hub's platform adapter and counts the calls the platform gets."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls = 0

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name in ("submit", "fetch_catalog"):
            def counted(*a, **k):
                self.calls += 1
                return attr(*a, **k)
            return counted
        return attr


# -- recovery -----------------------------------------------------------------------------------------
def test_relay_recovers_within_a_probe_interval_and_spares_a_down_platform(db_url, sim, tmp_path):
    # A long retry backoff (60 s, cap 300 s): before, the cases would wait that long after the platform is back.
    server, app = start_hub(db_url, sim.url, tmp_path, retry_base_s=60, retry_max_s=300, probe_max_s=1.0)
    try:
        hub = app.state.hub
        hub.platform = counting = Counting(hub.platform)
        from kiosk.hub.auth import create_token

        with hub.sessions() as s, s.begin():
            token = create_token(s, "kiosk", "K0001")
        headers = {"Authorization": f"Bearer {token}"}
        set_faults(sim.url, fail_rate=1.0)
        nos = [f"K0001-20261122-{i:04d}" for i in range(1, 6)]
        for no in nos:
            assert _post(server.url, headers, case_payload(no)).status_code == 201
        wait_for(lambda: hub.relay.platform_down, timeout=30)
        before = counting.calls
        time.sleep(3.0)  # the platform stays down: only probes reach it, about one a second at most
        assert counting.calls - before <= 5, counting.calls - before
        set_faults(sim.url, fail_rate=0.0)
        # Every case arrives without waiting out its 60-300 s backoff (bound, not a timing assertion).
        wait_for(lambda: all(requests.get(f"{server.url}/api/v1/cases/{no}", headers=headers, timeout=5)
                             .json()["status"] == "submitted" for no in nos), timeout=20)
    finally:
        server.stop()


def test_a_lease_is_renewed_while_a_delivery_is_in_flight(hub):
    relay = hub.state.relay
    relay.stop()
    relay.lease_s = 0.6
    set_faults(hub.sim_url, latency_ms=700)  # each platform call outlasts the lease several times over
    assert _post(hub.url, hub.headers(), case_payload("K0001-20261122-0001")).status_code == 201
    from kiosk.hub.relay import Relay

    second = Relay(hub.state, lease_s=0.6)
    grabbed = []
    done = threading.Event()

    def rival():
        def claimed():
            with hub.state.sessions() as s:
                return s.scalar(select(Case.locked_by)) is not None

        wait_for(claimed, timeout=10, interval=0.01)  # the first relay has it: now try to take it away
        while not done.is_set():
            got = second.claim_next()
            if got is not None:
                grabbed.append(got)
            time.sleep(0.1)

    t = threading.Thread(target=rival, daemon=True)
    t.start()
    try:
        assert relay.run_once() is True
    finally:
        done.set()
        t.join(5)
    assert grabbed == []
    with hub.state.sessions() as s:
        case = s.scalar(select(Case))
        assert case.status == "submitted" and case.attempts == 1


def test_an_adapter_error_that_is_not_the_platforms_sets_the_case_aside(hub):
    relay = hub.state.relay
    relay.stop()
    relay.retry_base_s = relay.retry_max_s = 0.0

    class Broken:
        def submit(self, case):
            raise ValueError("Out of range float values are not JSON compliant")

        def fetch_catalog(self):
            return []

        def close(self):
            pass

    hub.state.platform = Broken()
    assert _post(hub.url, hub.headers(), case_payload("K0001-20261122-0001")).status_code == 201
    for _ in range(10):
        relay.run_once()
    with hub.state.sessions() as s:
        case = s.scalar(select(Case))
    assert case.status == "failed" and "set aside" in case.last_error and case.attempts == 5


# -- several hubs, one database -------------------------------------------------------------------------
def test_a_second_hub_with_a_private_upload_dir_refuses_to_start(db_url, sim, tmp_path, hub):
    # The fixture's hub has an upload waiting on its volume.
    upload_material(hub.client(), tmp_path, os.urandom(1000))
    with pytest.raises(VolumeMismatch):
        start_hub(db_url, sim.url, tmp_path / "other")
    (tmp_path / "other2" / "uploads").mkdir(parents=True)
    (tmp_path / "other2" / "uploads" / ".volume-id").write_text("feedfacefeedfacefeedfacefeedface\n")
    with pytest.raises(VolumeMismatch):
        start_hub(db_url, sim.url, tmp_path / "other2")


def test_two_hubs_on_one_volume_deliver_each_others_uploads(db_url, sim, tmp_path, hub):
    server_b, app_b = start_hub(db_url, sim.url, tmp_path)  # same database, same (shared) upload dir
    try:
        hub.state.relay.stop()  # only hub B relays: it must read what hub A received
        content = os.urandom(200_000)
        material = upload_material(hub.client(), tmp_path, content)
        assert _post(hub.url, hub.headers(), case_payload("K0001-20261122-0001", materials=[material])).status_code == 201
        wait_for(lambda: _status(hub, "K0001-20261122-0001") == "submitted", timeout=30)
    finally:
        server_b.stop()


def test_intake_refuses_an_upload_the_hub_cannot_read_back(hub, tmp_path):
    material = upload_material(hub.client(), tmp_path, os.urandom(5000))
    upload_path(hub.state.upload_dir, upload_id_from_url(material["upload_url"])).unlink()
    r = _post(hub.url, hub.headers(), case_payload("K0001-20261122-0001", materials=[material]))
    assert r.status_code == 410 and "upload it again" in r.text


# -- full disks -----------------------------------------------------------------------------------------
def test_full_disk_refuses_uploads_with_507_and_health_says_so(hub, monkeypatch):
    import kiosk.hub.storage as storage

    assert requests.get(f"{hub.url}/healthz", timeout=5).json()["disk_ok"] is True
    monkeypatch.setattr(storage, "free_bytes", lambda _p: 1000)
    h = requests.get(f"{hub.url}/healthz", timeout=5).json()
    assert h["ok"] is False and h["disk_ok"] is False
    r = requests.post(f"{hub.url}/files/", headers=hub.headers() | {"Tus-Resumable": "1.0.0", "Upload-Length": "10"},
                      timeout=5)
    assert r.status_code == 507 and "disk is full" in r.text


def test_enospc_while_writing_a_chunk_is_a_507(hub, monkeypatch):
    import kiosk.hub.tus as tus

    url = requests.post(f"{hub.url}/files/", headers=hub.headers() | {"Tus-Resumable": "1.0.0", "Upload-Length": "10"},
                        timeout=5).headers["Location"]

    async def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tus, "_receive_to", full)
    r = requests.patch(url, data=b"0123456789", timeout=5, headers=hub.headers() | {
        "Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
    assert r.status_code == 507
    # A page sent whole with its creation: the same 507, and nothing created.
    r = requests.post(f"{hub.url}/files/", data=b"0123456789", timeout=5, headers=hub.headers() | {
        "Tus-Resumable": "1.0.0", "Upload-Length": "10", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 507 and "Location" not in r.headers


def test_enospc_while_storing_a_whole_page_is_a_507_and_keeps_nothing(hub, monkeypatch):
    import kiosk.hub.tus as tus

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tus.os, "fsync", full)
    r = requests.post(f"{hub.url}/files/", data=b"0123456789", timeout=5, headers=hub.headers() | {
        "Tus-Resumable": "1.0.0", "Upload-Length": "10", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 507
    with hub.state.sessions() as s:
        assert s.scalars(select(Upload)).all() == []
    assert [p for p in hub.state.upload_dir.iterdir() if p.suffix in (".bin", ".part")] == []


def test_relay_releases_the_reserve_when_the_database_cannot_write(hub):
    relay = hub.state.relay
    relay.stop()
    reserve = hub.state.volume.reserve
    assert reserve.exists()
    assert _post(hub.url, hub.headers(), case_payload("K0001-20261122-0001")).status_code == 201
    real = relay._claim
    calls = {"n": 0}

    def full_once():
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("UPDATE cases", {}, Exception("database or disk is full"))
        return real()

    relay._claim = full_once
    relay.start()
    wait_for(lambda: _status(hub, "K0001-20261122-0001") == "submitted", timeout=20)
    assert calls["n"] >= 2 and relay.reserve_releases == 1


def test_repeated_relay_failures_are_logged_once_a_minute(hub, caplog, monkeypatch):
    relay = hub.state.relay
    relay.stop()
    relay.poll_s = 0.01

    def broken():
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(relay, "run_once", broken)
    with caplog.at_level(logging.ERROR, logger="kiosk.hub.relay"):
        relay.start()
        time.sleep(1.0)
        relay.stop()
    lines = [r for r in caplog.records if r.getMessage() == "relay pass failed"]
    assert len(lines) == 1


# -- files left behind ------------------------------------------------------------------------------------
def test_files_a_failed_delete_left_behind_are_removed_later(hub, tmp_path, monkeypatch):
    relay = hub.state.relay
    relay.stop()
    material = upload_material(hub.client(), tmp_path, os.urandom(3000))
    upload_id = upload_id_from_url(material["upload_url"])
    path = upload_path(hub.state.upload_dir, upload_id)
    real_unlink = Path.unlink

    def readonly(self, missing_ok=False):
        if self.suffix == ".bin":
            raise OSError(errno.EROFS, "Read-only file system")
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", readonly)
    assert _post(hub.url, hub.headers(), case_payload("K0001-20261122-0001", materials=[material])).status_code == 201
    assert relay.run_once()
    with hub.state.sessions() as s:
        assert s.get(Upload, upload_id).purged is True
    assert path.exists()  # the volume refused the delete
    monkeypatch.setattr(Path, "unlink", real_unlink)
    swept = relay.sweep_files()
    assert swept["purged_files"] == 1 and not path.exists()


def test_stray_files_with_no_row_are_removed_after_a_grace_period(hub):
    stray = hub.state.upload_dir / ("ab" * 16 + ".bin")
    stray.write_bytes(b"")
    part = hub.state.upload_dir / (".cd" + "ef" * 15 + ".1234abcd.part")
    part.write_bytes(b"x")
    keep = hub.state.relay.sweep_files()  # within the grace period: a creation may be in flight
    assert stray.exists() and keep["stray_files"] == 0
    swept = hub.state.relay.sweep_files(grace_s=0)
    assert swept["stray_files"] == 2 and not stray.exists() and not part.exists()
    assert hub.state.volume.reserve.exists()  # never the reserve


def test_log_throttle_counts_what_it_suppressed(caplog):
    from kiosk.hub.logs_throttle import Throttle

    log = logging.getLogger("test.throttle")
    t = Throttle(log, every_s=0.2)
    with caplog.at_level(logging.WARNING, logger="test.throttle"):
        for _ in range(50):
            t.warning("disk full", extra={"x": 1})
        time.sleep(0.25)
        t.warning("disk full")
    recs = [r for r in caplog.records if r.name == "test.throttle"]
    assert len(recs) == 2 and recs[1].repeated == 49


def test_several_deliveries_in_flight_each_case_once(hub):
    relay = hub.state.relay
    relay.stop()
    inner = hub.state.platform
    state = {"now": 0, "max": 0}
    lock = threading.Lock()

    class Overlapping:
        def __getattr__(self, name):
            return getattr(inner, name)

        def submit(self, case):
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            try:
                time.sleep(0.3)  # a slow platform: deliveries overlap when the relay runs several
                return inner.submit(case)
            finally:
                with lock:
                    state["now"] -= 1

    hub.state.platform = Overlapping()
    nos = [f"K0001-20261122-{i:04d}" for i in range(1, 13)]
    for no in nos:
        assert _post(hub.url, hub.headers(), case_payload(no)).status_code == 201
    relay.concurrency = 4
    relay.start()
    wait_for(lambda: all(_status(hub, no) == "submitted" for no in nos), timeout=60)
    assert 2 <= state["max"] <= 4
    for no in nos:
        found = requests.get(f"{hub.sim_url}/sim/cases", params={"client_ref": no}, timeout=5).json()["cases"]
        assert len(found) == 1, (no, found)
    with hub.state.sessions() as s:
        assert all(c.attempts == 1 for c in s.scalars(select(Case)))
