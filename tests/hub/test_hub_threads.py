"""The hub's request threads: as many as configured, and none held by a request waiting on the platform."""
from __future__ import annotations

import threading

import anyio.to_thread
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kiosk.hub.threads import platform_calls


def test_a_request_waiting_on_the_platform_leaves_the_request_threads_free():
    app = FastAPI()
    platform_answers = threading.Event()
    waiting = threading.Event()
    still_waiting = []

    @app.get("/status/{number}")
    @platform_calls
    def status(number: str, detail: bool = False):
        still_waiting.append(True)
        waiting.set()
        platform_answers.wait(20)  # a hanging platform (here until the test lets it answer)
        still_waiting.clear()
        return {"number": number, "detail": detail}

    @app.get("/claim")
    def claim():
        return {"lookup_still_waiting": bool(still_waiting)}

    with TestClient(app) as client:
        client.portal.call(lambda: setattr(anyio.to_thread.current_default_thread_limiter(), "total_tokens", 1))
        answers = []
        lookup = threading.Thread(target=lambda: answers.append(client.get("/status/K1?detail=true").json()))
        lookup.start()
        assert waiting.wait(10)
        # With the lookup on the only request thread, the claim would wait until the platform answered.
        assert client.get("/claim").json() == {"lookup_still_waiting": True}
        platform_answers.set()
        lookup.join(10)
    assert answers == [{"number": "K1", "detail": True}]  # parameters read from the handler's own signature


def test_the_hub_works_on_request_threads_as_configured(tmp_path):
    from kiosk.hub.app import create_app

    app = create_app(f"sqlite:///{tmp_path / 'hub.db'}", None, relay=False, request_threads=3)
    with TestClient(app) as client:
        tokens = client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
        assert tokens == 3
        assert client.get("/healthz").status_code == 200


def test_the_connection_pool_grows_with_the_threads_that_may_hold_a_connection(db_url, tmp_path):
    """More request threads than the default pool holds: each still gets a connection instead of waiting for the
    pool's timeout (then a 503)."""
    from kiosk.hub.app import HUB_WORKERS, create_app
    from kiosk.hub.db import PG_POOL_SIZE, POOL_OVERFLOW, SQLITE_POOL_SIZE
    from kiosk.hub.threads import PLATFORM_THREADS

    sqlite = db_url.startswith("sqlite")
    default = create_app(db_url, None, relay=False, upload_dir=tmp_path / "a").state.hub.engine
    assert default.pool.size() == (SQLITE_POOL_SIZE if sqlite else PG_POOL_SIZE)  # the defaults as measured
    default.dispose()
    engine = create_app(db_url, None, relay=False, upload_dir=tmp_path / "b", request_threads=64).state.hub.engine
    wanted = 64 + PLATFORM_THREADS + HUB_WORKERS
    assert engine.pool.size() + (0 if sqlite else POOL_OVERFLOW) == wanted
    engine.dispose()


def test_a_kiosk_case_hands_work_to_a_request_thread_only_for_its_storage(hub, tmp_path, monkeypatch):
    """A kiosk's page (sent with its upload's creation) and its case: two hand-offs to a request thread, the
    page's store and the case's intake. The role checks on the way are a comparison each and stay on the event
    loop — as plain `def` dependencies FastAPI ran each on a worker thread, two more hand-offs per case."""
    from hub_support import case_payload, upload_material

    client = hub.client()
    assert client.catalog()  # the token is proved (on a thread) before the count starts
    handed = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):
        if threading.current_thread() is hub.server.thread:  # what the server's event loop hands off
            target = getattr(func, "func", func)
            handed.append(getattr(target, "__qualname__", repr(target)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    material = upload_material(client, tmp_path, b"%PDF-1.4 page\n" * 500)
    client.submit_case(case_payload("K0001-20261205-0001", [material]), "key-threads-1")
    assert sorted(handed) == ["_create_whole.<locals>.store", "_intake"], handed
