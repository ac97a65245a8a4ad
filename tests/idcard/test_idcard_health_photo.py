"""Health reports of the reader, and the optional photo decoder plug-in."""
from __future__ import annotations

import sys
import types

import pytest

from devices.errors import DeviceAbsent, InvalidData
from devices.idcard import photo
from devices.idcard.health import health_check
from devices.model import HealthLevel, Status

from idcard_support import sample


def test_internal_health_reports_sam_id_without_personal_data(make_sim):
    sim = make_sim(card=sample("resident"))
    report = health_check(sim.port).as_dict()
    assert report["status"] == "online"
    assert report["details"]["sam_id"] == "05.01-20101129-0001228293-0296863149"
    assert (0x30, 0x01) not in sim.commands  # internal: no card read


def test_external_health_reads_a_card(make_sim):
    sim = make_sim(card=sample("resident"))
    report = health_check(sim.port, level=HealthLevel.EXTERNAL, card_timeout=3)
    assert report.status == Status.ONLINE and report.details["card_read"] is True
    assert "王小明" not in str(report.as_dict()) and "610113199003071237" not in str(report.as_dict())


def test_external_health_without_card(make_sim):
    sim = make_sim()
    report = health_check(sim.port, level=HealthLevel.EXTERNAL, card_timeout=0.3)
    assert report.details["card_read"] is False and report.errors[0].action


def test_health_missing_port(tmp_path):
    report = health_check(str(tmp_path / "none"))
    assert report.status == Status.NO_DEVICE and report.errors[0].code == "no_port"


def test_no_decoder_configured_means_no_photo():
    assert photo.decode_photo(bytes(1024), "") is None


def test_python_decoder_plugin(monkeypatch):
    module = types.ModuleType("fake_wlt_vendor")
    module.decode = lambda wlt, frame=None: photo.bmp_from_bgr(bytes([wlt[0]]) * photo.RAW_PIXELS)
    monkeypatch.setitem(sys.modules, "fake_wlt_vendor", module)
    bmp = photo.decode_photo(b"\x07" + bytes(1023), "fake_wlt_vendor:decode")
    assert bmp[:2] == b"BM" and len(bmp) == photo.BMP_SIZE == 38862
    assert bmp[54] == 7


def test_missing_decoders_say_what_to_do():
    with pytest.raises(DeviceAbsent, match="cannot be loaded"):
        photo.load_photo_decoder("no_such_vendor_module:decode")
    with pytest.raises(DeviceAbsent, match="cannot be loaded"):
        photo.load_photo_decoder("/nonexistent/libwlt.so#unpack")
    with pytest.raises(InvalidData):
        photo.bmp_from_bgr(bytes(10))


def test_bmp_rows_are_bottom_up():
    pixels = bytearray(photo.RAW_PIXELS)
    pixels[0:3] = b"\x01\x02\x03"  # top-left pixel
    bmp = photo.bmp_from_bgr(bytes(pixels))
    last_row = 54 + photo.ROW_STRIDE * (photo.PHOTO_HEIGHT - 1)
    assert bmp[last_row:last_row + 3] == b"\x01\x02\x03"
