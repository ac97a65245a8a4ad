"""The hub's HTTP connections send what one turn of the event loop writes as one write (kiosk.hub.http_protocol)."""
from __future__ import annotations

import asyncio
import http.client

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from kiosk.hub.http_protocol import OneWritePerTurn
from kiosk.hub.serving import ServerThread


class SocketLikeTransport(asyncio.Transport):
    """Records what reaches the socket."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.sent.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0


def test_writes_of_one_turn_leave_together_and_a_close_sends_what_waits():
    async def scenario():
        loop = asyncio.get_running_loop()
        sock = SocketLikeTransport()
        t = OneWritePerTurn(sock, loop)
        t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        t.write(b"{}")
        assert sock.sent == [] and t.get_write_buffer_size() == 40
        await asyncio.sleep(0)
        assert sock.sent == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        t.write(b"last")
        t.close()  # not lost: sent before the socket closes
        assert sock.sent[-1] == b"last" and sock.closed
        t.write(b"after")
        await asyncio.sleep(0)  # nothing written to a closed socket
        assert sock.sent[-1] == b"last"

    asyncio.run(scenario())


def test_answers_and_a_stream_arrive_whole_over_a_real_connection():
    app = FastAPI()

    @app.get("/doc")
    def doc(n: int):
        return {"n": n, "text": "代办" * n}

    @app.get("/stream")
    async def stream():
        async def chunks():
            for i in range(3):
                yield f"data: {i}\n\n"
                await asyncio.sleep(0.01)
        return StreamingResponse(chunks(), media_type="text/event-stream")

    with ServerThread(app) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        for n in (0, 1, 5000):  # keep-alive: each answer complete before the next request
            conn.request("GET", f"/doc?n={n}")
            r = conn.getresponse()
            assert r.status == 200
            body = r.read().decode()
            assert body.count("代办") == n and body.startswith(f'{{"n":{n}')
        conn.request("GET", "/stream")
        r = conn.getresponse()
        assert r.read().decode() == "data: 0\n\ndata: 1\n\ndata: 2\n\n"
        conn.close()
