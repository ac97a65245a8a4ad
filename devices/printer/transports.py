"""Byte transports to a printer: USB (pyusb), serial (pyserial), TCP (port 9100) and a device file.

Every transport has `write(data)`, `read(n, timeout) -> bytes` (empty on silence), `discard_input()`, `close()`
and `two_way` (False for a device file: no status can be read). Opening raises `DeviceAbsent` when the
port, device or host is not there; a lost connection during I/O raises `DeviceAbsent` too.
"""
from __future__ import annotations

import os
import select
import socket
import time

from devices.errors import DeviceAbsent, DeviceTimeout
from devices.printer.uri import DeviceUri, parse_uri


class Transport:
    two_way = True
    name = "transport"

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def read(self, n: int, timeout: float) -> bytes:
        return b""

    def discard_input(self) -> None:
        while self.read(64, 0.0):
            pass

    def close(self) -> None:
        pass


class TcpTransport(Transport):
    """Network printers on port 9100 (and the simulated printer). Short connect/write timeouts: a status poll must not hang."""

    name = "tcp"

    def __init__(self, host: str, port: int = 9100, timeout: float = 2.0) -> None:
        self.timeout = timeout
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except socket.timeout:
            raise DeviceTimeout("printer_connect_timeout", f"no answer from printer at {host}:{port}",
                                "check the printer's network cable, power and IP address") from None
        except OSError as exc:
            raise DeviceAbsent("printer_unreachable", f"cannot connect to printer at {host}:{port}: {exc.strerror or exc}",
                               "check the printer is on, its IP address and port in the config, and the network") from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, data: bytes) -> None:
        try:
            self.sock.settimeout(max(self.timeout, 10.0))
            self.sock.sendall(data)
        except OSError as exc:
            raise DeviceAbsent("printer_gone", f"lost the connection to the printer: {exc}", "check the network and the printer") from None

    def read(self, n: int, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
            if not ready:
                return b""
            data = self.sock.recv(n)
        except OSError as exc:
            raise DeviceAbsent("printer_gone", f"lost the connection to the printer: {exc}", "check the network and the printer") from None
        if not data:
            raise DeviceAbsent("printer_gone", "the printer closed the connection", "check the network and the printer")
        return data

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class SerialTransport(Transport):
    """RS-232/USB-serial printers. DSR/DTR flow control is off unless asked for (python-escpos defaults it on)."""

    name = "serial"

    def __init__(self, port: str, baud: int = 9600, flow: str = "none", write_timeout: float = 10.0) -> None:
        import serial

        if flow not in ("none", "rtscts", "dsrdtr", "xonxoff"):
            raise ValueError("flow must be none, rtscts, dsrdtr or xonxoff")
        try:
            self.port = serial.serial_for_url(port, baudrate=baud, timeout=0, write_timeout=write_timeout,
                                              rtscts=flow == "rtscts", dsrdtr=flow == "dsrdtr", xonxoff=flow == "xonxoff")
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceAbsent("printer_port_missing", f"cannot open printer port {port}: {exc}",
                               "check the cable, the port name in the config and that the kiosk user is in the dialout group") from None

    def write(self, data: bytes) -> None:
        import serial

        try:
            self.port.write(data)
            self.port.flush()
        except serial.SerialTimeoutException:
            raise DeviceTimeout("printer_write_timeout", "the printer did not take the data in time",
                                "check the printer is on and the baud rate and flow control match its settings") from None
        except (serial.SerialException, OSError) as exc:
            raise DeviceAbsent("printer_gone", f"lost the printer port: {exc}", "check the cable") from None

    def read(self, n: int, timeout: float) -> bytes:
        import serial

        deadline = time.monotonic() + max(0.0, timeout)
        try:
            while True:
                data = self.port.read(n)
                if data or time.monotonic() >= deadline:
                    return data
                time.sleep(0.005)
        except (serial.SerialException, OSError) as exc:
            raise DeviceAbsent("printer_gone", f"lost the printer port: {exc}", "check the cable") from None

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:
            pass


class UsbTransport(Transport):
    """USB printers through pyusb with explicit endpoints and timeouts (cheap 58 mm models use 0x81/0x03, not Epson's 0x82/0x01).

    `find` replaces `usb.core.find` (tests pass a fake pyusb device here; DESIGN §7 draws the boundary below this class).
    """

    name = "usb"

    def __init__(self, vid: int, pid: int, in_ep: int = 0x82, out_ep: int = 0x01, timeout_ms: int = 5000,
                 interface: int = 0, find=None) -> None:
        if find is None:
            try:
                import usb.core
            except ImportError:  # pragma: no cover - pyusb is a pinned dependency
                raise DeviceAbsent("pyusb_missing", "pyusb is not installed", "reinstall the kiosk package") from None
            find = usb.core.find
        self.in_ep, self.out_ep, self.timeout_ms = in_ep, out_ep, timeout_ms
        try:
            dev = find(idVendor=vid, idProduct=pid)
        except Exception as exc:  # no libusb backend, permissions
            raise DeviceAbsent("usb_unavailable", f"cannot search USB devices: {exc}",
                               "install libusb-1.0 and check the udev rule for the printer") from None
        if dev is None:
            raise DeviceAbsent("printer_not_found", f"no USB printer {vid:04x}:{pid:04x}",
                               "check the USB cable and power; `lsusb` must list the printer")
        self.dev = dev
        try:
            if dev.is_kernel_driver_active(interface):
                dev.detach_kernel_driver(interface)  # usblp holds the interface otherwise
            dev.set_configuration()
        except NotImplementedError:
            pass
        except Exception as exc:
            raise DeviceAbsent("printer_busy_or_denied", f"cannot claim USB printer {vid:04x}:{pid:04x}: {exc}",
                               "check the udev rule gives the kiosk user access, and no other program uses the printer") from None

    def write(self, data: bytes) -> None:
        try:
            for i in range(0, len(data), 4096):
                self.dev.write(self.out_ep, data[i:i + 4096], self.timeout_ms)
        except Exception as exc:
            if "timed out" in str(exc).lower() or getattr(exc, "errno", None) == 110:
                raise DeviceTimeout("printer_write_timeout", "the USB printer did not take the data in time",
                                    "check the printer is on and has paper; then try again") from None
            raise DeviceAbsent("printer_gone", f"lost the USB printer: {exc}", "check the USB cable") from None

    def read(self, n: int, timeout: float) -> bytes:
        try:
            data = self.dev.read(self.in_ep, max(n, 16), max(1, int(timeout * 1000)))
        except Exception as exc:
            if "timed out" in str(exc).lower() or getattr(exc, "errno", None) == 110:
                return b""
            raise DeviceAbsent("printer_gone", f"lost the USB printer: {exc}", "check the USB cable") from None
        return bytes(data)

    def close(self) -> None:
        try:
            import usb.util

            usb.util.dispose_resources(self.dev)
        except Exception:
            pass


class FileTransport(Transport):
    """A device file such as /dev/usb/lp0 (or a plain file). One-way: the paper state is unknown."""

    two_way = False
    name = "file"

    def __init__(self, path: str) -> None:
        self.path = path
        if not os.path.exists(path) and (path.startswith("/dev/") or not os.path.isdir(os.path.dirname(path) or ".")):
            raise DeviceAbsent("printer_port_missing", f"no printer device {path}",
                               "check the USB cable; the usblp driver creates /dev/usb/lp0 when the printer is plugged in")
        try:
            self.f = open(path, "ab", buffering=0)
        except OSError as exc:
            raise DeviceAbsent("printer_port_denied", f"cannot open {path}: {exc.strerror}",
                               "check the kiosk user is in the lp group") from None

    def write(self, data: bytes) -> None:
        try:
            self.f.write(data)
        except OSError as exc:
            raise DeviceAbsent("printer_gone", f"cannot write to {self.path}: {exc.strerror}", "check the printer and cable") from None

    def discard_input(self) -> None:
        pass

    def close(self) -> None:
        self.f.close()


def open_transport(uri: str | DeviceUri, **opts) -> Transport:
    """Open the transport a device URI names. `opts` override URI parameters (e.g. `usb_find=` for tests)."""
    u = parse_uri(uri) if isinstance(uri, str) else uri
    p = u.params
    if u.scheme == "tcp":
        return TcpTransport(u.host, u.port, float(opts.get("timeout", p.get("timeout", 2.0))))
    if u.scheme == "serial":
        return SerialTransport(u.target, int(opts.get("baud", p.get("baud", 9600))), opts.get("flow", p.get("flow", "none")))
    if u.scheme == "usb":
        vid, pid = (int(x, 16) for x in u.target.split(":"))
        return UsbTransport(vid, pid, in_ep=int(str(opts.get("in_ep", p.get("in", "0x82"))), 0),
                            out_ep=int(str(opts.get("out_ep", p.get("out", "0x01"))), 0),
                            timeout_ms=int(opts.get("timeout_ms", p.get("timeout", 5000))), find=opts.get("usb_find"))
    return FileTransport(u.target)
