"""Writing the kiosk's config file (`kiosk setup`, the setup screen): every key as TOML, checked by reading it back
with the same loader the app uses, then written atomically — a crash or power cut mid-write leaves the old file.

The file keeps the old file's mode and owner (the service user must still read it; it holds the device token),
or gets 0640 when new.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Callable

from kiosk.config import Config, load_config
from kiosk.errors import ConfigError, InvalidInput

NEW_FILE_MODE = 0o640


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def dump_config(cfg: Config) -> str:
    """The whole config as TOML, one table per section, every key written out."""
    lines = [f"# Kiosk configuration written by `kiosk setup` on {dt.date.today().isoformat()}.",
             "# Every key is explained in deploy/kiosk.example.toml."]

    def table(name: str, obj: Any) -> None:
        scalars, nested = [], []
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            (nested if dataclasses.is_dataclass(value) else scalars).append((f.name, value))
        lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_value(value)}" for key, value in scalars)
        for key, value in nested:
            table(f"{name}.{key}", value)

    for f in dataclasses.fields(cfg):
        if f.name != "source":
            table(f.name, getattr(cfg, f.name))
    return "\n".join(lines) + "\n"


def write_config(cfg: Config, path: str | os.PathLike, on_partial: Callable[[], None] | None = None) -> Path:
    """Check `cfg`, write it to `path` atomically and return the path. `on_partial` runs when half the bytes are
    on disk (tests kill the writer there). Raises `InvalidInput` (what is wrong, what to do), never half-writes."""
    path = Path(path)
    text = dump_config(cfg)
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # a bug here, not the installer's: still refuse to write it
        raise InvalidInput(f"the config to write is not valid TOML ({exc})", "report this; the old file is kept") from None
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create {directory}: {exc.strerror}", "run `kiosk setup` with sudo, or choose"
                           " another --config path") from None
    try:
        old = path.stat()
    except FileNotFoundError:
        old = None
    data = text.encode("utf-8")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InvalidInput(f"cannot write in {directory}: {exc.strerror}", "run `kiosk setup` with sudo, or choose"
                           " another --config path") from None
    try:
        with os.fdopen(fd, "wb") as f:
            half = len(data) // 2
            f.write(data[:half])
            if on_partial is not None:
                f.flush()
                on_partial()
            f.write(data[half:])
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, (old.st_mode & 0o777) if old else NEW_FILE_MODE)
        if old is not None and os.geteuid() == 0:
            os.chown(tmp, old.st_uid, old.st_gid)
        try:
            load_config(tmp, env={})  # the app's own loader must accept it before it replaces anything
        except ConfigError as exc:
            raise InvalidInput(f"the new config was refused: {exc.key}: {exc.reason}",
                               "correct that value; the old file is kept") from None
        os.replace(tmp, path)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a power cut
        finally:
            os.close(dir_fd)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
