"""The relay queue: claims with leases, a crashed worker's case returns, SKIP LOCKED on PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
import requests
from sqlalchemy import text, update

from hub_support import APP_ID, SECRET, case_payload
from kiosk.hub.app import create_app
from kiosk.hub.auth import create_token
from kiosk.hub.models import Case
from kiosk.hub.relay import Relay
from kiosk.hub.serving import ServerThread
from kiosk.platform.http_adapter import ReferenceHttpAdapter


@pytest.fixture
def quiet_hub(db_url, sim, tmp_path):
    """A hub whose own relay is off, so the test drives the queue by hand."""
    app = create_app(db_url, ReferenceHttpAdapter(sim.url, APP_ID, SECRET), relay=False, upload_dir=tmp_path / "up")
    with ServerThread(app) as server:
        with app.state.hub.sessions() as s, s.begin():
            token = create_token(s, "kiosk", "K0001")
        for n in (1, 2):
            r = requests.post(f"{server.url}/api/v1/cases", json=case_payload(f"K0001-20261122-000{n}"),
                              headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"q{n}"}, timeout=10)
            assert r.status_code == 201
        yield app.state.hub


def test_claims_take_distinct_cases_and_an_expired_lease_returns_the_case(quiet_hub):
    r1, r2, r3 = (Relay(quiet_hub, lease_s=60) for _ in range(3))
    first, second = r1.claim_next(), r2.claim_next()
    assert {first, second} == {c for c in _ids(quiet_hub)} and first != second
    assert r3.claim_next() is None  # both are leased
    with quiet_hub.sessions() as s, s.begin():  # r1 "crashed": its lease runs out
        s.execute(update(Case).where(Case.id == first)
                  .values(lease_until=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    assert r3.claim_next() == first
    with quiet_hub.sessions() as s:
        assert s.get(Case, first).attempts == 2


def test_claims_made_together_take_distinct_cases_earliest_due_first(quiet_hub):
    """Three threads' claims in one statement: the two queued cases, the earlier due first, each leased to the
    relay; the third claim finds none."""
    relay = Relay(quiet_hub, lease_s=60)
    first, second = sorted(_ids(quiet_hub))
    with quiet_hub.sessions() as s, s.begin():  # the later id is due first
        s.execute(update(Case).where(Case.id == second)
                  .values(next_attempt_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)))
    got = relay._claim_batch([None, None, None])
    assert [(row.id, sorted(meta)) for row, meta in got[:2]] == [(second, []), (first, [])] and got[2] is None
    assert Relay(quiet_hub).claim_next() is None  # both are leased
    with quiet_hub.sessions() as s:
        assert {(c.locked_by, c.attempts) for c in s.query(Case)} == {(relay.worker_id, 1)}


def test_relay_once_submits_a_claimed_case(quiet_hub):
    relay = Relay(quiet_hub)
    assert relay.run_once() is True and relay.run_once() is True and relay.run_once() is False
    with quiet_hub.sessions() as s:
        assert {c.status for c in s.query(Case)} == {"submitted"}


def test_skip_locked_on_postgresql(quiet_hub):
    if quiet_hub.engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers with BEGIN IMMEDIATE")
    first, second = sorted(_ids(quiet_hub))
    with quiet_hub.engine.connect() as other:
        tx = other.begin()
        other.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": first})
        assert Relay(quiet_hub).claim_next() == second  # the locked row is skipped, not waited for
        tx.rollback()


def _ids(hub) -> set[int]:
    with hub.sessions() as s:
        return {c.id for c in s.query(Case)}


def test_the_claim_walks_the_queue_index_without_sorting(quiet_hub):
    """The claim's `ORDER BY next_attempt_at, id` is the order of `ix_cases_queue`: no sort of every queued case per
    claim (SQLite took the status index and sorted the queue in a temporary B-tree on each claim before 0014)."""
    from kiosk.hub.relay import _CLAIM

    engine = quiet_hub.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's plan depends on its statistics; the index is the same")
    sql = str(_CLAIM.compile(engine))
    now = dt.datetime.now(dt.timezone.utc).isoformat(" ")
    params = {"now": now, "worker": "w", "lease_until": now, "k": 1, "param_1": 0}
    with engine.connect() as conn:
        compiled = _CLAIM.compile(engine)
        args = tuple(compiled.construct_params(params).get(k, 1) for k in compiled.positiontup)
        plan = " | ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, args))
    assert "ix_cases_queue" in plan and "TEMP B-TREE" not in plan, plan


def test_a_purge_is_seen_by_uploads_the_session_already_holds(quiet_hub):
    """The purge is one Core UPDATE; an upload the same session loaded before reads as purged after it."""
    from sqlalchemy import select

    from kiosk.hub.models import Upload
    from kiosk.hub.upload_purge import mark_bound_purged

    bound = "K0001-20261122-0001"
    with quiet_hub.sessions() as s, s.begin():
        for n in (1, 2):
            s.add(Upload(id=f"purge-test-{n}", length=1, owner="kiosk:K0001", bound_to=bound,
                         expires_at=dt.datetime.now(dt.timezone.utc)))
    with quiet_hub.sessions() as s, s.begin():
        held = s.get(Upload, "purge-test-1")
        assert held.purged is False
        assert mark_bound_purged(s, bound, "test", "relayed") == ["purge-test-1", "purge-test-2"]
        assert held.purged is True
        assert mark_bound_purged(s, bound, "test", "relayed") == []  # once only
    with quiet_hub.sessions() as s:
        assert [u.purged for u in s.scalars(select(Upload).where(Upload.bound_to == bound))] == [True, True]


def test_deliveries_that_end_together_commit_in_one_transaction(db_url, sim, tmp_path):
    """Three deliveries end at once: the first writes its end alone, and the two that ended while it wrote share
    one transaction. Each case is submitted, its upload purged and its file gone, and in the audit chain (which
    still verifies) each case's row is followed by its upload's."""
    import threading

    from sqlalchemy import select

    from hub_support import hold_the_first_write, upload_material
    from kiosk.hub import audit
    from kiosk.hub.models import AuditEvent, Upload
    from kiosk.hub.tus import upload_id_from_url, upload_path
    from kiosk.sync.client import HubClient

    app = create_app(db_url, ReferenceHttpAdapter(sim.url, APP_ID, SECRET), relay=False, upload_dir=tmp_path / "up")
    with ServerThread(app) as server:
        hub = app.state.hub
        with hub.sessions() as s, s.begin():
            token = create_token(s, "kiosk", "K0001")
        client = HubClient(server.url, token)
        uploads = {}
        for n in (1, 2, 3):
            receipt = f"K0001-20261122-000{n}"
            material = upload_material(client, tmp_path, f"%PDF-1.4 page {n}".encode())
            uploads[receipt] = upload_id_from_url(material["upload_url"])
            client.submit_case(case_payload(receipt, [material]), f"k{n}")
        relay = Relay(hub)
        written = hold_the_first_write(relay, "_finisher", others=2)  # the others end while it writes
        threads = [threading.Thread(target=relay.run_once) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert written == [1, 2] and (relay._finisher.batches, relay._finisher.items) == (2, 3)
        with hub.sessions() as s:
            assert {c.receipt_no: c.status for c in s.query(Case)} == dict.fromkeys(uploads, "submitted")
            assert all(s.get(Upload, u).purged for u in uploads.values())
            rows = s.execute(select(AuditEvent.entity_id, AuditEvent.action).where(AuditEvent.actor == "hub:relay")
                             .order_by(AuditEvent.id)).all()
            assert audit.verify(s)["ok"]
        assert not any(upload_path(hub.upload_dir, u).exists() for u in uploads.values())
        assert sorted(rows) == sorted([(r, "submitted") for r in uploads] + [(u, "purged") for u in uploads.values()])
        for receipt, upload_id in uploads.items():
            at = rows.index((receipt, "submitted"))
            assert rows[at + 1] == (upload_id, "purged")


def test_ends_written_together_keep_each_cases_own_values(quiet_hub):
    """One case relayed and one refused, ended in one statement: each row gets its own status, case number and
    error; an end for a case already submitted leaves it as it is."""
    from kiosk.hub.relay import _Finish

    relay = Relay(quiet_hub, lease_s=60)
    (a, _), (b, _) = relay._claim_batch([None, None])
    relayed = _Finish(a.id, "submitted", case_no="610113000000000000A1", promised_by="2026-12-10",
                      platform_status="accepted")
    refused = _Finish(b.id, "failed", error="platform refused: 材料不全")
    relay._finish_batch([relayed, refused])
    assert (relayed.receipt_no, refused.receipt_no) == (a.receipt_no, b.receipt_no)
    with quiet_hub.sessions() as s:
        got = {c.id: (c.status, c.case_no, c.platform_status, c.last_error, c.locked_by) for c in s.query(Case)}
    assert got == {a.id: ("submitted", "610113000000000000A1", "accepted", None, None),
                   b.id: ("failed", None, None, "platform refused: 材料不全", None)}
    late = _Finish(a.id, "failed", error="x")
    relay._finish_batch([late])
    assert late.receipt_no is None
    with quiet_hub.sessions() as s:
        assert s.get(Case, a.id).status == "submitted"
