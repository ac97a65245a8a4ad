"""Shared fixtures for the ID-card tests: sample cards, simulators that always stop, a bounded wait."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from devices.idcard.simulator import SimulatedReader

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "devices" / "idcard" / "samples"
VECTORS = Path(__file__).resolve().parent / "vectors"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def vector(name: str) -> bytes:
    return bytes.fromhex((VECTORS / f"{name}.hex").read_text().strip())


def wait_for(predicate, timeout: float = 5.0, step: float = 0.02) -> bool:
    """Poll `predicate` until true or `timeout`; a bound, not a timing assertion."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


@pytest.fixture
def make_sim():
    sims: list[SimulatedReader] = []

    def factory(**kwargs) -> SimulatedReader:
        kwargs.setdefault("card_ms", 0)
        sim = SimulatedReader(**kwargs)
        sim.start()
        sims.append(sim)
        return sim

    yield factory
    for sim in sims:
        sim.stop()
