"""The installer PIN: its argon2 hash lives in the config (`installer.pin_hash`); wrong PINs make the next try
wait longer (1, 2, 4 … s after the third, up to 5 minutes), and the count survives a restart of the app.

    gate = PinGate(cfg.installer.pin_hash, state_file=data_dir / "installer-pin.json")
    gate.wait_s()         # > 0: the pad stays locked this long
    gate.check("123456")  # True, or False (and the next wait grows)
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kiosk.errors import InvalidInput

FREE_TRIES = 3  # a finger slips; the delay starts with the third wrong PIN in a row
MAX_DELAY_S = 300.0
PIN_RE = re.compile(r"\d{6,12}")
_hasher = PasswordHasher()


def hash_pin(pin: str) -> str:
    if not PIN_RE.fullmatch(pin or ""):
        raise InvalidInput("the installer PIN must be 6 to 12 digits", "choose a PIN of 6 to 12 digits")
    return _hasher.hash(pin)


def delay_after(failures: int) -> float:
    """Seconds to wait after `failures` wrong PINs in a row: 0, 0, 1, 2, 4, 8 … capped at MAX_DELAY_S."""
    if failures < FREE_TRIES:
        return 0.0
    return min(MAX_DELAY_S, 2.0 ** (failures - FREE_TRIES))


class PinGate:
    def __init__(self, pin_hash: str, state_file: str | os.PathLike | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.pin_hash = pin_hash
        self.state_file = Path(state_file) if state_file else None
        self.clock = clock
        self.failures = 0
        self.locked_until = 0.0
        self._load()

    @property
    def configured(self) -> bool:
        return bool(self.pin_hash)

    def _load(self) -> None:
        if self.state_file is None:
            return
        try:
            doc = json.loads(self.state_file.read_text("utf-8"))
            self.failures = int(doc.get("failures", 0))
            self.locked_until = float(doc.get("locked_until", 0.0))
        except (OSError, ValueError, TypeError):
            pass

    def _save(self) -> None:
        if self.state_file is None:
            return
        try:
            from devices.files import atomic_write

            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.state_file, json.dumps({"failures": self.failures, "locked_until": self.locked_until})
                         .encode(), private=True)
        except OSError:
            pass  # the delay still holds in memory

    def wait_s(self) -> float:
        return max(0.0, self.locked_until - self.clock())

    def check(self, pin: str) -> bool:
        """True for the right PIN. A try while locked counts as wrong without being checked."""
        if not self.configured or self.wait_s() > 0:
            return False
        try:
            ok = _hasher.verify(self.pin_hash, pin or "")
        except (VerificationError, InvalidHashError):
            ok = False
        if ok:
            self.failures, self.locked_until = 0, 0.0
        else:
            self.failures += 1
            self.locked_until = self.clock() + delay_after(self.failures)
        self._save()
        return ok
