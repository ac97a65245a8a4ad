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
