"""ESC/POS command bytes we emit, with their sources (Epson ESC/POS Command Reference, download4.epson.biz/sec_pubs/pos/reference_en/escpos/).

Only what python-escpos 3.1 does not give us right: Kanji mode, sizes for double-byte text, the feed-and-cut,
the native QR block built from the command table (cross-checked in tests against `Dummy().qr(native=True)`),
and the real-time status and recovery commands.
"""
from __future__ import annotations

ESC, GS, FS, DLE, LF, EOT, ENQ = b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\n", b"\x04", b"\x05"

INIT = ESC + b"@"  # ESC @: initialise; Kanji mode returns to the model default
KANJI_ON = FS + b"&"  # FS &: select Kanji (double-byte) mode — GB18030/GBK on Simplified Chinese models
KANJI_OFF = FS + b"."  # FS .: cancel Kanji mode
ALIGN = {"left": 0, "center": 1, "right": 2}  # ESC a n


def align(name: str) -> bytes:
    return ESC + b"a" + bytes([ALIGN[name]])


def bold(on: bool) -> bytes:
    return ESC + b"E" + bytes([1 if on else 0])  # ESC E n: emphasised, applies to Kanji too


def size(width: int, height: int) -> bytes:
    # GS ! n: high nibble width−1, low nibble height−1; scales Kanji as well (ESC ! does not)
    return GS + b"!" + bytes([((width - 1) << 4) | (height - 1)])


def feed(lines: int) -> bytes:
    return ESC + b"d" + bytes([max(0, min(255, lines))])  # ESC d n: print and feed n lines


def cut(n: int = 0) -> bytes:
    return GS + b"V" + bytes([66, max(0, min(255, n))])  # GS V 66 n: feed to cut position + n, partial cut (Function B)


# GS ( k, cn = 49: QR code functions 165/167/169/180/181 (§3.2 of the printing reference)
QR_EC = {"L": 48, "M": 49, "Q": 50, "H": 51}
QR_MODEL_2 = 50


def _gs_k(fn_and_params: bytes) -> bytes:
    n = len(fn_and_params) + 1  # + cn
    return GS + b"(k" + bytes([n & 0xFF, n >> 8]) + b"1" + fn_and_params


def qr_native(payload: str, module_size: int = 6, ec: str = "M") -> bytes:
    data = payload.encode("utf-8")
    return (
        _gs_k(bytes([65, QR_MODEL_2, 0]))  # fn 165: model 2
        + _gs_k(bytes([67, module_size]))  # fn 167: module size in dots
        + _gs_k(bytes([69, QR_EC[ec]]))  # fn 169: error correction level
        + _gs_k(bytes([80, 48]) + data)  # fn 180: store data
        + _gs_k(bytes([81, 48]))  # fn 181: print the stored symbol
    )


# Real-time commands (DLE EOT n, DLE ENQ n) and the in-order paper sensor query GS r 1.
def dle_eot(n: int) -> bytes:
    return DLE + EOT + bytes([n])


RECOVER_CLEAR = DLE + ENQ + b"\x02"  # DLE ENQ 2: recover from a recoverable error after clearing the buffers
PAPER_SENSOR = GS + b"r\x01"  # GS r 1: answered only once every byte before it has been processed
