"""Who did something to a 代办 request, in the words a clerk reads: the hub records actors as `role:name`."""
from __future__ import annotations

from typing import Callable

from kiosk.i18n import N_

PERSON_ROLES = ("clerk", "runner", "window", "chief", "leader", "supervisor")
SYSTEM = N_("System")
KIOSK = N_("Kiosk {name}")
CHANNEL = N_("Channel {name}")


def actor_words(actor: str | None, tr: Callable[[str], str]) -> str:
    """A person's name, "Kiosk K0001", "Channel …" or "System" (the hub's own steps), translated by `tr`."""
    role, _, name = (actor or "").partition(":")
    if not name:
        return actor or "—"
    if role in PERSON_ROLES:
        return name
    if role == "hub":
        return tr(SYSTEM)
    if role == "kiosk":
        return tr(KIOSK).format(name=name)
    return tr(CHANNEL).format(name=name) if role == "channel" else name
