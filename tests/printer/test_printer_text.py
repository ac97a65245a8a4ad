"""Chinese text: Kanji mode, widths, wrapping at 32/48 columns, charset coverage; the decoder and the PNG preview."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from devices.errors import InvalidData
from devices.printer.decoder import decode, tokenize
from devices.printer.document import Document, clean_text
from devices.printer.encoder import encode, encode_text_line
from devices.printer.fonts import FontMissing, cjk_font, font_location
from devices.printer.preview import render_png
from devices.printer.profile import PrinterProfile
from devices.printer.raster import text_image
from devices.printer.textwidth import display_width, truncate, wrap


def test_display_width():
    assert display_width("abc") == 3
    assert display_width("政务") == 4
    assert display_width("，。１２３") == 10
    assert display_width("…·") == 4  # ambiguous width: full-width cells in Kanji mode


@pytest.mark.parametrize("columns", [32, 48])
def test_wrap_by_display_width(columns):
    text = "办理事项：" + "不动产登记（首次登记）" * 5 + " https://zwfw.example.gov.cn/track/K0001-20261122-0007"
    lines = wrap(text, columns, indent=10)
    assert all(display_width(ln) <= columns for ln in lines)
    assert all(ln.startswith(" " * 10) for ln in lines[1:])
    assert "".join(ln.strip() for ln in lines).replace(" ", "") == text.replace(" ", "")


def test_wrap_keeps_ascii_words_whole():
    assert wrap("abc def ghi", 8) == ["abc def", "ghi"]


def test_truncate():
    assert truncate("政务服务中心", 8) == "政务服…"
    assert truncate("政务服务中心", 7) == "政务…"
    assert truncate("abc", 7) == "abc"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("政务服务，。１２３abc XYZ-/:（）【】…")), max_size=200), st.sampled_from([32, 48]),
       st.integers(0, 12))
def test_wrap_never_overflows_and_keeps_every_character(text, columns, indent):
    lines = wrap(text, columns, indent)
    assert all(display_width(ln) <= columns for ln in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_full_width_punctuation_and_digits_go_inside_fs_and():
    # python-escpos 3.1 prints "??" for these lines; we send them in Kanji mode
    assert encode_text_line("，。", "gb18030") == b"\x1c&\xa3\xac\xa1\xa3\x1c."
    assert encode_text_line("１２３", "gb18030") == b"\x1c&\xa3\xb1\xa3\xb2\xa3\xb3\x1c."
    assert encode_text_line("No.１号", "gbk") == b"No.\x1c&\xa3\xb1\xba\xc5\x1c."


def test_charset_coverage():
    gbk, g18 = PrinterProfile(charset="gbk"), PrinterProfile(charset="gb18030")
    assert gbk.has_char("政") and g18.has_char("政")
    assert not gbk.has_char("䶮") and g18.has_char("䶮")  # CJK Extension A: GB18030 only
    assert not gbk.has_char("𠮷") and not g18.has_char("𠮷")  # Extension B: not in level-2 fonts
    assert not g18.has_char("\x1b")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=120))
def test_any_text_round_trips_without_control_bytes(text):
    doc = Document().text(text).field("姓名：", text)
    escpos = encode(doc, PrinterProfile(paper=58))
    dec = decode(escpos)  # strict: raises on a stray control byte
    cleaned = clean_text(text)
    printable = all(PrinterProfile(paper=58).has_char(c) for c in cleaned)
    if printable and cleaned:
        assert dec.text.replace("\n", "").replace(" ", "").startswith(cleaned.replace(" ", "")[:10])
    for t in tokenize(escpos)[0]:
        assert t.name != "unknown"


def test_size_and_bold_runs():
    dec = decode(encode(Document().text("受理回执", width=2, height=2, bold=True, align="center").text("abc")))
    first, second = dec.lines[0].runs[0], dec.lines[1].runs[0]
    assert (first.width, first.height, first.bold, first.align, first.encoding, first.kanji) == (2, 2, True, "center", "gb18030", True)
    assert (second.width, second.bold, second.align, second.encoding) == (1, False, "left", "ascii")


def test_double_size_wraps_at_half_the_columns():
    dec = decode(encode(Document().text("政" * 20, width=2, height=2), PrinterProfile(paper=58)))
    assert [len(ln.text) for ln in dec.lines] == [8, 8, 4]


def test_decoder_rejects_unknown_and_truncated_streams():
    with pytest.raises(InvalidData):
        decode(b"\x1b@\x1b\x99")
    with pytest.raises(InvalidData):
        decode(b"\x1b@\x07")
    with pytest.raises(InvalidData):
        decode(b"\x1b@\x1d(k\x10\x00\x31")  # GS ( k cut off
    with pytest.raises(InvalidData):
        decode(b"\x1b@\x1d(k\x03\x00\x31\x51\x30")  # print QR with nothing stored


def test_tokenize_handles_partial_streams():
    data = encode(Document().text("政务服务").qr("https://x.cn/1").cut())
    for cut in range(1, len(data)):
        tokens, used, kanji = tokenize(data[:cut], strict=True)
        rest, used2, _ = tokenize(data[used:], strict=True, kanji=kanji)
        assert used + used2 == len(data)
        whole = tokenize(data)[0]
        assert b"".join(t.raw for t in tokens + rest) == data
        assert [t.name for t in tokens + rest if t.name != "text"] == [t.name for t in whole if t.name != "text"]
        # a cut never splits a double-byte character
        assert "".join(t.raw.decode("gb18030") for t in tokens + rest if t.name == "text") == "政务服务"


def test_font_is_the_simplified_chinese_face():
    assert cjk_font(24).getname()[0] == "Noto Sans CJK SC"
    path, index = font_location()
    assert index == 2


def test_missing_font_names_the_package(tmp_path):
    with pytest.raises(FontMissing) as e:
        font_location(str(tmp_path / "nope.ttc"))
    assert "fonts-noto-cjk" in e.value.action


def _ink(img: Image.Image) -> int:
    return sum(1 for v in img.convert("L").getdata() if v < 128)


def test_chinese_is_drawn_as_chinese_not_boxes():
    # a missing glyph draws the same .notdef box for any character; real glyphs differ from each other and from it
    box = text_image("\U000f0000")  # private use plane: no glyph
    a, b = text_image("政"), text_image("务")
    assert ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is not None
    assert ImageChops.difference(a.convert("L"), box.convert("L")).getbbox() is not None
    assert _ink(a) > 20


def test_preview_png_draws_text_qr_and_cut(tmp_path):
    out = tmp_path / "p.png"
    data = encode(Document().text("政务服务", align="center").qr("https://zwfw.example.gov.cn/t/1").cut(), PrinterProfile(paper=80))
    render_png(data, str(out), paper=80)
    img = Image.open(out)
    assert img.width == 576 + 32
    assert _ink(img) > 1000  # the QR code alone is hundreds of dark dots
    empty = tmp_path / "e.png"
    render_png(encode(Document().cut()), str(empty))
    assert _ink(img) > _ink(Image.open(empty))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_decoder_fuzz_raises_only_invalid_data(data):
    try:
        decode(data)
    except InvalidData:
        pass
    tokens, used, _ = tokenize(data, strict=False)
    assert b"".join(t.raw for t in tokens) == data[:used]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"\x1b@", b"\x1ba\x01", b"\x1c&", b"\x1c.", b"\xd5\xfe", b"abc", b"\n", b"\x1d!\x11",
                                 b"\x1d(k\x03\x001C\x06", b"\x1d(k\x05\x001P0ab\x1d(k\x03\x001Q0", b"\x1dVB\x00",
                                 b"\x1dv0\x00\x01\x00\x02\x00\xff\x0f", b"\x1bd\x02", b"\x10\x04\x01"]), max_size=40))
def test_decoder_on_well_formed_command_soup(parts):
    dec = decode(b"".join(parts))
    assert dec.cuts == parts.count(b"\x1dVB\x00")


def test_fonts_released_between_receipts_draw_the_same_text():
    """`release()` (at the end of each citizen's session) closes the faces that map the 19 MB CJK collection;
    the next receipt loads them again and draws exactly the same."""
    from devices.printer import fonts
    from kiosk.terminal import Terminal

    before = text_image("张三 No.12 受理", bold=True)
    assert fonts._load.cache_info().currsize > 0
    Terminal.release_fonts()
    assert fonts._load.cache_info().currsize == 0
    after = text_image("张三 No.12 受理", bold=True)
    assert ImageChops.difference(before, after).getbbox() is None
