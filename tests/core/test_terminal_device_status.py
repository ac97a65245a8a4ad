"""The device monitor's status is never older than one already published: a refresh that waited on a slow hub
must not bring back a camera that was unplugged while it waited (the kiosk would then start a journey it cannot
finish instead of showing the out-of-service screen)."""
import contextlib
import socket
import threading

from devices.scanner.simulator import device as sim_device
from kiosk.config import Config
from kiosk.terminal import Terminal


@contextlib.contextmanager
def _hub_that_never_answers():
    """A TCP server that takes connections and never answers: the hub probe waits for its whole timeout. Yields
    (its port, an event set once a connection came in); closed with every connection on leaving."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    connected = threading.Event()
    held = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            connected.set()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server.getsockname()[1], connected
    finally:
        server.close()
        for conn in held:
            conn.close()


def _config(tmp_path, hub_port: int, timeout_s: float) -> Config:
    """A kiosk with the simulated camera, no printer, and the hub at `hub_port`."""
    cfg = Config()
    cfg.kiosk.data_dir = str(tmp_path / "data")
    cfg.devices.camera.source = f"sim:{tmp_path / 'pages'}"
    cfg.devices.printer.uri = ""
    cfg.hub.url = f"http://127.0.0.1:{hub_port}"
    cfg.hub.timeout_s = timeout_s
    return cfg


def test_a_refresh_waiting_on_the_hub_does_not_undo_a_camera_unplugged_meanwhile(tmp_path):
    with _hub_that_never_answers() as (port, connected):
        cfg = _config(tmp_path, port, 1.5)
        camera = sim_device(cfg.devices.camera.source)
        camera.replug()
        terminal = Terminal(cfg)
        seen = []
        terminal.status_listeners.append(seen.append)
        try:
            slow = threading.Thread(target=terminal.refresh_device_status)  # the monitor's refresh, hub included
            slow.start()
            assert connected.wait(10), "the hub probe never connected"
            camera.unplug()  # while the monitor waits on the hub
            now = terminal.refresh_device_status(probe_hub=False)
            assert "camera_missing" in now.blocking
            slow.join(30)
            assert not slow.is_alive()
            # the slow refresh published last, and it says what the devices are now
            assert seen[-1] is terminal.device_status
            assert terminal.device_status.camera == "no_device" and "camera_missing" in terminal.device_status.blocking
            assert terminal.device_status.hub == "unreachable"
            assert all("camera_missing" in st.problems for st in seen)
        finally:
            camera.replug()


def test_a_refresh_without_the_hub_keeps_the_hubs_last_known_state(tmp_path):
    with _hub_that_never_answers() as (port, _):
        terminal = Terminal(_config(tmp_path, port, 0.5))
        assert terminal.refresh_device_status().hub == "unreachable"
        assert terminal.refresh_device_status(probe_hub=False).hub == "unreachable"
