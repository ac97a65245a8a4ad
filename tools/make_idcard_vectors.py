#!/usr/bin/env python3
"""Build fixed test vectors for the ID-card decoder straight from the reference's offset tables.

Standalone on purpose: it imports nothing from devices/, so a layout mistake in the driver cannot be repeated
here and cancel itself out in a round trip. Writes hex files under tests/idcard/vectors/:

    text_<T>.hex   the 256-byte text block of a synthetic 'J', 'I' or 'Y' card (plus 'R', the §12.3 resident block)
    frame_<T>.hex  the same block in a 30 01 reply (1024-byte all-zero photo), 1295 bytes

Tables: reference/idcard-protocol.md §6.2 ('J'), §6.3 ('I'), §6.4 ('Y'), §6.1 (resident).
Usage: python tools/make_idcard_vectors.py [OUTDIR]
"""
from __future__ import annotations

import os
import sys

# (byte offset, byte size, value) per card type, copied from the reference tables; every field is UCS-2LE,
# space-padded to its size. Synthetic people only.
TABLES = {
    # §6.2 港澳台居民居住证: name 0/30, sex 30/2, reserved 32/4, birth 36/16, address 52/70, id 122/36,
    # authority 158/30, from 188/16, to 204/16, pass 220/18, issue count 238/4, reserved 242/6, flag 248/2, reserved 250/6
    "J": [
        (0, 30, "陈示例"), (30, 2, "2"), (32, 4, ""), (36, 16, "19940823"), (52, 70, "广东省珠海市香洲区样例路3号"),
        (122, 36, "820000199408230023"), (158, 30, "珠海市公安局"), (188, 16, "20230301"), (204, 16, "20280301"),
        (220, 18, "M87654321"), (238, 4, "02"), (242, 6, ""), (248, 2, "J"), (250, 6, ""),
    ],
    # §6.3 2017 外国人永久居留身份证: English name 0/120, sex 120/2, number 122/30, nationality 152/6,
    # Chinese name 158/30, issued 188/16, expires 204/16, birth 220/16, version 236/4, authority code 240/8, flag 248/2
    "I": [
        (0, 120, "OCONNOR-WHITE MARY ELIZABETH"), (120, 2, "2"), (122, 30, "IRL310078042005"), (152, 6, "IRL"),
        (158, 30, "玛丽"), (188, 16, "20170615"), (204, 16, "20270615"), (220, 16, "19780420"), (236, 4, "01"),
        (240, 8, "3100"), (248, 2, "I"), (250, 6, ""),
    ],
    # §6.4 2023 外国人永久居留身份证: Chinese name 0/30, sex 30/2, renewal count 32/4, birth 36/16,
    # English name chars 1-35 at 52/70, number 122/36, reserved 158/30, issued 188/16, expires 204/16,
    # English name chars 36-46 at 220/22, nationality 242/6, flag 248/2, previous-number link 250/6
    "Y": [
        (0, 30, "安德森"), (30, 2, "1"), (32, 4, "02"), (36, 16, "19800229"),
        (52, 70, "ANDERSSON-LINDQVIST KARL JOHAN ERIK"), (122, 36, "915752198002290014"), (158, 30, ""),
        (188, 16, "20240110"), (204, 16, "20340110"), (220, 22, " MAGNUSSON"), (242, 6, "SWE"), (248, 2, "Y"),
        (250, 6, ""),
    ],
}
# §12.3: the published synthetic resident block, verbatim.
RESIDENT_HEX = (
    "205F094E2000200020002000200020002000200020002000200020002000310030003100310039003400390031003200330031001753AC4E025E7F89CE57"
    "3A533A798B4FEF8D3100F7532000200020002000200020002000200020002000200020002000200020002000200020002000200020002000200020003100"
    "310030003100300035003100390034003900310032003300310030003000320058001753AC4E025E6C51895B405C7F89CE570652405C20002000200020002000"
    "320030003200300030003100300031007F951F67200020002000200020002000200020002000200020002000200020002000200020002000200020002000"
    "200020002000"
)


def build(table: list[tuple[int, int, str]]) -> bytes:
    block = bytearray(256)
    covered = 0
    for offset, size, value in table:
        assert offset == covered, f"gap or overlap at byte {offset}"
        raw = value.encode("utf-16-le")
        assert len(raw) <= size, f"{value!r} does not fit {size} bytes"
        block[offset:offset + size] = raw + b" \x00" * ((size - len(raw)) // 2)
        covered = offset + size
    assert covered == 256, "table does not cover 256 bytes"
    return bytes(block)


def frame_30_01(text: bytes) -> bytes:
    """§5.3: AA AA AA 96 69 | 05 08 | 00 00 90 | 01 00 | 04 00 | text | photo | XOR of bytes 5..end-1."""
    body = bytes([0x05, 0x08, 0x00, 0x00, 0x90, 0x01, 0x00, 0x04, 0x00]) + text + bytes(1024)
    check = 0
    for b in body:
        check ^= b
    return bytes([0xAA, 0xAA, 0xAA, 0x96, 0x69]) + body + bytes([check])


def write(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write(data.hex() + "\n")
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    outdir = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "idcard", "vectors")
    os.makedirs(outdir, exist_ok=True)
    blocks = {kind: build(table) for kind, table in TABLES.items()}
    blocks["R"] = bytes.fromhex(RESIDENT_HEX)
    for kind, text in blocks.items():
        assert len(text) == 256
        write(os.path.join(outdir, f"text_{kind}.hex"), text)
        write(os.path.join(outdir, f"frame_{kind}.hex"), frame_30_01(text))
    print(f"wrote {len(blocks) * 2} vectors to {os.path.normpath(outdir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
