"""One diagnostic check's result, its severity, the report's overall verdict and the exit status built from it.

A check keeps the device health shape (`device`, `status`, `level`, `details`, `errors[{code, message, action}]`)
and adds a stable `check` name (`hub.token`, `camera.focus`) and a `severity` (ok | warning | error).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from devices.model import DeviceErrorInfo, HealthLevel, HealthReport, Status
from kiosk.i18n import gettext

BAD = {Status.NO_DEVICE, Status.HARDWARE_ERROR, Status.OFFLINE}
SEVERITIES = ("ok", "warning", "error")

# Exit status of `kiosk diag` (docs/operations.md): the report is printed in every case.
EXIT_OK = 0
EXIT_WARNING = 6  # the kiosk works; something needs attention soon (paper near end, low-resolution camera)
EXIT_ERROR = 7  # at least one check failed: the kiosk cannot serve citizens fully


def translator(language: str) -> Callable[..., str]:
    """A `_(message, **values)` that translates into `language`, then fills the values in."""

    def _(message: str, **values) -> str:
        text = gettext(message, language)
        return text.format(**values) if values else text

    return _


@dataclass
class CheckResult:
    check: str  # stable name for scripts: "hub.token", "camera.focus"
    device: str
    level: HealthLevel
    status: Status = Status.ONLINE
    details: dict = field(default_factory=dict)
    errors: list[DeviceErrorInfo] = field(default_factory=list)
    severity: str | None = None  # None: derived from status and errors

    def fail(self, code: str, message: str, action: str, status: Status = Status.OFFLINE,
             severity: str | None = None) -> "CheckResult":
        self.status = status
        self.errors.append(DeviceErrorInfo(code, message, action))
        if severity is not None and (self.severity is None or SEVERITIES.index(severity) > SEVERITIES.index(self.severity)):
            self.severity = severity
        return self

    def warn(self, code: str, message: str, action: str) -> "CheckResult":
        return self.fail(code, message, action, Status.USER_ERROR if self.status == Status.ONLINE else self.status,
                         "warning")

    def final_severity(self) -> str:
        derived = "error" if self.status in BAD else ("warning" if self.errors or self.status != Status.ONLINE else "ok")
        if self.severity is None:
            return derived
        return max(self.severity, derived, key=SEVERITIES.index)

    def as_dict(self) -> dict:
        return {"check": self.check, "device": self.device, "status": self.status.value, "severity": self.final_severity(),
                "level": self.level.value, "details": self.details, "errors": [e.as_dict() for e in self.errors]}

    @classmethod
    def from_health(cls, check: str, report: HealthReport) -> "CheckResult":
        return cls(check, report.device, report.level, report.status, dict(report.details), list(report.errors))


def overall(checks: list[dict]) -> str:
    worst = max((SEVERITIES.index(c.get("severity", "ok")) for c in checks), default=0)
    return SEVERITIES[worst]


def exit_status(report: dict) -> int:
    return {"ok": EXIT_OK, "warning": EXIT_WARNING, "error": EXIT_ERROR}[report["overall"]]
