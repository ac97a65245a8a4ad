"""The simulated receipt printer on TCP (port-9100 style), run in-process on a thread or by `kiosk printer simulate`.

It speaks the real wire protocol through `PrinterEngine`: answers `DLE EOT 1–4` by its state, holds jobs while
out of paper or with the cover open, answers `GS r 1` after a job, and can change state while running. With
`save`, every printed byte is appended to that file as it arrives.
"""
from __future__ import annotations

import socket
import threading

from devices.printer.engine import STATES, PrinterEngine


class SimulatedPrinter:
    def __init__(self, port: int = 0, state: str = "ok", save: str | None = None, host: str = "127.0.0.1",
                 paper_out_after: int | None = None) -> None:
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}")
        self.host, self.port = host, port
        self.save = save
        self._save_file = None
        self.engine = PrinterEngine(state, on_print=self._saved, paper_out_after=paper_out_after)
        self._server: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._clients: list[socket.socket] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.device = ""

    # -- public --------------------------------------------------------------------------------------------
    def start(self) -> str:
        if self.save:
            self._save_file = open(self.save, "ab", buffering=0)
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((self.host, self.port))
        srv.listen(8)
        srv.settimeout(0.2)
        self._server = srv
        self.port = srv.getsockname()[1]
        self.device = f"tcp://{self.host}:{self.port}"
        t = threading.Thread(target=self._accept_loop, name="printer-sim", daemon=True)
        t.start()
        self._threads.append(t)
        return self.device

    @property
    def state(self) -> str:
        return self.engine.state

    @property
    def received(self) -> bytes:
        return bytes(self.engine.received)

    @property
    def held(self) -> bytes:
        return bytes(self.engine.held)

    def set_state(self, state: str) -> None:
        with self._lock:
            clients = list(self._clients)

        def reply_all(data: bytes) -> None:
            for c in clients:
                try:
                    c.sendall(data)
                except OSError:
                    pass

        self.engine.set_state(state, reply_all)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()
        with self._lock:
            for c in self._clients:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
        for t in self._threads:
            t.join(timeout=2)
        if self._save_file is not None:
            self._save_file.close()
            self._save_file = None

    def __enter__(self) -> "SimulatedPrinter":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals -----------------------------------------------------------------------------------------
    def _saved(self, data: bytes) -> None:
        if self._save_file is not None:
            self._save_file.write(data)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            conn.settimeout(0.2)
            with self._lock:
                self._clients.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), name="printer-sim-conn", daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        def reply(data: bytes) -> None:
            try:
                conn.sendall(data)
            except OSError:
                pass

        try:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except (socket.timeout, TimeoutError):
                    continue
                except OSError:
                    return
                if not data:
                    return
                self.engine.feed(data, reply)
        finally:
            with self._lock:
                if conn in self._clients:
                    self._clients.remove(conn)
            conn.close()
