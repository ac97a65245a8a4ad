"""Fixtures for the hub tests: a platform simulator and a hub on uvicorn threads (127.0.0.1, free ports),
on SQLite and, when KIOSK_TEST_PG_URL is set, on PostgreSQL (each test in its own schema)."""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from argon2 import PasswordHasher

import kiosk.hub.auth
from hub_support import Hub, start_hub
from kiosk.hub.auth import create_token
from kiosk.hub.serving import ServerThread
from kiosk.platform.simulator import create_app as create_sim_app


# Tokens made inside these tests use light argon2 parameters (the hash records them, so verification is light
# too); the commands run as processes keep the library's defaults.
kiosk.hub.auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/hub.db"
        return
    base = os.environ.get("KIOSK_TEST_PG_URL")
    if not base:
        pytest.skip("KIOSK_TEST_PG_URL is not set (deploy/test.sh sets it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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
