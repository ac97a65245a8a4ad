"""A fake pyusb device standing in for a USB receipt printer where no USB exists (tests, demo).

It implements the part of `usb.core.Device` that `UsbTransport` uses (`write`, `read`, `set_configuration`,
kernel-driver calls) on top of `PrinterEngine`, and checks endpoints and timeouts are passed as the transport
promises. Use it as `open_printer("usb://0416:5011?in=0x81&out=0x03", usb_find=fake.find)`.
"""
from __future__ import annotations

import threading

from devices.printer.engine import PrinterEngine


class FakeUsbTimeout(Exception):
    """Raised like pyusb's `USBTimeoutError` (errno 110) when nothing arrives before the timeout."""

    errno = 110

    def __str__(self) -> str:
        return "[Errno 110] Operation timed out"


class FakeUsbPrinter:
    def __init__(self, vid: int = 0x0416, pid: int = 0x5011, in_ep: int = 0x81, out_ep: int = 0x03, state: str = "ok") -> None:
        self.idVendor, self.idProduct = vid, pid
        self.in_ep, self.out_ep = in_ep, out_ep
        self.engine = PrinterEngine(state)
        self.kernel_driver_active = True
        self.configured = False
        self.unplugged = False
        self.writes: list[tuple[int, int, int]] = []  # (endpoint, length, timeout) of every write
        self._replies = bytearray()
        self._cond = threading.Condition()

    # usb.core.find(idVendor=..., idProduct=...)
    def find(self, idVendor: int | None = None, idProduct: int | None = None, **_):
        if self.unplugged or (idVendor, idProduct) != (self.idVendor, self.idProduct):
            return None
        return self

    def is_kernel_driver_active(self, interface: int) -> bool:
        return self.kernel_driver_active

    def detach_kernel_driver(self, interface: int) -> None:
        self.kernel_driver_active = False

    def set_configuration(self, *_) -> None:
        self.configured = True

    def _reply(self, data: bytes) -> None:
        with self._cond:
            self._replies += data
            self._cond.notify_all()

    def set_state(self, state: str) -> None:
        self.engine.set_state(state, self._reply)

    def write(self, endpoint: int, data, timeout: int | None = None) -> int:
        if self.unplugged:
            raise OSError(19, "No such device (it may have been disconnected)")
        if endpoint != self.out_ep:
            raise OSError(5, f"Input/Output Error: no OUT endpoint 0x{endpoint:02x}")
        if not self.configured or self.kernel_driver_active:
            raise OSError(16, "Resource busy")
        self.writes.append((endpoint, len(data), timeout))
        self.engine.feed(bytes(data), self._reply)
        return len(data)

    def read(self, endpoint: int, size: int, timeout: int | None = None):
        if self.unplugged:
            raise OSError(19, "No such device (it may have been disconnected)")
        if endpoint != self.in_ep:
            raise OSError(5, f"Input/Output Error: no IN endpoint 0x{endpoint:02x}")
        with self._cond:
            if not self._replies:
                self._cond.wait((timeout or 1000) / 1000.0)
            if not self._replies:
                raise FakeUsbTimeout()
            data = bytes(self._replies[:size])
            del self._replies[:size]
            return bytearray(data)

    @property
    def received(self) -> bytes:
        return bytes(self.engine.received)
