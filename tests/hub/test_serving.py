"""kiosk.hub.serving.ServerThread: stop() ends the server even while a client holds a live feed open."""
from __future__ import annotations

import asyncio
import threading
import time

import requests
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from kiosk.hub.serving import ServerThread


def test_stop_ends_the_server_while_a_feed_is_open():
    app = FastAPI()

    @app.get("/feed")
    async def feed():
        async def events():
            while True:  # a live feed never ends by itself
                yield b"data: tick\n\n"
                await asyncio.sleep(0.5)

        return StreamingResponse(events(), media_type="text/event-stream")

    srv = ServerThread(app).start()
    thread = srv.thread
    r = requests.get(srv.url + "/feed", stream=True, timeout=30)
    seen: list[bytes] = []

    def read() -> None:
        try:
            for chunk in r.iter_content(10):
                seen.append(chunk)
        except requests.RequestException:
            seen.append(b"<cut>")  # the server closed the stream mid-event

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(1.0)  # the client is listening
    srv.stop(timeout=10)
    assert b"".join(seen).startswith(b"data: tick")
    assert not thread.is_alive()  # the open feed was cut, the server thread ended
    reader.join(10)
    assert not reader.is_alive()  # and the client saw its connection end


def test_serve_hub_freezes_what_start_up_made_and_serves_with_the_hubs_protocol(monkeypatch):
    import gc

    import uvicorn

    from kiosk.hub.http_protocol import HubHttpProtocol
    from kiosk.hub.serving import serve_hub

    seen: dict = {}

    def run(app, **kwargs):  # stands in for the server's loop: what the process holds when serving starts
        tracked = {id(o) for o in gc.get_objects()}  # the collector's generations (frozen objects are not in them)
        seen.update(kwargs, app=app, app_tracked=id(app) in tracked, routes_tracked=id(app.router.routes) in tracked)

    monkeypatch.setattr(uvicorn, "run", run)
    app = FastAPI()
    app.get("/healthz")(lambda: {"ok": True})
    was_frozen = gc.get_freeze_count()
    assert id(app) in {id(o) for o in gc.get_objects()}  # before: the collector walks the app at each full pass
    try:
        serve_hub(app, "127.0.0.1", 8799)
    finally:
        gc.unfreeze()  # this test process goes on collecting as before
        if was_frozen:
            gc.freeze()
    assert seen["app"] is app and not seen["app_tracked"] and not seen["routes_tracked"]
    assert seen["http"] is HubHttpProtocol and seen["timeout_graceful_shutdown"] == 5
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8799 and seen["access_log"] is False
