"""The hub's database away: every request answers 503 in words with Retry-After (not a bare 500 with a traceback
per request), the log gets one line, and the hub serves again as soon as the database is back."""
from __future__ import annotations

import logging
import socket
import sqlite3
import threading
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, OperationalError, TimeoutError as PoolTimeout

from hub_support import case_payload, start_hub, wait_for
from kiosk.hub import db_errors
from kiosk.hub.auth import create_token


class Gate:
    """A TCP forwarder in front of the database server: `close()` cuts every connection through it and refuses new
    ones (the server stopped or the cable pulled), `open()` lets connections through again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.open()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    @property
    def closed(self) -> bool:
        return self._listener is None

    def close(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            listener.close()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _through(db_url: str, port: int) -> str:
    parts = urlsplit(db_url)
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@127.0.0.1:{port}"))


@pytest.fixture
def gated_hub(db_url, sim, tmp_path):
    if not db_url.startswith("postgresql"):
        pytest.skip("a database server to lose: PostgreSQL")
    parts = urlsplit(db_url)
    gate = Gate((parts.hostname, parts.port or 5432))
    server, app = start_hub(_through(db_url, gate.port), sim.url, tmp_path)
    with app.state.hub.sessions() as s, s.begin():
        token = create_token(s, "kiosk", "K0001")
    yield server, token, gate
    if gate.closed:  # the hub's shutdown disposes its connections: let it reach the server
        gate.open()
    server.stop()
    gate.close()


def test_requests_answer_503_in_words_while_the_database_is_away(gated_hub, caplog):
    server, token, gate = gated_hub
    headers = {"Authorization": f"Bearer {token}"}
    doc = case_payload("K0001-20261204-0001")
    assert requests.get(f"{server.url}/api/v1/cases/K0001-20261204-0009", headers=headers, timeout=10).status_code == 404

    gate.close()
    caplog.set_level(logging.INFO)
    calls = [lambda: requests.get(f"{server.url}/api/v1/cases/K0001-20261204-0009", headers=headers, timeout=20),
             lambda: requests.post(f"{server.url}/api/v1/cases", json=doc, timeout=20,
                                   headers=headers | {"Idempotency-Key": doc["receipt_no"]}),
             lambda: requests.get(f"{server.url}/api/v1/proxy-requests", headers=headers, timeout=20)]
    answers = [call() for _ in range(4) for call in calls]
    for resp in answers:
        assert resp.status_code == 503, (resp.status_code, resp.text)
        assert resp.headers["Retry-After"] == str(db_errors.RETRY_AFTER_S)
        assert "database" in resp.json()["detail"] and resp.json()["reason"] == "database_unreachable"
    health = requests.get(f"{server.url}/healthz", timeout=20)  # Docker's HEALTHCHECK reads only the status
    assert health.status_code == 503 and health.json()["database_ok"] is False
    said = [r for r in caplog.records if "answered 503" in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in said]
    assert not [r for r in caplog.records if r.name.startswith("uvicorn") and r.levelno >= logging.ERROR]

    gate.open()  # the database is back: the hub serves again without a restart
    posted = wait_for(lambda: (r := requests.post(f"{server.url}/api/v1/cases", json=doc, timeout=20, headers=headers
                                                  | {"Idempotency-Key": doc["receipt_no"]})).status_code != 503 and r)
    assert posted.status_code == 201, posted.text


# -- how each error is answered (no server needed) ------------------------------------------------------------------
def _app(exc: Exception) -> TestClient:
    app = FastAPI()
    db_errors.install(app)

    @app.get("/api/v1/thing")
    @app.get("/console/board")
    def fail():
        raise exc

    return TestClient(app, raise_server_exceptions=False)


def _operational(message: str) -> OperationalError:
    return OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))


def test_a_locked_sqlite_database_a_full_server_or_an_exhausted_pool_is_busy_not_unreachable():
    for exc in (_operational("database is locked"), _operational("FATAL:  sorry, too many clients already"),
                PoolTimeout("QueuePool limit of size 20 overflow 10 reached")):
        resp = _app(exc).get("/api/v1/thing")
        assert resp.status_code == 503 and resp.json()["reason"] == "database_busy", resp.text
        assert resp.headers["Retry-After"]


def test_a_full_disk_is_507_and_any_other_database_error_stays_500():
    assert _app(_operational("database or disk is full")).get("/api/v1/thing").status_code == 507
    bug = IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed: cases.receipt_no"))
    resp = _app(bug).get("/api/v1/thing")
    assert resp.status_code == 500 and "UNIQUE" not in resp.text


def test_the_console_says_it_in_the_viewers_language():
    client = _app(_operational("connection refused"))
    page = client.get("/console/board")
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "暂时连不上中台数据库" in page.text and "没有丢失任何数据" in page.text
    assert "cannot be reached" in client.get("/console/board?lang=en").text
