"""Optional WLT photo decoding through a vendor decoder (reference §7.1).

The 1024-byte photo on the card is in the proprietary "WLT" format; no open decoder is known, so the driver keeps
the raw bytes and decodes only when a vendor decoder is configured (`devices.idcard.photo_decoder`):

    "package.module:function"         a Python callable f(wlt: bytes, frame: bytes | None) -> bytes (a BMP file)
    "/opt/vendor/libwlt.so#symbol"     a C function  int symbol(const unsigned char *wlt, unsigned char *out, int flag)
                                       returning > 0 on success and writing either a BMP file or raw 102×126 BGR rows

The decoded photo is 102 × 126 pixels, 24-bit BGR; a BMP file of it is 38862 bytes (reference §7.1).
"""
from __future__ import annotations

import ctypes
import importlib
import struct
from typing import Callable

from devices.errors import DeviceAbsent, InvalidData

PHOTO_WIDTH, PHOTO_HEIGHT = 102, 126  # reference §7.1
RAW_PIXELS = PHOTO_WIDTH * PHOTO_HEIGHT * 3  # 38556
ROW_STRIDE = (PHOTO_WIDTH * 3 + 3) & ~3  # 308: BMP rows are padded to 4 bytes
BMP_SIZE = 14 + 40 + ROW_STRIDE * PHOTO_HEIGHT  # 38862
OUT_BUFFER = 40960  # generous: vendor decoders write up to a full BMP file

PhotoDecoder = Callable[[bytes, "bytes | None"], bytes]


def bmp_from_bgr(pixels: bytes, top_down: bool = True) -> bytes:
    """A BMP file from raw 102×126 BGR pixels (rows from the top when `top_down`)."""
    if len(pixels) != RAW_PIXELS:
        raise InvalidData("photo_invalid", f"decoded photo is {len(pixels)} bytes, expected {RAW_PIXELS}", "check the photo decoder")
    rows = [pixels[i * PHOTO_WIDTH * 3:(i + 1) * PHOTO_WIDTH * 3] for i in range(PHOTO_HEIGHT)]
    if top_down:
        rows.reverse()  # BMP stores the bottom row first
    pad = b"\x00" * (ROW_STRIDE - PHOTO_WIDTH * 3)
    body = b"".join(r + pad for r in rows)
    header = b"BM" + struct.pack("<IHHI", BMP_SIZE, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, PHOTO_WIDTH, PHOTO_HEIGHT, 1, 24, 0, len(body), 3780, 3780, 0, 0)
    return header + info + body


def _from_python(spec: str) -> PhotoDecoder:
    module_name, _, attr = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise DeviceAbsent("photo_decoder_missing", f"photo decoder {spec} cannot be loaded: {exc}",
                           "install the vendor's decoder or clear devices.idcard.photo_decoder") from None
    return fn


def _from_library(spec: str) -> PhotoDecoder:
    path, _, symbol = spec.partition("#")
    try:
        lib = ctypes.CDLL(path)
        fn = getattr(lib, symbol or "unpack")
    except (OSError, AttributeError) as exc:
        raise DeviceAbsent("photo_decoder_missing", f"photo decoder library {path} cannot be loaded: {exc}",
                           "install the vendor's decoder for this CPU, or clear devices.idcard.photo_decoder") from None
    fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
    fn.restype = ctypes.c_int

    def decode(wlt: bytes, frame: bytes | None = None) -> bytes:
        out = ctypes.create_string_buffer(OUT_BUFFER)
        if fn(bytes(wlt), out, 0) <= 0:
            raise InvalidData("photo_undecodable", "the vendor decoder could not decode the card photo",
                              "check the decoder's licence files; the card itself was read")
        raw = out.raw
        return raw[:BMP_SIZE] if raw[:2] == b"BM" else bmp_from_bgr(raw[:RAW_PIXELS])

    return decode


def load_photo_decoder(spec: str | None) -> PhotoDecoder | None:
    """The configured decoder, or None when none is configured."""
    if not spec:
        return None
    if ":" in spec and "/" not in spec:
        return _from_python(spec)
    return _from_library(spec)


def decode_photo(wlt: bytes, spec: str | None, frame: bytes | None = None) -> bytes | None:
    """The photo as a BMP file, or None when no decoder is configured."""
    decoder = load_photo_decoder(spec)
    if decoder is None:
        return None
    if len(wlt) != 1024:
        raise InvalidData("photo_invalid", f"card photo is {len(wlt)} bytes, expected 1024", "read the card again")
    return decoder(wlt, frame)
