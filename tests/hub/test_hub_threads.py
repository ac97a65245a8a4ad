"""A request waiting on the platform holds none of the threads the hub's other requests run on."""
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
