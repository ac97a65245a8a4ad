"""Every card type through the simulated reader over a real pty, with pyserial, as on a kiosk; faults; probing."""
from __future__ import annotations

import time

import pytest

from devices.errors import DeviceAbsent, DeviceTimeout, InvalidData
from devices.idcard.card import JSON_KEYS
from devices.idcard.reader import read_card
from devices.idcard.sam import IdCardReader
from devices.idcard.status_codes import CardReadFailed

from idcard_support import sample

ALL = ["resident", "resident_expired", "gat_residence", "foreign_2017", "foreign_2023"]


@pytest.mark.parametrize("name", ALL)
def test_every_card_type_round_trips(make_sim, name):
    d = sample(name)
    sim = make_sim(card=d)
    doc = read_card(sim.port, timeout=5).to_dict()
    assert list(doc) == list(JSON_KEYS)
    expected = dict(d, fingerprint_bytes=0)  # 30 01 reads no fingerprint
    assert doc == expected
    if d["card_type"] in ("foreign_permanent_2017", "foreign_permanent_2023"):
        assert (0x30, 0x03) not in sim.commands  # no address on these cards: no 30 03
    else:
        assert (0x30, 0x03) in sim.commands


def test_fingerprint_only_when_asked(make_sim):
    sim = make_sim(card=sample("resident"))
    card = read_card(sim.port, timeout=5)
    assert card.fingerprint == b"" and (0x30, 0x10) not in sim.commands
    card = read_card(sim.port, timeout=5, fingerprint=True)
    assert len(card.fingerprint) == 1024 and card.fingerprint[0] == 0x43
    assert (0x30, 0x10) in sim.commands


def test_expired_card_is_read_not_refused(make_sim):
    sim = make_sim(card=sample("resident_expired"))
    card = read_card(sim.port, timeout=5)
    assert card.expired is True and card.address_latest is None


@pytest.mark.parametrize("rate", [57600, 9600])
def test_probe_finds_a_reader_left_at_another_rate_without_set_baud(make_sim, rate):
    sim = make_sim(card=sample("gat_residence"), faults=[f"wrong_baud:{rate}"])
    reader = IdCardReader(sim.port)
    try:
        assert reader.open() == rate
    finally:
        reader.close()
    assert read_card(sim.port, timeout=8).pass_number == "H12345678"
    assert not any(cmd == 0x60 for cmd, _ in sim.commands)  # 60 xx is stored in the SAM for good
    assert sim.baud == rate


def test_fixed_baud_does_not_probe_other_rates(make_sim):
    sim = make_sim(faults=["wrong_baud:19200"])
    with pytest.raises(DeviceTimeout, match="19200|115200"):
        IdCardReader(sim.port, baud=115200).open()
    reader = IdCardReader(sim.port, baud="19200")
    assert reader.open() == 19200
    reader.close()


def test_set_baud_only_when_asked(make_sim):
    sim = make_sim()
    reader = IdCardReader(sim.port)
    try:
        reader.open()
        assert reader.sam_id() == "05.01-20101129-0001228293-0296863149"
        reader.set_max_rf_bytes(80)
        reader.set_baud(38400)
        assert reader.baud == 38400 and sim.baud == 38400
        reader.sam_status()
        reader.set_baud(115200)
    finally:
        reader.close()
    assert [p for c, p in sim.commands if c == 0x60] == [0x02, 0x00]
    assert (0x61, 0xFF) in sim.commands


def test_bad_checksum_once_is_retried(make_sim):
    sim = make_sim(card=sample("resident"), faults=["bad_checksum"])
    assert read_card(sim.port, timeout=5).name == "王小明"
    assert sim.commands.count((0x30, 0x01)) == 2


def test_bad_checksum_always_is_invalid_data(make_sim):
    sim = make_sim(card=sample("resident"), faults=["bad_checksum:always"])
    with pytest.raises(InvalidData, match="checksum"):
        read_card(sim.port, timeout=1.5)


def test_dropped_bytes_are_detected_then_recovered(make_sim):
    sim = make_sim(card=sample("foreign_2023"), faults=["drop_bytes"])
    assert read_card(sim.port, timeout=5).name_en == "GARCIA LOPEZ MARIA FERNANDA ALEXANDRA"
    assert sim.commands.count((0x30, 0x01)) == 2


def test_no_answer_is_a_timeout(make_sim):
    sim = make_sim(card=sample("resident"), faults=["no_answer:always"])
    with pytest.raises(DeviceTimeout):
        read_card(sim.port, baud=115200, timeout=1)


def test_no_answer_once_during_polling_is_survived(make_sim):
    sim = make_sim(card=sample("resident"))
    reader = IdCardReader(sim.port)
    try:
        reader.open()
        sim._faults["no_answer"] = 1
        with pytest.raises(DeviceTimeout):
            reader.find()
        assert reader.find() is True
    finally:
        reader.close()


def test_card_removed_mid_read(make_sim):
    sim = make_sim(card=sample("resident"), faults=["removed_mid_read"])
    with pytest.raises(CardReadFailed) as info:
        read_card(sim.port, timeout=1)
    assert info.value.sw3 in (0x41, 0x81) and info.value.action
    assert sim.card is None


def test_no_card_before_timeout(make_sim):
    sim = make_sim()
    with pytest.raises(DeviceTimeout, match="no ID card"):
        read_card(sim.port, timeout=0.5)


def test_missing_port_is_device_absent(tmp_path):
    with pytest.raises(DeviceAbsent) as info:
        read_card(str(tmp_path / "nothing"), timeout=0.5)
    assert info.value.exit_code == 3


def test_single_module_refuses_a_second_read_until_replaced(make_sim):
    sim = make_sim(card=sample("resident"), module="single")
    reader = IdCardReader(sim.port)
    try:
        reader.open()
        assert reader.find() is True
        reader.read_card()
        assert reader.find() is False  # 不支持连读: the card stays but is not found again
        sim.remove()
        sim.place(sample("resident"))
        assert reader.find() is True
    finally:
        reader.close()


def test_continuous_module_keeps_finding(make_sim):
    sim = make_sim(card=sample("resident"), module="continuous")
    reader = IdCardReader(sim.port)
    try:
        reader.open()
        assert reader.find() is True
        reader.read_card()
        assert reader.find() is True
    finally:
        reader.close()


def test_a_reader_silent_when_opened_is_asked_again_within_the_card_timeout(make_sim):
    """A reader whose first answer is late (a busy machine, a port just reopened) is probed again until the
    card timeout, not reported as not answering at once."""
    sim = make_sim(card=sample("resident"), faults=["no_answer"])
    assert read_card(sim.port, baud=115200, timeout=5).name == "王小明"


def test_a_reader_that_never_answers_is_reported_when_the_card_timeout_ends(make_sim):
    sim = make_sim(card=sample("resident"), faults=["no_answer:always"])
    t0 = time.monotonic()
    with pytest.raises(DeviceTimeout) as failed:
        read_card(sim.port, baud=115200, timeout=1.0)
    assert failed.value.code == "no_answer" and time.monotonic() - t0 < 5
