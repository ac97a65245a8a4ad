"""The outlet counter's services (no Kivy): the clerk's sign-in and shift, the hub calls of the counter
(queue, 代办, 代收, 代发), the local queue of clerk actions, SLA colours and training mode.

Screens under `screens/counter/` call these; the hub side is `kiosk.hub.counter`.
"""
from __future__ import annotations

import json
from pathlib import Path

SAMPLES = Path(__file__).with_name("samples")


def sample_card(name: str) -> dict:
    """A sample card of the counter's cast (clerk, window clerk, agent, a stranger): for training and tests."""
    return json.loads((SAMPLES / f"{name}.json").read_text("utf-8"))
