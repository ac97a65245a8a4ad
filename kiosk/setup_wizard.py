"""The configuration wizard's core (`kiosk setup`, the setup screen): find the devices, propose a config, test it.

- ID-card readers: the serial ports that answer GA 467 `11 FF` at some baud (the reader's own port search);
- printers: USB printers (interface class 7), serial ports that answer `DLE EOT 1` and are not readers,
  `/dev/usb/lp*`, and the TCP hosts the installer names (port 9100);
- cameras: /dev/v4l/by-id (or /dev/video*), each with the modes it really delivers (frames measured, not the
  sizes it claims).
Writing goes through `kiosk.config_writer` (atomic).
"""
from __future__ import annotations

import copy
import glob
import logging
from dataclasses import asdict, dataclass, field
from typing import Iterable

from kiosk.config import Config

log = logging.getLogger("kiosk.setup")

PRINTER_BAUDS = (9600, 19200, 38400, 115200)  # receipt printers ship at 9600 or 19200; some at 115200
CAMERA_TRY_MODES = ((640, 480), (1280, 720), (1280, 960), (1920, 1080), (2048, 1536), (2592, 1944), (3264, 2448))


@dataclass
class Found:
    readers: list[dict] = field(default_factory=list)  # {"port", "baud", "sam_id"}
    printers: list[dict] = field(default_factory=list)  # {"uri", "kind", "status", "paper"}
    cameras: list[dict] = field(default_factory=list)  # {"source", "modes": [[w, h]], "best": [w, h]}

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class SearchSpace:
    """Where to look; the defaults are the real machine's, tests and `--simulated` point elsewhere."""

    reader_globs: list[str] | None = None  # None: devices.idcard.ports.CANDIDATE_GLOBS
    serial_globs: list[str] = field(default_factory=lambda: ["/dev/serial/by-id/*", "/dev/ttyUSB*", "/dev/ttyACM*", "/dev/ttyS[0-3]"])
    lp_globs: list[str] = field(default_factory=lambda: ["/dev/usb/lp*"])
    printer_hosts: list[str] = field(default_factory=list)  # "HOST" or "HOST:PORT"
    camera_sources: list[str] | None = None  # None: /dev/v4l/by-id/*-video-index0, else /dev/video*
    usb: bool = True
    usb_find: object = None  # a fake pyusb `find` (tests)
    exclude_ports: list[str] = field(default_factory=list)  # a serial printer already known: never sent reader frames


def find_readers(space: SearchSpace) -> list[dict]:
    from devices.errors import DeviceError
    from devices.idcard.ports import candidate_ports
    from devices.idcard.reader import open_reader

    found = []
    for port in candidate_ports(space.exclude_ports, globs=space.reader_globs):
        try:
            reader = open_reader(port, "auto")
        except DeviceError:
            continue
        try:
            entry = {"port": port, "baud": reader.baud}
            try:
                entry["sam_id"] = reader.sam_id()
            except DeviceError:
                entry["sam_id"] = None
            found.append(entry)
        finally:
            reader.close()
    return found


def _printer_status(uri: str, **opts) -> dict | None:
    from devices.errors import DeviceError
    from devices.printer.printer import open_printer

    try:
        with open_printer(uri, **opts) as printer:
            st = printer.status(0.5)
    except DeviceError:
        return None
    return st


def _usb_printers(space: SearchSpace) -> list[str]:
    try:
        import usb.core
    except ImportError:
        return []
    try:
        devices = list(usb.core.find(find_all=True, bDeviceClass=0)) if space.usb_find is None else []
    except Exception:  # no backend (libusb missing), no permission: USB search is simply empty
        return []
    uris = []
    for dev in devices:
        try:
            for cfg in dev:
                for intf in cfg:
                    if intf.bInterfaceClass != 7:  # USB printer class
                        continue
                    eps = {ep.bEndpointAddress for ep in intf}
                    out_ep = min((e for e in eps if not e & 0x80), default=0x01)
                    in_ep = min((e for e in eps if e & 0x80), default=0x82)
                    uris.append(f"usb://{dev.idVendor:04x}:{dev.idProduct:04x}?in=0x{in_ep:02x}&out=0x{out_ep:02x}")
        except Exception:
            continue
    return sorted(set(uris))


