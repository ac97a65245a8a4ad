"""The systemd watchdog, fed from the UI's own clock: the App pings on a Kivy `Clock` interval, so a UI thread
that hangs (a blocking call, a deadlock) stops the pings and systemd restarts the service (`WatchdogSec=` in
deploy/systemd/govkiosk-kiosk.service). The sd_notify protocol is one datagram to `$NOTIFY_SOCKET`; no library.
"""
from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("kiosk.watchdog")


class SystemdNotifier:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.address = env.get("NOTIFY_SOCKET", "")
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_s = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 and mine else 0.0
        self._sock: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    @property
    def interval_s(self) -> float:
        """How often to ping: a third of the watchdog period, so one slow frame never trips it."""
        return self.watchdog_s / 3 if self.watchdog_s else 0.0

    def notify(self, message: str) -> bool:
        if not self.address:
            return False
        addr = self.address
        if addr.startswith("@"):
            addr = "\0" + addr[1:]  # abstract socket namespace
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message.encode(), addr)
            return True
        except OSError as exc:
            log.warning("sd_notify failed: %s", exc)
            return False

    def ready(self) -> bool:
        return self.notify("READY=1")

    def ping(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")


def feed_from_clock(clock, notifier: SystemdNotifier | None = None) -> SystemdNotifier:
    """Tell systemd the UI is up and ping it from `clock` (kivy.clock.Clock) while the UI thread runs."""
    notifier = notifier or SystemdNotifier()
    if not notifier.enabled:
        return notifier
    notifier.ready()
    if notifier.interval_s:
        clock.schedule_interval(lambda _dt: notifier.ping(), notifier.interval_s)
        log.info("watchdog fed every %.1f s from the UI clock", notifier.interval_s)
    return notifier
