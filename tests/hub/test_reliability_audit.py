"""Issue 13: an audit log nobody can rewrite unnoticed, a hub role that cannot alter it, tokens revoked within a
second in every process and expiring, signed callbacks bound to their real path, migrations that do not race, personal data encrypted."""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.exc import DBAPIError

from hub_support import APP_ID, SECRET, case_payload, wait_for
from kiosk.hub import audit
from kiosk.hub.auth import TokenVerifier, create_token
from kiosk.hub.db import make_engine, migrate, owns_audit_log, session_factory
from kiosk.hub.models import ApiToken, AuditEvent, Case

APP_ROLE = os.environ.get("KIOSK_TEST_PG_APP_ROLE", "govkiosk_app")
APP_PASSWORD = os.environ.get("KIOSK_TEST_PG_APP_PASSWORD", "govkiosk_app")


def _post(hub, doc, token=None):
    headers = hub.headers(token) | {"Idempotency-Key": doc["receipt_no"]}
    return requests.post(f"{hub.url}/api/v1/cases", json=doc, headers=headers, timeout=10)


# -- the audit log ------------------------------------------------------------------------------------
def test_audit_rows_form_a_chain_that_verify_accepts(hub):
    hub.state.relay.stop()  # its own audit rows would land between verify and the read below
    for i in range(1, 4):
        assert _post(hub, case_payload(f"K0001-20261122-{i:04d}")).status_code == 201
    with hub.state.sessions() as s:
        doc = audit.verify(s)
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert doc["ok"] and doc["rows"] == len(rows) >= 3
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:]))


def test_sqlite_refuses_insert_or_replace_on_audit_rows(tmp_path):
    url = f"sqlite:///{tmp_path}/hub.db"
    migrate(url)
    engine = make_engine(url)
    with session_factory(engine)() as s, s.begin():
        audit.record(s, "cli", "token", "K0001", "created", role="kiosk")
    engine.dispose()
    db = sqlite3.connect(tmp_path / "hub.db")
    for verb in ("INSERT OR REPLACE", "REPLACE"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(f"{verb} INTO audit_events (id, at, actor, entity, entity_id, action, detail)"
                       " VALUES (1, '2026-01-01', 'x', 'x', 'x', 'x', '{}')")
    for sql in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
    assert db.execute("SELECT actor FROM audit_events").fetchone()[0] == "cli"
    db.close()


def test_verify_finds_a_changed_removed_or_inserted_row(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/hub.db"
    migrate(url)
    engine = make_engine(url)
    with session_factory(engine)() as s, s.begin():
        for i in range(5):
            audit.record(s, "cli", "token", f"K000{i}", "created", role="kiosk")
    engine.dispose()
    from kiosk.cli import cli

    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    ok = CliRunner().invoke(cli, ["hub", "audit", "verify", "--db", url, "--json"])
    assert ok.exit_code == 0 and json.loads(ok.output.strip().splitlines()[-1])["ok"] is True
    # Someone with the file bypasses the triggers and rewrites row 3.
    db = sqlite3.connect(tmp_path / "hub.db")
    db.execute("DROP TRIGGER audit_events_no_update")
    db.execute("UPDATE audit_events SET detail = '{\"role\": \"supervisor\"}' WHERE id = 3")
    db.commit()
    bad = CliRunner().invoke(cli, ["hub", "audit", "verify", "--db", url])
    assert bad.exit_code == 1 and "row 3" in bad.output and "changed" in bad.output
    db.execute("UPDATE audit_events SET detail = '{\"role\": \"kiosk\"}' WHERE id = 3")
    db.execute("DROP TRIGGER audit_events_no_delete")
    db.execute("DELETE FROM audit_events WHERE id = 2")
    db.commit()
    db.close()
    gone = CliRunner().invoke(cli, ["hub", "audit", "verify", "--db", url])
    assert gone.exit_code == 1 and "row 3" in gone.output and "removed" in gone.output


def _as_app_role(url: str) -> str:
    parts = urlsplit(url)
    netloc = f"{APP_ROLE}:{APP_PASSWORD}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.mark.postgres
def test_the_hubs_role_cannot_alter_its_audit_log(tmp_path):
    base = os.environ.get("KIOSK_TEST_PG_URL")
    if not base:
        pytest.skip("KIOSK_TEST_PG_URL is not set (deploy/test.sh sets it)")
    admin = create_engine(base)
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}).scalar():
            pytest.skip(f"role {APP_ROLE} missing: run deploy/postgres-test.sh")
    schema = f"t_{os.urandom(6).hex()}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    owner_url = f"{base}?options=-csearch_path%3D{schema}"
    try:
        migrate(owner_url, app_role=APP_ROLE)  # as the owner: the tables are the owner's
        app_engine = make_engine(_as_app_role(owner_url))
        assert owns_audit_log(app_engine) is False
        assert owns_audit_log(make_engine(owner_url)) is True
        with session_factory(app_engine)() as s, s.begin():  # the hub's role appends …
            create_token(s, "kiosk", "K0001")
            audit.record(s, "cli", "token", "K0001", "created")
        for sql in ("ALTER TABLE audit_events DISABLE TRIGGER ALL",
                    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change",
                    "DROP TRIGGER audit_events_no_change ON audit_events",
                    "UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"):
            with pytest.raises(DBAPIError) as err, app_engine.begin() as conn:  # … but never rewrites
                conn.execute(text(sql))
            assert "owner" in str(err.value.orig) or "permission denied" in str(err.value.orig) \
                or "append-only" in str(err.value.orig), sql
        with session_factory(app_engine)() as s:
            assert audit.verify(s)["ok"]
        # The hub itself starts and serves as that role (the schema is current, so it migrates nothing).
        from kiosk.hub.app import create_app

        create_app(_as_app_role(owner_url), None, upload_dir=tmp_path / "up", relay=False)
        app_engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
