"""The hub's upload volume: free-space checks, the reserve that lets the relay work on a full disk, and the
sweep of files the database no longer accounts for.

A full disk must not stop the relay, because delivering cases is what frees space (each relayed case's files
are deleted). So the hub keeps a reserve file in the upload directory; uploads are refused (507) while free
space is below the reserve, and when a write fails for lack of space the relay deletes the reserve, which
gives the database room to claim, record and purge. The reserve is re-created once space is back.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

log = logging.getLogger("kiosk.hub.storage")

RESERVE_NAME = ".reserve"
DEFAULT_RESERVE_BYTES = 16 * 1024 * 1024
PART_SUFFIX = ".part"
ORPHAN_GRACE_S = 3600.0  # a file with no row is removed only after this long (its creation may be in flight)


def free_bytes(path: Path) -> int:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 0


class Volume:
    def __init__(self, upload_dir: Path, reserve_bytes: int = DEFAULT_RESERVE_BYTES) -> None:
        self.upload_dir = Path(upload_dir)
        self.reserve_bytes = reserve_bytes
        self.reserve = self.upload_dir / RESERVE_NAME

    # -- space -------------------------------------------------------------------------------
    def has_room_for(self, nbytes: int) -> bool:
        """True when `nbytes` more still leave the reserve's worth of space free."""
        return free_bytes(self.upload_dir) >= nbytes + self.reserve_bytes

    def low(self) -> bool:
        return free_bytes(self.upload_dir) < self.reserve_bytes

    def ensure_reserve(self) -> bool:
        """Create the reserve file if it is missing and there is room; True if it exists afterwards."""
        if self.reserve_bytes <= 0:
            return True
        try:
            if self.reserve.exists() and self.reserve.stat().st_size >= self.reserve_bytes:
                return True
            if free_bytes(self.upload_dir) < 3 * self.reserve_bytes:
                return False  # not yet: the space is still needed
            with open(self.reserve, "wb") as f:
                block = b"\0" * (1 << 20)
                left = self.reserve_bytes
                while left > 0:
                    f.write(block[: min(left, len(block))])
                    left -= len(block)
                f.flush()
                os.fsync(f.fileno())
            return True
        except OSError:
            self.reserve.unlink(missing_ok=True)
            return False

    def release_reserve(self) -> bool:
        """Delete the reserve so the database can write again; True if there was one."""
        if self.reserve.exists():
            self.reserve.unlink(missing_ok=True)
            log.warning("disk full: released the hub's reserve so the relay can deliver and free space",
                        extra={"reserve_bytes": self.reserve_bytes})
            return True
        return False

    # -- files the database does not account for ------------------------------------------------
    def stray_files(self, known: set[str], now: float | None = None) -> list[Path]:
        """Upload files (and leftover chunk parts) older than the grace period whose id is not in `known`."""
        now = time.time() if now is None else now
        stray = []
        try:
            entries = list(os.scandir(self.upload_dir))
        except OSError:
            return stray
        for entry in entries:
            name = entry.name
            if name in (RESERVE_NAME, VOLUME_MARKER) or not entry.is_file(follow_symlinks=False):
                continue
            upload_id = name.split(".", 2)[1] if name.startswith(".") and name.endswith(PART_SUFFIX) else \
                name[:-4] if name.endswith(".bin") else None
            if upload_id is None:
                continue
            try:
                age = now - entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            if name.endswith(PART_SUFFIX):
                if age > ORPHAN_GRACE_S:
                    stray.append(Path(entry.path))
            elif upload_id not in known and age > ORPHAN_GRACE_S:
                stray.append(Path(entry.path))
        return stray


# -- one upload volume for every hub on a database ---------------------------------------------------
VOLUME_MARKER = ".volume-id"
VOLUME_SETTING = "upload_volume"


class VolumeMismatch(Exception):
    pass


def check_shared_volume(sessions, upload_dir: Path) -> str:
    """Make sure this hub's upload directory is the volume every other hub on this database uses.

    The first hub writes a random id into `<upload dir>/.volume-id` and into `hub_settings`; a hub started
    later on the same database must find the same id in its own upload directory, i.e. the same (shared)
    volume mounted there. A private directory would accept uploads the other hubs cannot read — a case then
    fails after the kiosk deleted its copy — so the hub refuses to start instead. An empty new directory is
    adopted only when the database holds no upload still waiting for delivery.
    """
    from sqlalchemy import func, select
    from sqlalchemy.exc import IntegrityError

    from kiosk.hub.models import HubSetting, Upload

    marker = Path(upload_dir) / VOLUME_MARKER
    try:
        local = marker.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        local = None
    with sessions() as s, s.begin():
        row = s.get(HubSetting, VOLUME_SETTING)
        if row is None:
            volume_id = local or os.urandom(16).hex()
            try:
                with s.begin_nested():
                    s.add(HubSetting(key=VOLUME_SETTING, value=volume_id))
            except IntegrityError:  # another hub registered its volume a moment ago
                volume_id = s.get(HubSetting, VOLUME_SETTING).value
        else:
            volume_id = row.value
        if local is None:
            waiting = s.scalar(select(func.count()).select_from(Upload).where(Upload.purged.is_(False)))
            if waiting and row is not None:
                raise VolumeMismatch(
                    f"the upload directory {upload_dir} is not the hub's upload volume (it has no {VOLUME_MARKER},"
                    f" and {waiting} upload(s) on this database live on volume {volume_id})")
            _write_marker(marker, volume_id)
        elif local != volume_id:
            raise VolumeMismatch(f"the upload directory {upload_dir} belongs to volume {local}, but the hubs on this"
                                 f" database use volume {volume_id}")
    return volume_id


def _write_marker(marker: Path, volume_id: str) -> None:
    tmp = marker.with_name(f"{marker.name}.{os.getpid()}.tmp")
    tmp.write_text(volume_id + "\n", encoding="ascii")
    os.replace(tmp, marker)
