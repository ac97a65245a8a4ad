"""Typed device errors. Each carries a stable `code`, a `message` and the `action` a person should take.

`exit_code` follows the command contract (DESIGN §5): 3 device absent, 4 timed out, 5 invalid input, 1 other.
"""
from __future__ import annotations


class DeviceError(Exception):
    """A device problem a person can act on."""

    exit_code = 1

    def __init__(self, code: str, message: str, action: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.action = action

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "action": self.action}

    def __str__(self) -> str:
        return f"{self.message} — {self.action}" if self.action else self.message


class DeviceAbsent(DeviceError):
    """Configured but not found, or cannot be opened (port missing, permission denied)."""

    exit_code = 3


class DeviceTimeout(DeviceError):
    """No answer, or nothing happened before the deadline."""

    exit_code = 4


class InvalidData(DeviceError):
    """Bytes or a file that cannot be what they claim to be (a corrupt frame, not an image)."""

    exit_code = 5
