"""Serve the hub: in this process as `kiosk hub serve` does (`serve_hub`), or an ASGI app on uvicorn in a
background thread (`ServerThread`: tests, benchmarks and `kiosk demo`).

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


def serve_hub(app, host: str, port: int, log_level: str | None = None) -> None:
    """Serve the hub `app` in this process until SIGTERM or Ctrl-C: how `kiosk hub serve` and the benchmarks'
    hub processes run it.

    Everything alive now (the modules, the app with its routes, models and schemas: about 170,000 objects) stays
    for the process's life, so it is frozen out of the cyclic collector's reach: without that, each full
    collection walked all of it (about 90 ms with the event loop stopped, eleven times in a run of 3,000 代办
    requests) and the collector took about 8 % of the hub's CPU (docs/performance.md)."""
    import uvicorn

    from kiosk import memory
    from kiosk.hub.http_protocol import HubHttpProtocol

    memory.freeze()
    # Open live feeds (server-sent events) would hold a graceful shutdown forever: give them 5 s.
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, timeout_graceful_shutdown=5,
                http=HubHttpProtocol, **({"log_level": log_level} if log_level else {}))


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