def find_printers(space: SearchSpace, reader_ports: Iterable[str] = ()) -> list[dict]:
    import os

    found = []
    for uri in _usb_printers(space):
        st = _printer_status(uri)
        found.append({"uri": uri, "kind": "usb", "status": st["status"] if st else "no_answer",
                      "paper": st["paper"] if st else "unknown"})
    readers = {os.path.realpath(p) for p in reader_ports}
    seen: set[str] = set()
    for pattern in space.serial_globs:
        for port in sorted(glob.glob(pattern)):
            real = os.path.realpath(port)
            if real in readers or real in seen:
                continue
            seen.add(real)
            for baud in PRINTER_BAUDS:
                st = _printer_status(f"serial://{port}?baud={baud}")
                if st and st.get("online"):
                    found.append({"uri": f"serial://{port}?baud={baud}", "kind": "serial", "status": st["status"],
                                  "paper": st["paper"]})
                    break
    for pattern in space.lp_globs:
        for path in sorted(glob.glob(pattern)):
            found.append({"uri": f"file://{path}", "kind": "file", "status": "unknown", "paper": "unknown"})
    for host in space.printer_hosts:
        hostport = host if ":" in host else f"{host}:9100"
        uri = f"tcp://{hostport}"
        st = _printer_status(uri)
        if st is not None:
            found.append({"uri": uri, "kind": "tcp", "status": st["status"], "paper": st["paper"]})
    return found


def camera_modes(source: str, tries=CAMERA_TRY_MODES) -> list[list[int]]:
    """The modes the camera really delivers: each size is asked for and the frame that comes back is measured."""
    from devices.errors import DeviceError
    from devices.scanner.source import open_source

    modes: set[tuple[int, int]] = set()
    for w, h in tries:
        src = open_source(source, w, h)
        try:
            modes.add(tuple(src.open()))
        except DeviceError:
            return sorted(list(m) for m in modes)
        finally:
            src.close()
    return sorted((list(m) for m in modes), key=lambda m: m[0] * m[1])


def find_cameras(space: SearchSpace) -> list[dict]:
    sources = space.camera_sources
    if sources is None:
        sources = sorted(glob.glob("/dev/v4l/by-id/*-video-index0")) or sorted(glob.glob("/dev/video*"))[:4]
    found = []
    for source in sources:
        modes = camera_modes(source)
        if modes:
            found.append({"source": source, "modes": modes, "best": modes[-1]})
    return found


def discover(space: SearchSpace | None = None) -> Found:
    space = space or SearchSpace()
    readers = find_readers(space)
    return Found(readers, find_printers(space, [r["port"] for r in readers]), find_cameras(space))


def propose(base: Config, found: Found, *, outlet: str | None = None, hub_url: str | None = None,
            token: str | None = None, device_id: str | None = None) -> Config:
    """The config to test and write: the first reader, the first printer that answers, the sharpest camera."""
    cfg = copy.deepcopy(base)
    if found.readers:
        r = found.readers[0]
        cfg.devices.idcard.port, cfg.devices.idcard.baud = r["port"], str(r["baud"])
    printers = sorted(found.printers, key=lambda p: (p["status"] != "online", p["kind"] == "file"))
    if printers:
        cfg.devices.printer.uri = printers[0]["uri"]
    if found.cameras:
        best = max(found.cameras, key=lambda c: c["best"][0] * c["best"][1])
        cfg.devices.camera.source = best["source"]
        cfg.devices.camera.width = cfg.devices.camera.height = 0  # the highest mode, which it was seen to deliver
    if outlet is not None:
        cfg.kiosk.outlet = outlet
    if hub_url is not None:
        cfg.hub.url = hub_url
    if token is not None:
        cfg.hub.token = token
    if device_id is not None:
        cfg.kiosk.device_id = device_id
    cfg.devices.simulated = False
    return cfg
