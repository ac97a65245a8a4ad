"""Fixtures shared by every test folder: the hub database on SQLite and, when KIOSK_TEST_PG_URL is set (deploy/test.sh
sets it), on PostgreSQL — each test in a schema of its own, dropped afterwards."""
from __future__ import annotations

import os
import uuid

import pytest
from argon2 import PasswordHasher
from hypothesis import settings
from sqlalchemy import create_engine, text

import kiosk.hub.auth

# Tokens made inside these tests use light argon2 parameters (the hash records them, so verification is light
# too); the commands run as processes keep the library's defaults.
kiosk.hub.auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# Generated examples (hypothesis, schemathesis) are the same on every run, so a suite that passed once passes again;
# `HYPOTHESIS_PROFILE=explore` draws new examples each run to look for new failures.
settings.register_profile("suite", derandomize=True, database=None)
settings.register_profile("explore", database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        (tmp_path / "hub").mkdir(exist_ok=True)
        yield f"sqlite:///{tmp_path}/hub/hub.db"
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