def test_concurrent_first_migrations_on_postgresql_do_not_race(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("the race is PostgreSQL's (SQLite serialises the whole file)")
    errors = []

    def run():
        try:
            migrate(db_url)
        except Exception as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() >= 1
    engine.dispose()


# -- tokens -------------------------------------------------------------------------------------------
def test_a_revoked_token_stops_working_within_a_second_in_every_process(hub, tmp_path, monkeypatch):
    from kiosk.hub import auth

    monkeypatch.setattr(auth, "RECHECK_S", 0.3)  # the window, shortened for the test
    with hub.state.sessions() as s, s.begin():
        tok = create_token(s, "kiosk", "K0002")
    other = TokenVerifier(hub.state.sessions)  # a second hub process on the same database
    assert other.verify(tok) is not None
    assert _post(hub, case_payload("K0002-20261122-0001"), token=tok).status_code == 201
    from kiosk.cli import cli

    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    r = CliRunner().invoke(cli, ["hub", "token", "revoke", tok, "--db", hub.db_url])
    assert r.exit_code == 0, r.output
    time.sleep(0.35)  # past the last check: both processes read the revocation
    assert other.verify(tok) is None
    assert _post(hub, case_payload("K0002-20261122-0002"), token=tok).status_code == 401
    assert _post(hub, case_payload("K0002-20261122-0003"), token=tok).status_code == 401
    listed = CliRunner().invoke(cli, ["hub", "token", "list", "--all", "--json", "--db", hub.db_url])
    states = {t["name"]: t["state"] for t in json.loads(listed.output.strip().splitlines()[-1])["tokens"]}
    assert states["K0002"] == "revoked" and states["K0001"] == "active"
    assert tok.split("_", 2)[2] not in listed.output  # the secret (which may itself contain "_") is never shown


def test_argon2_proves_a_token_once_while_the_database_keeps_saying_it_is_valid(hub, monkeypatch):
    from kiosk.hub import auth

    with hub.state.sessions() as s, s.begin():
        tok, other = create_token(s, "kiosk", "K0006"), create_token(s, "kiosk", "K0007")
    proofs = []
    real = auth._hasher

    class Counting:  # the library's hasher, counting its verifications
        def verify(self, token_hash, token):
            proofs.append(token)
            return real.verify(token_hash, token)

    monkeypatch.setattr(auth, "_hasher", Counting())
    clock = [1000.0]
    verifier = TokenVerifier(hub.state.sessions, clock=lambda: clock[0])
    for later in (0, 30, 61, 600, 3 * 3600):  # well past the minute a proof used to be kept
        clock[0] = 1000.0 + later
        assert verifier.verify(tok) is not None
    assert proofs == [tok]
    with hub.state.sessions() as s, s.begin():  # revoked: refused at the next check, the proof notwithstanding
        s.execute(update(ApiToken).where(ApiToken.name == "K0006").values(revoked=True))
    clock[0] += auth.RECHECK_S + 0.1
    assert verifier.verify(tok) is None
    assert verifier.verify(other) is not None
    clock[0] += auth.PROOF_S + 1  # a working day later the token is proved again
    assert verifier.verify(other) is not None
    assert proofs == [tok, other, other]


def test_the_tokens_in_use_are_re_read_in_one_statement_a_second_not_one_each(hub, monkeypatch):
    from sqlalchemy import event

    from kiosk.hub import auth

    with hub.state.sessions() as s, s.begin():
        toks = [create_token(s, "kiosk", f"K01{i:02d}") for i in range(16)]
        idle = create_token(s, "kiosk", "K0199")
    clock = [1000.0]
    verifier = TokenVerifier(hub.state.sessions, clock=lambda: clock[0])
    assert verifier.verify(idle) is not None
    clock[0] += auth.ACTIVE_S + 1  # `idle` is not used again for a while
    for tok in toks:
        assert verifier.verify(tok) is not None
    reads = []

    def count(conn, cursor, statement, params, context, executemany):
        # a validity read, not a proof's lookup (which reads the hash)
        if statement.startswith("SELECT") and "api_tokens" in statement and "token_hash" not in statement:
            reads.append(statement)

    engine = hub.state.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        with hub.state.sessions() as s, s.begin():  # revoked in another process meanwhile
            s.execute(update(ApiToken).where(ApiToken.name == "K0105").values(revoked=True))
        clock[0] += auth.RECHECK_S + 0.1
        answers = [verifier.cached(tok) or verifier.verify(tok) for tok in toks]
        assert len(reads) == 1  # one statement for the sixteen
        assert [a is None for a in answers] == [i == 5 for i in range(16)]
        assert verifier.verify(toks[0]) is not None and len(reads) == 1  # answered from that read
        assert verifier.verify(idle) is not None and len(reads) == 2  # idle: re-read at its next use
        clock[0] += auth.RECHECK_S + 0.1
        assert verifier.verify(toks[5]) is None  # still refused: its row says revoked
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_re_read_starts_ahead_of_the_deadline_so_no_request_waits_for_it(hub):
    from kiosk.hub import auth

    with hub.state.sessions() as s, s.begin():
        toks = [create_token(s, "kiosk", f"K02{i:02d}") for i in range(4)]
    clock = [1000.0]
    verifier = TokenVerifier(hub.state.sessions, clock=lambda: clock[0])
    for tok in toks:
        assert verifier.verify(tok) is not None
    with hub.state.sessions() as s, s.begin():
        s.execute(update(ApiToken).where(ApiToken.name == "K0201").values(revoked=True))
    ran_on, done = [], threading.Event()
    refresh = verifier._refresh

    def watched() -> None:  # the re-read, observed: on which thread it ran, and when it ended
        ran_on.append(threading.current_thread().name)
        try:
            refresh()
        finally:
            done.set()

    verifier._refresh = watched
    clock[0] += auth.RECHECK_S * 0.6  # in the second half of the last read's second: still answered from memory
    # the revoked token asked first: the first answer starts the re-read on its own thread, which may drop it
    # before a later call in this line
    assert all(verifier.cached(tok) is not None for tok in [toks[1], toks[0], toks[2], toks[3]])
    assert done.wait(10) and ran_on == ["token-recheck"]  # the re-read it started, on a thread of its own
    clock[0] += auth.RECHECK_S * 0.6  # past the first read's second, within the new read's
    try:
        assert [verifier.cached(tok) is None for tok in toks] == [False, True, False, False]
    finally:
        refresher = verifier._refresher
        if refresher is not None:
            refresher.join(10)


def test_a_re_read_ahead_of_time_that_fails_is_not_started_again_by_every_request(hub, caplog):
    from sqlalchemy.exc import OperationalError

    from kiosk.hub import auth

    with hub.state.sessions() as s, s.begin():
        tok = create_token(s, "kiosk", "K0301")
    clock = [1000.0]
    verifier = TokenVerifier(hub.state.sessions, clock=lambda: clock[0])
    assert verifier.verify(tok) is not None
    attempts = []

    class Away:  # the database, gone
        def connect(self):
            attempts.append(clock[0])
            raise OperationalError("SELECT", {}, Exception("connection refused"))

    verifier._reader = Away()
    clock[0] += auth.RECHECK_S * 0.6
    for _ in range(20):  # twenty requests within the last read's second: answered from memory
        assert verifier.cached(tok) is not None
        refresher = verifier._refresher
        if refresher is not None:
            refresher.join(10)
    assert len(attempts) == 1
    assert sum("re-reading the tokens in use failed" in m for m in caplog.messages) == 1
    clock[0] += auth.RECHECK_S * 0.6  # past the deadline: the request reads for itself, and meets the failure
    assert verifier.cached(tok) is None
    with pytest.raises(OperationalError):
        verifier.verify(tok)


def test_an_expired_token_is_refused(hub, monkeypatch):
    from kiosk.hub import auth

    monkeypatch.setattr(auth, "RECHECK_S", 0.3)
    with hub.state.sessions() as s, s.begin():
        tok = create_token(s, "kiosk", "K0003")
    assert _post(hub, case_payload("K0003-20261122-0001"), token=tok).status_code == 201
    with hub.state.sessions() as s, s.begin():  # an administrator moves the expiry into the past
        s.execute(update(ApiToken).where(ApiToken.name == "K0003")
                  .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    time.sleep(0.35)
    assert _post(hub, case_payload("K0003-20261122-0002"), token=tok).status_code == 401


def test_a_token_is_refused_the_moment_it_expires_without_waiting_for_a_recheck(hub, monkeypatch):
    from kiosk.hub import auth

    monkeypatch.setattr(auth, "RECHECK_S", 3600.0)  # no database check in between: the remembered expiry decides
    with hub.state.sessions() as s, s.begin():
        tok = create_token(s, "kiosk", "K0005",
                           expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1.0))
    assert _post(hub, case_payload("K0005-20261122-0001"), token=tok).status_code == 201
    time.sleep(1.1)
    assert _post(hub, case_payload("K0005-20261122-0002"), token=tok).status_code == 401


def test_token_names_longer_than_the_audit_log_takes_are_refused_by_the_cli(tmp_path, monkeypatch):
    from kiosk.cli import cli

    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    r = CliRunner().invoke(cli, ["hub", "token", "create", "--role", "kiosk", "--name", "x" * 65])
    assert r.exit_code == 5 and "1-64" in r.output and "Traceback" not in r.output


def test_an_unwritable_sqlite_database_gets_sqlite_advice(tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import kiosk.hub.db
    from kiosk.cli import cli

    def readonly(*_a, **_k):
        raise OperationalError("INSERT", {}, sqlite3.OperationalError("attempt to write a readonly database"))

    monkeypatch.setattr(kiosk.hub.db, "migrate", readonly)
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    r = CliRunner().invoke(cli, ["hub", "migrate"])
    assert r.exit_code == 5 and "readonly" in r.output and "writable" in r.output
    assert "PostgreSQL" not in r.output and "Traceback" not in r.output


# -- callbacks -----------------------------------------------------------------------------------------
def test_callback_signature_is_checked_against_the_real_path(hub):
    from kiosk.platform import signing

    body = json.dumps({"case_no": "000", "status": "completed"}).encode()
    other = signing.sign_headers("POST", "/api/v1/other", "", body, APP_ID, SECRET)
    r = requests.post(f"{hub.url}/callbacks/platform", data=body, timeout=5,
                      headers=other | {"Content-Type": "application/json", "X-Callback-Path": "/api/v1/other"})
    assert r.status_code == 401
    good = signing.sign_headers("POST", "/callbacks/platform", "", body, APP_ID, SECRET)
    r = requests.post(f"{hub.url}/callbacks/platform", data=body, timeout=5,
                      headers=good | {"Content-Type": "application/json", "X-Callback-Path": "/api/v1/other"})
    assert r.status_code == 404  # signature fine, unknown case


# -- personal data at rest -----------------------------------------------------------------------------
def test_personal_fields_are_encrypted_in_the_hub_database(hub):
    doc = case_payload("K0001-20261122-0001")
    assert _post(hub, doc).status_code == 201
    wait_for(lambda: requests.get(f"{hub.url}/api/v1/cases/{doc['receipt_no']}", headers=hub.headers(),
                                  timeout=5).json()["status"] == "submitted")
    engine = create_engine(hub.db_url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM cases")).mappings().one()
    engine.dispose()
    dump = json.dumps({k: (v.hex() if isinstance(v, (bytes, memoryview)) else str(v)) for k, v in row.items()},
                      ensure_ascii=False)
    for secret in ("欧阳娜娜", "610113199001016789", "13700009050", "小寨东路", "contribution_level"):
        assert secret not in dump, secret
    assert row["applicant_name"] == "欧***" and row["applicant_id_number"].endswith("6789")
    sim = requests.get(f"{hub.sim_url}/sim/cases", params={"client_ref": doc["receipt_no"]}, timeout=5).json()
    assert sim["cases"] and sim["cases"][0]["client_ref"] == doc["receipt_no"]


def test_key_rotation_reencrypts_every_case(hub, tmp_path, monkeypatch):
    from kiosk.hub.case_fields import field_cipher, reseal_all, unseal
    from kiosk.hub.crypto import FieldCipher

    hub.state.relay.stop()
    for i in range(1, 4):
        assert _post(hub, case_payload(f"K0001-20261122-{i:04d}")).status_code == 201
    old = field_cipher(hub.state)
    new = FieldCipher(os.urandom(32))
    assert reseal_all(hub.state, old, new) == 3
    assert reseal_all(hub.state, old, new) == 0  # run again after an interruption: nothing left to do
    with hub.state.sessions() as s:
        for case in s.scalars(select(Case)):
            assert unseal(new, case).name == "欧阳娜娜"
            with pytest.raises(Exception):
                unseal(old, case)


def test_token_create_can_set_an_expiry(tmp_path, monkeypatch):
    from kiosk.cli import cli

    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    r = CliRunner().invoke(cli, ["hub", "token", "create", "--role", "kiosk", "--name", "K0004", "--expires-in-days", "7"])
    assert r.exit_code == 0, r.output
    listed = CliRunner().invoke(cli, ["hub", "token", "list", "--json"])
    tok = json.loads(listed.output.strip().splitlines()[-1])["tokens"][0]
    assert tok["name"] == "K0004" and tok["state"] == "active" and tok["expires_at"]


def test_a_sqlite_hub_keeps_the_connections_it_uses_at_once(tmp_path):
    """The hub works 8 requests and 16 deliveries at once: a pool smaller than that closed the connections beyond
    it on return and opened them again (with their PRAGMAs) on the next request."""
    from sqlalchemy import event

    engine = make_engine(f"sqlite:///{tmp_path}/hub.db")
    opened = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    try:
        for _ in range(3):
            held = [engine.connect() for _ in range(24)]  # each checks a connection out of the pool
            for conn in held:
                conn.close()
        assert len(opened) == 24
    finally:
        engine.dispose()
