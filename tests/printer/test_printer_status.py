"""Status decoding for every DLE EOT bit pattern, for invalid replies and for silence (printing reference §3.4, §3.6)."""
from __future__ import annotations

import pytest

from devices.printer.status import Replies, is_status_byte, paper_state, printable, summarize

VALID = [b for b in range(256) if (b & 0x93) == 0x12]


def test_status_byte_form_is_0xx1xx10():
    assert len(VALID) == 16
    for b in range(256):
        expected = not (b & 0x01) and (b & 0x02) and (b & 0x10) and not (b & 0x80)
        assert is_status_byte(b) == bool(expected), hex(b)


@pytest.mark.parametrize("b,paper", [(0x12, "ok"), (0x1E, "near_end"), (0x72, "empty"), (0x7E, "empty"), (0x16, "ok"),
                                     (0x1A, "ok"), (0x32, "ok"), (0x52, "ok")])
def test_paper_sensor_examples(b, paper):
    # 0x16/0x1A have only one of the two near-end bits; 0x32/0x52 only one of the two paper-end bits
    assert paper_state(b).value == paper


@pytest.mark.parametrize("b", [0x00, 0x08, 0x20, 0x60, 0x13, 0x92, 0xFF, 0x10, 0x02])
def test_invalid_paper_bytes_are_unknown_never_ok(b):
    assert paper_state(b).value == "unknown"


@pytest.mark.parametrize("p1", VALID)
@pytest.mark.parametrize("p4", VALID)
def test_every_printer_and_paper_pattern(p1, p4):
    st = summarize(Replies(p1, 0x12, 0x12, p4))
    assert st["online"] is True
    near = (p4 & 0x0C) == 0x0C
    end = (p4 & 0x60) == 0x60
    assert st["paper"] == ("empty" if end else "near_end" if near else "ok")
    if end:
        assert st["status"] == "user_error"
    elif p1 & 0x08:
        assert st["status"] == "offline"
    else:
        assert st["status"] == "online"
    assert printable(st) == (not end and not p1 & 0x08)


@pytest.mark.parametrize("p2", VALID)
def test_every_offline_cause_pattern(p2):
    st = summarize(Replies(0x1A, p2, 0x12, 0x12))
    assert st["cover_open"] == bool(p2 & 0x04)
    if p2 & 0x20:
        assert st["paper"] == "empty"  # stopped by paper end
    if p2 & 0x04 or p2 & 0x20:
        assert st["status"] == "user_error"
        assert not printable(st)
    codes = {e["code"] for e in st["errors"]}
    assert ("cover_open" in codes) == bool(p2 & 0x04)


@pytest.mark.parametrize("p3", VALID)
def test_every_error_cause_pattern(p3):
    st = summarize(Replies(0x12, 0x12, p3, 0x12))
    assert st["cutter_error"] == bool(p3 & 0x08)
    if p3 & (0x04 | 0x08 | 0x20):
        assert st["status"] == "hardware_error"
    elif p3 & 0x40:
        assert st["status"] == "busy"
    else:
        assert st["status"] == "online"
    for e in st["errors"]:
        assert set(e) == {"code", "message", "action"} and e["action"]


def test_reference_examples():
    assert summarize(Replies(0x12, 0x12, 0x12, 0x12))["status"] == "online"
    assert summarize(Replies(0x12, 0x16, 0x12, 0x12))["cover_open"] is True
    assert summarize(Replies(0x12, 0x32, 0x12, 0x12))["paper"] == "empty"
    assert summarize(Replies(0x12, 0x52, 0x12, 0x12))["status"] == "online"  # "error occurred", cause in DLE EOT 3
    assert summarize(Replies(0x12, 0x12, 0x12, 0x1E))["paper"] == "near_end"
    assert summarize(Replies(0x12, 0x12, 0x12, 0x72))["paper"] == "empty"


def test_silence_is_offline_with_unknown_paper_never_ok():
    st = summarize(Replies())
    assert st == {"online": False, "status": "offline", "paper": "unknown", "cover_open": None, "cutter_error": None,
                  "errors": [st["errors"][0]]}
    assert st["errors"][0]["code"] == "printer_silent"
    assert not printable(st)


@pytest.mark.parametrize("garbage", [0x00, 0x08, 0x20, 0xFF])
def test_invalid_first_reply_counts_as_silence(garbage):
    # the ha-escpos emulator's 0x08 / 0x20 do not follow 0xx1xx10: not a status reply
    assert summarize(Replies(garbage, 0x12, 0x12, 0x12))["online"] is False


def test_later_silence_gives_unknown_fields_not_ok():
    st = summarize(Replies(0x12, None, None, None))
    assert st["paper"] == "unknown" and st["cover_open"] is None and st["cutter_error"] is None


def test_shape_matches_the_command_contract():
    st = summarize(Replies(0x12, 0x12, 0x12, 0x12))
    assert list(st) == ["online", "status", "paper", "cover_open", "cutter_error", "errors"]
