"""Printer device URIs, the one way a printer is named in config, CLI and diagnostics.

    usb://VID:PID?in=0x81&out=0x03&timeout=5000     (endpoints and write timeout in ms; keywords, never positional)
    serial:///dev/ttyUSB0?baud=19200&flow=none      (flow: none | rtscts | dsrdtr | xonxoff; no DSR/DTR by default)
    tcp://HOST:9100?timeout=2                        (port 9100 by default; short timeouts)
    file:///dev/usb/lp0                              (one-way: paper state always unknown)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from devices.errors import InvalidData

SCHEMES = ("usb", "serial", "tcp", "file")


@dataclass
class DeviceUri:
    scheme: str
    target: str  # "0416:5011", "/dev/ttyUSB0", "host:port", "/dev/usb/lp0"
    params: dict[str, str] = field(default_factory=dict)
    host: str = ""
    port: int = 0

    def __str__(self) -> str:
        q = "&".join(f"{k}={v}" for k, v in self.params.items())
        base = f"{self.scheme}://{self.target}"
        return f"{base}?{q}" if q else base


def _bad(uri: str, why: str) -> InvalidData:
    return InvalidData("bad_device_uri", f"printer device {uri!r}: {why}",
                       "use usb://VID:PID?in=0x81&out=0x03, serial:///dev/ttyUSB0?baud=19200, tcp://HOST:9100 or file:///dev/usb/lp0")


def parse_uri(uri: str) -> DeviceUri:
    parts = urlsplit(uri or "")
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise _bad(uri, "unknown or missing scheme")
    params = dict(parse_qsl(parts.query))
    if scheme == "usb":
        ids = parts.netloc.split(":")
        if len(ids) != 2 or not all(len(i) == 4 for i in ids):
            raise _bad(uri, "expected usb://VID:PID with 4 hex digits each")
        try:
            int(ids[0], 16), int(ids[1], 16)
            for k in ("in", "out"):
                if k in params:
                    int(params[k], 0)
        except ValueError:
            raise _bad(uri, "vendor, product and endpoint numbers must be hexadecimal") from None
        return DeviceUri("usb", parts.netloc.lower(), params)
    if scheme == "tcp":
        if not parts.hostname:
            raise _bad(uri, "no host")
        try:
            port = parts.port or 9100
        except ValueError:
            raise _bad(uri, "bad port") from None
        return DeviceUri("tcp", parts.netloc, params, host=parts.hostname, port=port)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise _bad(uri, "use an absolute path: file:///dev/usb/lp0")
        path = parts.path
    elif parts.netloc:  # serial://dev/ttyUSB0 → /dev/ttyUSB0; serial://COM3 → COM3
        path = f"/{parts.netloc}{parts.path}" if parts.path else parts.netloc
    else:
        path = parts.path
    if not path:
        raise _bad(uri, "no device path")
    if scheme == "serial" and "baud" in params and not params["baud"].isdigit():
        raise _bad(uri, "baud must be a number")
    return DeviceUri(scheme, path, params)
