"""Run an ASGI app on uvicorn in a background thread: used by tests, benchmarks and `kiosk demo`.

uvicorn is imported only when a server is made: `kiosk demo` and the benchmarks wait for processes with
`wait_healthy` inside the kiosk app's own process, which serves nothing.
"""
from __future__ import annotations

import socket
import threading
import time


def wait_healthy(url: str, timeout: float = 30.0, exited=None) -> None:
    """Wait until `url`/healthz answers 200. `exited()` (optional) returns why the serving process is gone, or None
    while it runs: then this gives up at once. Raises TimeoutError or ChildProcessError with what happened."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        why = exited() if exited is not None else None
        if why:
            raise ChildProcessError(why)
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerThread:
    """`with ServerThread(app) as srv: requests.get(srv.url + "/healthz")`; stop() returns once it is down."""

    def __init__(self, app, host: str = "127.0.0.1", port: int | None = None, log_level: str = "warning") -> None:
        import uvicorn

        from kiosk.hub.http_protocol import HubHttpProtocol

        self.host = host
        self.port = port or free_port(host)
        # An open live feed (server-sent events) never ends by itself: after 3 s of shutdown it is cut, as
        # `kiosk hub serve` does after 5 s, so stop() returns.
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level=log_level,
                                                    access_log=False, lifespan="on", timeout_graceful_shutdown=3,
                                                    http=HubHttpProtocol))
        self.server.install_signal_handlers = lambda: None  # only the main thread may own signals
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> "ServerThread":
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"server on {self.url} did not start (port in use?)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start within {timeout} s")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self.thread is None:
            return
        self.server.should_exit = True
        self.thread.join(timeout)
        self.thread = None

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
