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
