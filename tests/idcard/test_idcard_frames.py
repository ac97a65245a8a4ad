"""Frame codec: the command and reply frames of the reference byte for byte, and the incremental decoder."""
from __future__ import annotations

import pytest

from devices.idcard import frames
from devices.idcard.frames import FrameDecoder, FrameError, encode_command, parse_reply
from devices.idcard.sam import format_sam_id
from devices.idcard.status_codes import (
    CardReadFailed, CardRejected, HostFrameRejected, NoCard, NoContent, SamFault, error_for_sw3,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# reference §3: every host frame, recomputed there
COMMAND_VECTORS = [
    ((0x10, 0xFF), b"", "AA AA AA 96 69 00 03 10 FF EC"),
    ((0x11, 0xFF), b"", "AA AA AA 96 69 00 03 11 FF ED"),
    ((0x12, 0xFF), b"", "AA AA AA 96 69 00 03 12 FF EE"),
    ((0x20, 0x01), b"", "AA AA AA 96 69 00 03 20 01 22"),
    ((0x20, 0x02), b"", "AA AA AA 96 69 00 03 20 02 21"),
    ((0x30, 0x01), b"", "AA AA AA 96 69 00 03 30 01 32"),
    ((0x30, 0x03), b"", "AA AA AA 96 69 00 03 30 03 30"),
    ((0x30, 0x10), b"", "AA AA AA 96 69 00 03 30 10 23"),
    ((0x60, 0x00), b"", "AA AA AA 96 69 00 03 60 00 63"),
    ((0x60, 0x01), b"", "AA AA AA 96 69 00 03 60 01 62"),
    ((0x60, 0x02), b"", "AA AA AA 96 69 00 03 60 02 61"),
    ((0x60, 0x03), b"", "AA AA AA 96 69 00 03 60 03 60"),
    ((0x60, 0x04), b"", "AA AA AA 96 69 00 03 60 04 67"),
    ((0x61, 0xFF), b"\x50", "AA AA AA 96 69 00 04 61 FF 50 CA"),
]


@pytest.mark.parametrize("cmd,data,expected", COMMAND_VECTORS)
def test_command_frames_match_reference(cmd, data, expected):
    assert encode_command(cmd[0], cmd[1], data) == h(expected)
    parsed = frames.parse_command(h(expected))
    assert (parsed.cmd, parsed.para, parsed.data) == (cmd[0], cmd[1], data)


# reference §12.1 and §12.2: captured and computed replies → SW3 and data length
REPLY_VECTORS = [
    ("AA AA AA 96 69 00 04 00 00 90 94", 0x90, 0),
    ("AA AA AA 96 69 00 04 00 00 60 64", 0x60, 0),
    ("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97", 0x9F, 4),
    ("AA AA AA 96 69 00 04 00 00 80 84", 0x80, 0),
    ("AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C", 0x90, 8),
    ("AA AA AA 96 69 00 04 00 00 81 85", 0x81, 0),
    ("AA AA AA 96 69 00 04 00 00 41 45", 0x41, 0),
    ("AA AA AA 96 69 00 04 00 00 10 14", 0x10, 0),
] + [(f"AA AA AA 96 69 00 04 00 00 {sw3} {chk}", int(sw3, 16), 0) for sw3, chk in [
    ("11", "15"), ("21", "25"), ("23", "27"), ("24", "20"), ("31", "35"), ("32", "36"), ("33", "37"),
    ("40", "44"), ("47", "43"), ("66", "62"), ("91", "95"),
]]


@pytest.mark.parametrize("hexframe,sw3,datalen", REPLY_VECTORS)
def test_reply_vectors_parse(hexframe, sw3, datalen):
    reply = parse_reply(h(hexframe))
    assert reply.sw3 == sw3
    assert len(reply.data) == datalen
    assert frames.encode_reply(sw3, reply.data) == h(hexframe)


def test_sam_id_capture_decodes_as_published():
    reply = parse_reply(h("AA AA AA 96 69 00 14 00 00 90 05 00 01 00 09 B8 32 01 05 BE 12 00 AD C5 B1 11 63"))
    assert format_sam_id(reply.data) == "05.01-20101129-0001228293-0296863149"


def test_read_headers_are_recognised():
    d = FrameDecoder()
    d.feed(h("AA AA AA 96 69 05 08 00 00 90 01 00 04 00"))
    assert d.bytes_needed() == 1295 - 14
    d = FrameDecoder()
    d.feed(h("AA AA AA 96 69 09 0A 00 00 90 01 00 04 00 04 00"))
    assert d.bytes_needed() == 2321 - 16


def test_sw3_decides_even_with_nonzero_sw1_sw2():
    reply = parse_reply(frames.encode_reply(0x41, sw1=0x6A, sw2=0x82))
    assert (reply.sw1, reply.sw2, reply.sw3) == (0x6A, 0x82, 0x41)
    assert isinstance(error_for_sw3(reply.sw3, "read"), CardReadFailed)


@pytest.mark.parametrize("sw3,cls", [
    (0x80, NoCard), (0x81, CardReadFailed), (0x41, CardReadFailed), (0x91, NoContent),
    (0x31, CardRejected), (0x32, CardRejected), (0x33, CardRejected), (0x40, CardRejected), (0x47, CardRejected),
    (0x60, SamFault), (0x66, SamFault), (0x10, HostFrameRejected), (0x11, HostFrameRejected),
    (0x21, HostFrameRejected), (0x23, HostFrameRejected), (0x24, HostFrameRejected), (0x55, HostFrameRejected),
])
def test_every_sw3_maps_to_a_typed_error_with_an_action(sw3, cls):
    err = error_for_sw3(sw3, "find card")
    assert isinstance(err, cls)
    assert err.sw3 == sw3 and f"{sw3:02X}" in err.message
    assert err.action and err.code == f"sam_{sw3:02x}"


def test_decoder_skips_garbage_and_joins_split_reads():
    frame = h("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
    d = FrameDecoder()
    out = []
    stream = b"\x00\xAA\x13\xAA\xAA" + frame + frame
    for i in range(len(stream)):  # one byte at a time
        out += d.feed(stream[i:i + 1])
    assert out == [frame, frame]
    assert d.discarded == 5


def test_decoder_reports_bad_checksum_and_recovers():
    good = h("AA AA AA 96 69 00 04 00 00 90 94")
    bad = good[:-1] + b"\x95"
    out = FrameDecoder().feed(bad + good)
    assert isinstance(out[0], FrameError) and "checksum" in out[0].message and out[0].offset == 10
    assert out[1] == good


def test_decoder_resyncs_past_an_overlong_length():
    good = h("AA AA AA 96 69 00 04 00 00 90 94")
    out = FrameDecoder().feed(h("AA AA AA 96 69 FF FF 00") + good)
    assert isinstance(out[0], FrameError) and "length" in out[0].message
    assert out[-1] == good


def test_decoder_waits_for_a_short_frame():
    good = h("AA AA AA 96 69 00 04 00 00 90 94")
    d = FrameDecoder()
    assert d.feed(good[:8]) == []
    assert d.bytes_needed() == 3
    assert d.feed(good[8:]) == [good]


@pytest.mark.parametrize("raw,offset,words", [
    ("AA AA AA 96 68 00 04 00 00 90 94", 4, "preamble"),
    ("AA AA AA 96 69 00 04 00 00 90 95", 10, "checksum"),
    ("AA AA AA 96 69 00 05 00 00 90 94", 11, "should be 12 bytes"),
    ("AA AA AA 96 69 00 02 00 00", 5, "minimum"),
    ("AA AA AA 96 69 7F FF 00 00 90 94", 5, "exceeds"),
    ("AA AA AA", 3, "shorter than"),
])
def test_parse_reply_names_the_failed_check_and_byte(raw, offset, words):
    with pytest.raises(FrameError) as info:
        parse_reply(h(raw))
    assert info.value.offset == offset
    assert words in info.value.message
    assert info.value.exit_code == 5


def test_parse_hex_accepts_spaces_and_rejects_junk():
    assert frames.parse_hex("aa aa\n AA:96 69") == h("AAAAAA9669")
    with pytest.raises(FrameError, match="character 2"):
        frames.parse_hex("aazz")
