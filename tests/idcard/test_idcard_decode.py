"""Card decoding against fixed vectors: the reference's §12.3 resident block and the 'J', 'I', 'Y' blocks built
by tools/make_idcard_vectors.py from the reference tables (not by our encoder)."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from devices.errors import InvalidData
from devices.idcard import frames
from devices.idcard.card import (
    JSON_KEYS, CardData, card_from_text, decode_address_reply, decode_read_reply, encode_address, encode_read_data,
)
from devices.idcard.codes import id_check_char, id_number_valid
from devices.idcard.frames import FrameError

from idcard_support import ROOT, VECTORS, sample, vector

EXPECTED = {
    "R": {
        "card_type": "resident", "name": "张三", "name_en": None, "gender": "男", "gender_code": "1", "ethnicity": "汉",
        "ethnicity_code": "01", "nationality_code": None, "birth_date": "1949-12-31", "valid_from": "2020-01-01",
        "valid_to": "长期", "expired": False, "address": "北京市西城区示例路1号", "address_latest": None,
        "id_number": "11010519491231002X", "id_number_valid": True, "issuer": "北京市公安局西城分局", "issuer_code": None,
        "pass_number": None, "issue_count": None, "photo_bytes": 1024, "fingerprint_bytes": 0,
    },
    "J": {
        "card_type": "gat_residence", "name": "陈示例", "name_en": None, "gender": "女", "gender_code": "2",
        "ethnicity": None, "ethnicity_code": None, "nationality_code": None, "birth_date": "1994-08-23",
        "valid_from": "2023-03-01", "valid_to": "2028-03-01", "address": "广东省珠海市香洲区样例路3号",
        "address_latest": None, "id_number": "820000199408230023", "id_number_valid": True, "issuer": "珠海市公安局",
        "issuer_code": None, "pass_number": "M87654321", "issue_count": "02", "photo_bytes": 1024, "fingerprint_bytes": 0,
    },
    "I": {
        "card_type": "foreign_permanent_2017", "name": "玛丽", "name_en": "OCONNOR-WHITE MARY ELIZABETH", "gender": "女",
        "gender_code": "2", "ethnicity": None, "ethnicity_code": None, "nationality_code": "IRL",
        "birth_date": "1978-04-20", "valid_from": "2017-06-15", "valid_to": "2027-06-15", "address": None,
        "address_latest": None, "id_number": "IRL310078042005", "id_number_valid": None, "issuer": None,
        "issuer_code": "3100", "pass_number": None, "issue_count": None, "photo_bytes": 1024, "fingerprint_bytes": 0,
    },
    "Y": {
        "card_type": "foreign_permanent_2023", "name": "安德森", "name_en": "ANDERSSON-LINDQVIST KARL JOHAN ERIK MAGNUSSON",
        "gender": "男", "gender_code": "1", "ethnicity": None, "ethnicity_code": None, "nationality_code": "SWE",
        "birth_date": "1980-02-29", "valid_from": "2024-01-10", "valid_to": "2034-01-10", "address": None,
        "address_latest": None, "id_number": "915752198002290014", "id_number_valid": True, "issuer": None,
        "issuer_code": None, "pass_number": None, "issue_count": "02", "photo_bytes": 1024, "fingerprint_bytes": 0,
    },
}


@pytest.mark.parametrize("kind", ["R", "J", "I", "Y"])
def test_fixed_vectors_decode_to_the_table_values(kind):
    doc = decode_read_reply(vector(f"frame_{kind}")).to_dict()
    assert list(doc) == list(JSON_KEYS)
    for key, value in EXPECTED[kind].items():
        assert doc[key] == value, key


def test_reference_resident_frame_is_byte_exact():
    frame = vector("frame_R")
    assert len(frame) == 1295 and frame[-1] == 0xCE  # §12.3
    assert frames.xor(vector("text_R")) == 0x56
    assert frame[:14] == bytes.fromhex("AAAAAA9669050800009001000400")


@pytest.mark.parametrize("kind", ["R", "J", "I", "Y"])
def test_our_encoder_reproduces_the_independent_vectors(kind):
    card = card_from_text(vector(f"text_{kind}"))
    card.raw_text = b""  # force a re-encode from the decoded fields
    card.card_version = card.card_version
    assert encode_read_data(card, False)[4:260] == vector(f"text_{kind}")


def test_vector_script_output_matches_committed_vectors(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_idcard_vectors.py"), str(tmp_path)], check=True,
                   capture_output=True)
    for path in VECTORS.glob("*.hex"):
        assert (tmp_path / path.name).read_text() == path.read_text(), path.name


def test_latest_address_reply_matches_reference():
    frame = frames.encode_reply(0x90, encode_address("北京市东城区示例街2号"))
    assert len(frame) == 81 and frame[5:7] == b"\x00\x4a" and frame[-1] == 0x4C  # §12.3
    assert decode_address_reply(frame) == "北京市东城区示例街2号"
    assert decode_address_reply(bytes.fromhex("AAAAAA9669000400009195")) is None


@pytest.mark.parametrize("fp_len,total", [(1024, 2321), (512, 1809), (0, 1297)])
def test_fingerprint_replies_by_their_lengths(fp_len, total):
    text = vector("text_R")
    fp = bytes([0x43]) + bytes(fp_len - 1) if fp_len else b""
    data = b"\x01\x00\x04\x00" + fp_len.to_bytes(2, "big") + text + bytes(range(256)) * 4 + fp
    frame = frames.encode_reply(0x90, data)
    assert len(frame) == total
    card = decode_read_reply(frame)
    assert card.id_number == "11010519491231002X"
    assert card.fingerprint == fp and card.photo == bytes(range(256)) * 4
    assert card.to_dict()["fingerprint_bytes"] == fp_len


def _block_with(offset: int, text: str) -> bytes:
    block = bytearray(vector("text_R"))
    raw = text.encode("utf-16-le")
    block[offset:offset + len(raw)] = raw
    return bytes(block)


def _frame(block: bytes) -> bytes:
    return frames.encode_reply(0x90, b"\x01\x00\x04\x00" + block + bytes(1024))


def test_unknown_codes_come_back_raw():
    card = decode_read_reply(_frame(_block_with(32, "77")))
    assert card.ethnicity == "77" and card.ethnicity_code == "77"
    card = decode_read_reply(_frame(_block_with(30, "7")))
    assert card.gender == "7"
    for code, name in (("0", "未知"), ("9", "未说明"), ("2", "女")):
        assert decode_read_reply(_frame(_block_with(30, code))).gender == name


def test_bad_date_names_the_frame_byte():
    with pytest.raises(FrameError) as info:
        decode_read_reply(_frame(_block_with(36, "19491331")))
    assert info.value.offset == 14 + 36 and "birth date" in info.value.message


def test_unknown_card_flag_is_rejected_with_its_byte():
    with pytest.raises(FrameError) as info:
        decode_read_reply(_frame(_block_with(248, "Q")))
    assert info.value.offset == 14 + 248


def test_wrong_lengths_and_wrong_status_are_rejected():
    with pytest.raises(FrameError, match="text length"):
        decode_read_reply(frames.encode_reply(0x90, b"\x00\x10\x00\x00" + bytes(16)))
    with pytest.raises(FrameError, match="do not add up"):
        decode_read_reply(frames.encode_reply(0x90, b"\x01\x00\x04\x00" + bytes(100)))
    with pytest.raises(FrameError, match="SW3 is 41"):
        decode_read_reply(bytes.fromhex("AAAAAA9669000400004145"))


@pytest.mark.parametrize("number,valid", [
    ("440308199901101512", True), ("810000199408230021", True), ("830000199201300022", True),
    ("500154199804106120", True), ("362324198001010014", True), ("430302199312194239", True),
    ("11010519491231002X", True), ("11010519491231002x", True), ("440308199901101513", False),
    ("500154199301135886", True), ("1101051949123100", False), ("ABC010519491231002", False),
])
def test_mod_11_2_check_digit(number, valid):
    assert id_number_valid(number) is valid


def test_expiry_against_today_and_long_term():
    card = CardData.from_dict(sample("resident"))
    assert card.is_expired(dt.date(2040, 5, 1)) is False
    assert card.is_expired(dt.date(2040, 5, 2)) is True
    card.valid_to = "长期"
    assert card.is_expired(dt.date(2999, 1, 1)) is False


@pytest.mark.parametrize("name", ["resident", "resident_expired", "gat_residence", "foreign_2017", "foreign_2023"])
def test_samples_are_consistent(name):
    d = sample(name)
    card = CardData.from_dict(d)
    doc = card.to_dict()
    assert list(doc) == list(JSON_KEYS) and set(d) == set(JSON_KEYS)
    for key in JSON_KEYS:
        assert doc[key] == d[key], key
    if card.id_number_valid is not None:
        assert id_check_char(card.id_number[:17]) == card.id_number[17]
    assert decode_read_reply(frames.encode_reply(0x90, encode_read_data(card, False))).to_dict()["id_number"] == d["id_number"]


def test_sample_expiry_flags():
    assert CardData.from_dict(sample("resident_expired")).expired is True
    assert CardData.from_dict(sample("resident")).expired is False
    assert sample("resident")["address"].startswith("陕西省西安市")


@pytest.mark.parametrize("change,words", [
    ({"card_type": "passport"}, "card_type"),
    ({"id_number": None}, "id_number is missing"),
    ({"birth_date": "1990/03/07"}, "birth_date must be YYYY-MM-DD"),
    ({"name": "名" * 16}, "name is too long"),
    ({"photo_bytes": -1}, "photo_bytes"),
    ({"raw_text_hex": "zz"}, "raw_text_hex"),
])
def test_from_dict_says_what_is_wrong(change, words):
    d = sample("resident")
    d.update(change)
    with pytest.raises(InvalidData, match=words):
        CardData.from_dict(d)


def test_raw_text_hex_reproduces_the_block():
    d = sample("resident")
    d["raw_text_hex"] = vector("text_I").hex()
    card = CardData.from_dict(d)
    assert card.card_type == "foreign_permanent_2017" and card.raw_text == vector("text_I")
    assert card.address_latest == d["address_latest"]


def test_card_repr_holds_no_personal_data():
    card = CardData.from_dict(sample("resident"))
    assert "王" not in repr(card) and card.id_number not in repr(card)
    assert "王" not in repr(frames.parse_reply(frames.encode_reply(0x90, encode_read_data(card, False))))
