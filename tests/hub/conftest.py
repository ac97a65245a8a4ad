"""Fixtures for the hub tests: a platform simulator and a hub on uvicorn threads (127.0.0.1, free ports),
on SQLite and, when KIOSK_TEST_PG_URL is set, on PostgreSQL (the `db_url` fixture lives in tests/conftest.py)."""
from __future__ import annotations

import pytest

from hub_support import Hub, start_hub
from kiosk.hub.auth import create_token
from kiosk.hub.serving import ServerThread
from kiosk.platform.simulator import create_app as create_sim_app


@pytest.fixture
def sim(tmp_path):
    server = ServerThread(create_sim_app(tmp_path / "platform.db")).start()
    yield server
    server.stop()


@pytest.fixture
def hub(db_url, sim, tmp_path):
    server, app = start_hub(db_url, sim.url, tmp_path)
    with app.state.hub.sessions() as s, s.begin():
        token = create_token(s, "kiosk", "K0001")
        clerk = create_token(s, "clerk", "clerk01")
    yield Hub(server, app, token, clerk, sim.url, db_url)
    server.stop()
