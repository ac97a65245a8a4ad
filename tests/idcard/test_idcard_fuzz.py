"""Fuzzing the receiver and the card decoder: random, truncated and corrupted input never raises anything but
FrameError / InvalidData, never hangs, and never holds more than one frame's worth of bytes."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.errors import InvalidData
from devices.idcard import frames
from devices.idcard.card import decode_read_reply
from devices.idcard.frames import FrameDecoder, FrameError, parse_reply

from pathlib import Path

READ_FRAME = bytes.fromhex((Path(__file__).parent / "vectors" / "frame_R.hex").read_text().strip())

SMALL = [
    frames.encode_reply(0x90),
    frames.encode_reply(0x9F, bytes(4)),
    frames.encode_reply(0x90, bytes(8)),
    frames.encode_reply(0x90, bytes(16)),
]
fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _feed_all(decoder: FrameDecoder, stream: bytes, cuts: list[int]) -> list:
    out, pos = [], 0
    for cut in sorted(c % (len(stream) + 1) for c in cuts) + [len(stream)]:
        out += decoder.feed(stream[pos:cut])
        pos = max(pos, cut)
        assert decoder.buffered <= frames.HEADER_SIZE + frames.MAX_LEN
        assert decoder.bytes_needed() >= 1
    return out


@fuzz
@given(st.binary(max_size=3000), st.lists(st.integers(min_value=0, max_value=4000), max_size=20))
def test_random_bytes_never_crash_the_decoder(data, cuts):
    out = _feed_all(FrameDecoder(), data, cuts)
    for item in out:
        assert isinstance(item, (bytes, FrameError))
        if isinstance(item, bytes):
            parse_reply(item)  # anything the decoder hands out passes the strict check


@fuzz
@given(st.sampled_from(SMALL + [READ_FRAME]), st.binary(max_size=64), st.binary(max_size=64),
       st.lists(st.integers(min_value=0, max_value=1400), max_size=10))
def test_valid_frame_inside_garbage_is_found(frame, before, after, cuts):
    # garbage that happens to hold a preamble may swallow the frame; otherwise it must come out whole
    stream = before + frame + after
    out = _feed_all(FrameDecoder(), stream, cuts)
    if frames.PREAMBLE[:1] not in before and frames.PREAMBLE[:1] not in after:
        assert frame in out


@fuzz
@given(st.sampled_from(SMALL + [READ_FRAME]), st.data())
def test_corrupted_or_truncated_frames_fail_cleanly(frame, data):
    mode = data.draw(st.sampled_from(["truncate", "flip", "drop", "insert"]))
    buf = bytearray(frame)
    if mode == "truncate":
        buf = buf[:data.draw(st.integers(0, len(buf) - 1))]
    elif mode == "flip":
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] ^= data.draw(st.integers(1, 255))
    elif mode == "drop":
        i = data.draw(st.integers(0, len(buf) - 1))
        del buf[i:i + data.draw(st.integers(1, 20))]
    else:
        i = data.draw(st.integers(0, len(buf)))
        buf[i:i] = data.draw(st.binary(min_size=1, max_size=20))
    try:
        decode_read_reply(bytes(buf))
    except InvalidData as exc:
        assert exc.message
    FrameDecoder().feed(bytes(buf))


@fuzz
@given(st.binary(min_size=256, max_size=256))
def test_random_text_blocks_decode_or_fail_cleanly(text):
    frame = frames.encode_reply(0x90, (256).to_bytes(2, "big") + (1024).to_bytes(2, "big") + text + bytes(1024))
    try:
        card = decode_read_reply(frame)
    except InvalidData as exc:
        assert "frame byte" in exc.message
    else:
        assert set(card.to_dict()) >= {"card_type", "id_number"}
