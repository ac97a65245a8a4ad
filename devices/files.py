"""Writing output files so that a reader never sees half of one: a temporary file in the same directory,
flushed and synced, then renamed over the target."""
from __future__ import annotations

import os
import tempfile
from typing import BinaryIO, Callable


def atomic_write(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], None], private: bool = False) -> None:
    """Write `data` (bytes, or a function that writes to the open file) to `path` atomically.

    The file gets the usual permissions for the umask, or 0600 with `private` (personal data).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
