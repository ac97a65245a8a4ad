"""Who is working the counter: the clerk's session after sign-in (ID card + PIN), and its end.

The session holds the short-lived clerk token the hub issued; every clerk action is sent with it, so the
hub records it under the clerk's name. The clerk's own ID number is kept only as a salted digest, to tell
the clerk's card from a citizen's card on the reader.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from dataclasses import dataclass, field

from kiosk.privacy.masking import mask_name

ROLE_LEVEL = {"clerk": 0, "runner": 0, "window": 1, "chief": 2, "leader": 3}
SEAT_ROLES = ("window", "chief", "leader")  # escalation seats: what reached their level
IDLE_SIGN_OUT_S = float(os.environ.get("KIOSK_COUNTER_IDLE_SIGN_OUT_S", 15 * 60))

_SALT = os.urandom(16)  # per process: the digest means nothing outside this run of the app


def card_digest(id_number: str | None) -> str:
    return hashlib.sha256(_SALT + (id_number or "").strip().upper().encode()).hexdigest()


@dataclass
class ClerkSession:
    token: str
    person_id: int
    name: str
    role: str
    outlet_code: str
    outlet_name: str
    expires_at: dt.datetime
    session_id: str = ""
    training: bool = False
    card_digest: str = ""
    id_number: str = ""  # the clerk's own number, in memory for the shift: the agent on a 委托书
    started_monotonic: float = field(default_factory=time.monotonic)

    @classmethod
    def from_answer(cls, doc: dict, id_number: str, training: bool = False) -> "ClerkSession":
        person, outlet = doc.get("person") or {}, doc.get("outlet") or {}
        expires = dt.datetime.fromisoformat(str(doc["expires_at"]).replace("Z", "+00:00"))
        return cls(token=doc["token"], person_id=int(person.get("id", 0)), name=person.get("name", ""),
                   role=person.get("role", "clerk"), outlet_code=outlet.get("code", ""),
                   outlet_name=outlet.get("name", ""), expires_at=expires, session_id=str(doc.get("session_id", "")),
                   training=training, card_digest=card_digest(id_number), id_number=id_number)

    @property
    def level(self) -> int:
        return ROLE_LEVEL.get(self.role, 0)

    @property
    def is_seat(self) -> bool:
        return self.role in SEAT_ROLES

    @property
    def actor(self) -> str:
        """How the hub names this clerk in its records (`role:name`), for the local queue's display."""
        return f"{self.role}:{self.name}"

    def expired(self, now: dt.datetime | None = None) -> bool:
        now = now or dt.datetime.now(dt.timezone.utc)
        return now >= self.expires_at

    def is_own_card(self, id_number: str | None) -> bool:
        return bool(id_number) and card_digest(id_number) == self.card_digest

    def __repr__(self) -> str:  # never the token or the ID number in a log
        return f"ClerkSession(person_id={self.person_id}, role={self.role!r}, outlet={self.outlet_code!r})"

    def header_line(self) -> str:
        """The header: the clerk's name (staff, shown whole at their own counter), role and outlet."""
        return f"{self.name} · {self.outlet_name or self.outlet_code}"

    def masked_name(self) -> str:
        return mask_name(self.name) or ""
