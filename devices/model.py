"""The device state model every peripheral follows (UnifiedPOS/XFS names; DESIGN §7)."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Lifecycle(str, enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    CLAIMED = "claimed"
    ENABLED = "enabled"


class Status(str, enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"  # present but not answering
    NO_DEVICE = "no_device"  # configured but not found (unplugged)
    HARDWARE_ERROR = "hardware_error"
    USER_ERROR = "user_error"  # a person can fix it: paper out, cover open
    BUSY = "busy"


class Paper(str, enum.Enum):
    OK = "ok"
    NEAR_END = "near_end"
    EMPTY = "empty"
    UNKNOWN = "unknown"


class HealthLevel(str, enum.Enum):
    INTERNAL = "internal"  # no side effects
    EXTERNAL = "external"  # may print a page or read a card
    INTERACTIVE = "interactive"  # asks the installer to act


@dataclass
class DeviceErrorInfo:
    code: str
    message: str
    action: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "action": self.action}


@dataclass
class HealthReport:
    device: str
    status: Status
    level: HealthLevel
    details: dict = field(default_factory=dict)
    errors: list[DeviceErrorInfo] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "device": self.device,
            "status": self.status.value,
            "level": self.level.value,
            "details": self.details,
            "errors": [e.as_dict() for e in self.errors],
        }
