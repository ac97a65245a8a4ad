"""Errors of the kiosk core that end a command with a contract exit code (DESIGN §5)."""
from __future__ import annotations


class KioskError(Exception):
    exit_code = 1

    def __init__(self, message: str, action: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.action = action

    def __str__(self) -> str:
        return f"{self.message} — {self.action}" if self.action else self.message


class InvalidInput(KioskError):
    """A data file, config value or argument that cannot be used."""

    exit_code = 5


class ConfigError(InvalidInput):
    """A config file with a bad value: names the file, the key and the reason."""

    def __init__(self, path: str, key: str, reason: str) -> None:
        super().__init__(f"{path}: {key}: {reason}", "fix the value in the config file, or remove the key to use the default")
        self.path = path
        self.key = key
        self.reason = reason


class Unavailable(KioskError):
    """A service (hub, platform) that cannot be reached."""

    exit_code = 3
