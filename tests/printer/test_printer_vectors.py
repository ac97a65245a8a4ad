"""Fixed vectors built independently of our encoder: the byte stream of the printing reference §2 (python-escpos
3.1, written out by hand from the reference's hex) and QR blocks from the `GS ( k` table (§3.2), cross-checked
against python-escpos 3.1's own `Dummy().qr(native=True)`."""
from __future__ import annotations

import pytest
from escpos.printer import Dummy

from devices.printer import commands as C
from devices.printer.decoder import decode
from devices.printer.document import Document
from devices.printer.encoder import encode

URL = "https://zwfw.example.gov.cn/t/1"  # 31 bytes: pL = 0x22 as in the reference
URL_HEX = "68 74 74 70 73 3a 2f 2f 7a 77 66 77 2e 65 78 61 6d 70 6c 65 2e 67 6f 76 2e 63 6e 2f 74 2f 31"


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace("\n", " "))


# GB18030 of the texts, written from the code tables (not by .encode())
ZHENGWU_HUIZHI = "d5 fe ce f1 b7 fe ce f1 bb d8 d6 b4"  # 政务服务回执
BANLI_SHIXIANG = "b0 ec c0 ed ca c2 cf ee a3 ba b2 bb b6 af b2 fa b5 c7 bc c7"  # 办理事项：不动产登记
CASE_NO = "43 61 73 65 20 4e 6f 3a 20 32 30 32 36 2d 30 30 30 31"  # Case No: 2026-0001

# Reference §2: python-escpos 3.1, Dummy, profile TM-T20II.
REFERENCE_STREAM = h(f"""
1b 40
1d 21 11 1b 61 01
{ZHENGWU_HUIZHI} 0a
1b 21 00 1b 21 00 1b 21 00 1b 61 00
1b 74 00 {CASE_NO} 0a
{BANLI_SHIXIANG} 0a
3f 3f 0a
1d 28 6b 04 00 31 41 32 00
1d 28 6b 03 00 31 43 06
1d 28 6b 03 00 31 45 30
1d 28 6b 22 00 31 50 30 {URL_HEX}
1d 28 6b 03 00 31 51 30
1b 64 06 1d 56 00
""")

# The same content through our encoder: FS & ... FS . around every double-byte run (so "，。" prints),
# GS ! for the heading, the feed-and-cut GS V 66 0.
OUR_STREAM = h(f"""
1b 40 1c 2e
1b 61 01 1d 21 11 1c 26 {ZHENGWU_HUIZHI} 1c 2e 0a
1b 61 00 1d 21 00 {CASE_NO} 0a
1c 26 {BANLI_SHIXIANG} 1c 2e 0a
1c 26 a3 ac a1 a3 1c 2e 0a
1b 61 01
1d 28 6b 04 00 31 41 32 00
1d 28 6b 03 00 31 43 06
1d 28 6b 03 00 31 45 30
1d 28 6b 22 00 31 50 30 {URL_HEX}
1d 28 6b 03 00 31 51 30 0a
1b 61 00 1d 56 42 00
""")


def test_python_escpos_31_still_emits_the_reference_stream():
    d = Dummy(profile="TM-T20II")
    d.hw("INIT")
    d.set(custom_size=True, width=2, height=2, align="center")
    d.text("政务服务回执\n")
    d.set(normal_textsize=True, align="left")
    d.text("Case No: 2026-0001\n")
    d.text("办理事项：不动产登记\n")
    d.text("，。\n")
    d.qr(URL, native=True, size=6)
    d.cut()
    assert d.output == REFERENCE_STREAM


def test_decoder_reads_the_reference_stream_as_a_kanji_default_printer_would():
    dec = decode(REFERENCE_STREAM, kanji_default=True)
    assert dec.text.split("\n") == ["政务服务回执", "Case No: 2026-0001", "办理事项：不动产登记", "??"]
    assert dec.qr_payloads == [URL]
    assert dec.cuts == 1
    heading = dec.runs[0]
    assert (heading.width, heading.height, heading.align) == (2, 2, "center")


def test_reference_stream_without_kanji_mode_is_not_chinese():
    # what python-escpos 3.1 relies on: on a printer that does not start in Kanji mode the heading is garbage
    assert "政务" not in decode(REFERENCE_STREAM, kanji_default=False).text


def test_our_encoder_matches_the_hand_built_stream():
    doc = (Document().text("政务服务回执", align="center", width=2, height=2).text("Case No: 2026-0001")
           .text("办理事项：不动产登记").text("，。").qr(URL, module_size=6, ec="L").cut())
    assert encode(doc) == OUR_STREAM
    dec = decode(OUR_STREAM)
    assert dec.text.split("\n")[:4] == ["政务服务回执", "Case No: 2026-0001", "办理事项：不动产登记", "，。"]
    assert all(r.encoding == "gb18030" for r in dec.runs if not r.text.isascii())


def qr_block_from_table(data: bytes, size: int, ec: int) -> bytes:
    """GS ( k fn 165/167/169/180/181 straight from the reference table (§3.2)."""
    n = len(data) + 3
    return (bytes([0x1D, 0x28, 0x6B, 4, 0, 0x31, 0x41, 0x32, 0])
            + bytes([0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x43, size])
            + bytes([0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x45, ec])
            + bytes([0x1D, 0x28, 0x6B, n % 256, n // 256, 0x31, 0x50, 0x30]) + data
            + bytes([0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x51, 0x30]))


@pytest.mark.parametrize("payload", [URL, "https://zwfw.example.gov.cn/track/K0001-20261122-0007", "x" * 300, "查询 K0001"], ids=["url31", "url", "long300", "utf8"])
@pytest.mark.parametrize("size,ec_name,ec_escpos,ec_byte", [(3, "L", 0, 48), (6, "M", 1, 49), (8, "Q", 2, 50), (16, "H", 3, 51)])
def test_native_qr_block_matches_python_escpos_and_the_table(payload, size, ec_name, ec_escpos, ec_byte):
    ours = C.qr_native(payload, size, ec_name)
    d = Dummy()
    d.qr(payload, ec=ec_escpos, size=size, native=True)
    assert ours == d.output
    assert ours == qr_block_from_table(payload.encode("utf-8"), size, ec_byte)
    # and the long payload needs pH: 300 + 3 = 0x012f
    if len(payload) == 300:
        assert ours[28:30] == bytes([0x2F, 0x01])


def test_cut_and_status_commands_from_the_tables():
    assert C.cut(0) == h("1d 56 42 00")  # GS V 66 0
    assert C.cut(3) == h("1d 56 42 03")
    assert [C.dle_eot(n) for n in (1, 2, 3, 4)] == [h("10 04 01"), h("10 04 02"), h("10 04 03"), h("10 04 04")]
    assert C.RECOVER_CLEAR == h("10 05 02")
    assert C.PAPER_SENSOR == h("1d 72 01")
    assert (C.KANJI_ON, C.KANJI_OFF) == (h("1c 26"), h("1c 2e"))
