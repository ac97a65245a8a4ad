"""The installer PIN: argon2 hash in the config, wrong PINs refused with a growing delay that survives a restart."""
import pytest

from kiosk.errors import InvalidInput
from kiosk.installer_pin import MAX_DELAY_S, PinGate, delay_after, hash_pin


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def pin_hash():
    return hash_pin("135790")


def test_right_pin_opens_wrong_pins_are_refused_with_a_growing_delay(pin_hash, tmp_path):
    clock = Clock()
    gate = PinGate(pin_hash, tmp_path / "pin.json", clock=clock)
    waits = []
    for _ in range(6):
        assert gate.check("000000") is False
        waits.append(gate.wait_s())
        clock.now += gate.wait_s()  # wait it out
    assert waits[:2] == [0.0, 0.0]
    assert waits[2:] == [1.0, 2.0, 4.0, 8.0]  # each wrong PIN doubles the wait
    assert gate.check("135790") is True
    assert gate.wait_s() == 0 and gate.failures == 0


def test_a_try_while_locked_is_refused_even_with_the_right_pin(pin_hash, tmp_path):
    clock = Clock()
    gate = PinGate(pin_hash, tmp_path / "pin.json", clock=clock)
    for _ in range(3):
        gate.check("111111")
    assert gate.wait_s() == 1.0
    assert gate.check("135790") is False  # not even looked at
    assert gate.failures == 3 and gate.wait_s() == 1.0
    clock.now += 1.0
    assert gate.check("135790") is True


def test_the_delay_survives_a_restart(pin_hash, tmp_path):
    clock = Clock()
    gate = PinGate(pin_hash, tmp_path / "pin.json", clock=clock)
    for _ in range(5):
        clock.now += gate.wait_s()
        gate.check("222222")
    again = PinGate(pin_hash, tmp_path / "pin.json", clock=clock)
    assert again.failures == 5 and again.wait_s() == 4.0


def test_delay_is_capped_and_pins_are_digits(pin_hash):
    assert delay_after(100) == MAX_DELAY_S
    with pytest.raises(InvalidInput):
        hash_pin("12ab")
    with pytest.raises(InvalidInput):
        hash_pin("123")
    assert PinGate("").check("135790") is False  # no PIN configured: the installer screens stay shut
