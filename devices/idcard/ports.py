"""Where the ID-card reader is: the candidate ports for `auto`, minus every port configured for another device.

Order: the udev symlink, then /dev/serial/by-id, then ttyUSB*, then ttyACM* (reference §9, DESIGN §7). A port
reserved for another device (e.g. a serial receipt printer) is never opened, so it never receives our frames.
"""
from __future__ import annotations

import glob
import os
from typing import Iterable

UDEV_LINK = "/dev/idcard"  # installed by deploy/udev rules
CANDIDATE_GLOBS = [UDEV_LINK, "/dev/serial/by-id/*", "/dev/ttyUSB*", "/dev/ttyACM*"]


def _real(path: str) -> str:
    return os.path.realpath(path)


def is_reserved(port: str, exclude_ports: Iterable[str]) -> bool:
    real = _real(port)
    return any(real == _real(p) or port == p for p in exclude_ports if p)


def candidate_ports(exclude_ports: Iterable[str] = (), globs: list[str] | None = None) -> list[str]:
    """Existing candidate ports in preference order, one name per device, reserved ports left out."""
    exclude = [p for p in exclude_ports if p]
    seen: set[str] = set()
    out: list[str] = []
    for pattern in globs if globs is not None else CANDIDATE_GLOBS:
        for path in sorted(glob.glob(pattern)):
            real = _real(path)
            if real in seen or not os.path.exists(path):
                continue
            seen.add(real)
            if is_reserved(path, exclude):
                continue
            out.append(path)
    return out


def serial_path_of(uri: str | None) -> str | None:
    """The device path of a `serial:///dev/ttyUSB1?baud=19200` URI (another device's port, to exclude); else None."""
    from urllib.parse import urlparse

    if not uri or not uri.startswith("serial://"):
        return None
    return urlparse(uri).path or None
