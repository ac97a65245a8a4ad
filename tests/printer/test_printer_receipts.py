"""Decode-after-render round trips for every template at both widths; masking; bad data."""
from __future__ import annotations

import copy

import pytest

from devices.printer.decoder import Picture, decode, tokenize
from devices.printer.document import clean_text
from devices.printer.textwidth import display_width
from kiosk.errors import InvalidInput
from kiosk.receipt import KINDS, build_document, preview_png, render_receipt
from kiosk.receipt.templates import ACCEPTANCE_REQUIRED, PICKUP_REQUIRED, PROXY_REQUIRED, TEST_URL

ID = "610124199001010063"
PHONE = "13712349050"
NAME = "欧阳娜娜"
COMMON = {
    "receipt_no": "K0001-20261122-0007",
    "item_name": "不动产登记（首次登记）",
    "applicant_name": NAME,
    "applicant_id_number": ID,
    "phone": PHONE,
    "submitted_at": "2026-11-22T09:30:00+08:00",
    "outlet": "西安市雁塔区政务服务中心",
    "tracking_url": "https://zwfw.example.gov.cn/track/K0001-20261122-0007",
    "promised_by": "2026-12-06",
}
DATA = {
    "acceptance": {**COMMON, "delivery": "邮寄", "case_no": None, "pending_upload": False,
                   "materials": [{"name": "身份证复印件", "pages": 1}, {"name": "不动产权属证明", "pages": 3}]},
    "proxy": {**COMMON, "proxy_mode": "full_proxy", "proxy_scope": "代为提交材料、领取结果", "proxy_expires": "2026-12-31"},
    "pickup": {**COMMON, "result_name": "不动产权证书", "pickup_code": "8264", "pickup_place": "雁塔区政务服务中心 3 号窗口",
               "pickup_hours": "工作日 9:00-17:00", "case_no": "610113-2026-000123"},
    "test": {},
}
TITLES = {"acceptance": "受理回执", "proxy": "代办受理单", "pickup": "取件凭条", "test": "诊断测试页"}


def no_personal_data(escpos: bytes) -> None:
    for raw in (ID, PHONE, NAME, ID[-8:], PHONE[3:7] + PHONE[7:]):
        for enc in ("ascii", "gb18030", "utf-8"):
            try:
                needle = raw.encode(enc)
            except UnicodeEncodeError:
                continue
            if raw in (ID[-8:],):  # the last four stay; eight digits in a row must not
                assert needle not in escpos
            else:
                assert needle not in escpos, raw


@pytest.mark.parametrize("paper", [58, 80])
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(kind, paper):
    escpos = render_receipt(kind, copy.deepcopy(DATA[kind]), paper=paper)
    dec = decode(escpos)
    assert TITLES[kind] in dec.text
    assert dec.cuts == 1
    assert dec.qr_payloads == [DATA[kind].get("tracking_url", TEST_URL)]
    columns = {58: 32, 80: 48}[paper]
    for line in dec.lines:
        assert display_width(line.text) * max(r.width for r in line.runs) <= columns if line.runs else True
    no_personal_data(escpos)
    if kind != "test":
        assert "6*************0063" in dec.text
        assert "欧***" in dec.text
        assert "12345" in dec.text
    if kind in ("acceptance", "proxy"):
        assert "137****9050" in dec.text
    # nothing but the commands we know, and Chinese only inside Kanji mode
    for t in tokenize(escpos)[0]:
        if t.name == "text" and not t.kanji:
            assert t.raw.isascii()


def test_acceptance_content():
    dec = decode(render_receipt("acceptance", DATA["acceptance"]))
    text = dec.text
    for s in ("回执编号：K0001-20261122-0007", "办件编号：待分配", "办理事项：不动产登记（首次登记）", "结果送达：邮寄",
              "承诺办结：2026-12-06", "提交时间：2026-11-22 09:30", "身份证复印件（1 页）", "西安市雁塔区政务服务中心"):
        assert s in text, s


def test_times_print_in_china_time_whatever_zone_they_were_written_in():
    # a kiosk left on UTC wrote 18:05 on 12-02: in Beijing that is 02:05 on 12-03, the day in its receipt number
    for kind in ("acceptance", "proxy"):
        text = decode(render_receipt(kind, {**DATA[kind], "submitted_at": "2026-12-02T18:05:00+00:00"})).text
        assert "提交时间：2026-12-03 02:05" in text, kind


def test_pending_upload_prints_dai_shang_chuan():
    d = {**DATA["acceptance"], "pending_upload": True, "case_no": None}
    text = decode(render_receipt("acceptance", d)).text
    assert "办件编号：待上传" in text
    d = {**DATA["acceptance"], "case_no": "610113-2026-000123"}
    assert "办件编号：610113-2026-000123" in decode(render_receipt("acceptance", d)).text


def test_proxy_and_pickup_content():
    text = decode(render_receipt("proxy", DATA["proxy"])).text
    assert "全程代办" in text and "委托有效期至：2026-12-31" in text and "代为提交材料" in text
    dec = decode(render_receipt("pickup", DATA["pickup"]))
    code_line = next(ln for ln in dec.lines if ln.text == "8264")
    assert code_line.runs[0].width == 2 and code_line.height == 2
    assert "办件编号：610113-2026-000123" in dec.text


def test_hotline_from_config_and_from_data():
    assert "热线：96789" in decode(render_receipt("acceptance", DATA["acceptance"], hotline="96789")).text
    d = {**DATA["acceptance"], "hotline": "12328"}
    assert "热线：12328" in decode(render_receipt("acceptance", d, hotline="96789")).text


@pytest.mark.parametrize("kind,required", [("acceptance", ACCEPTANCE_REQUIRED), ("proxy", PROXY_REQUIRED), ("pickup", PICKUP_REQUIRED)])
def test_each_missing_key_is_named(kind, required):
    for key in required:
        d = copy.deepcopy(DATA[kind])
        d.pop(key)
        with pytest.raises(InvalidInput) as e:
            render_receipt(kind, d)
        assert repr(key) in e.value.message and e.value.action


def test_keys_a_kind_does_not_use_are_ignored():
    d = {**DATA["pickup"], "unused": {"x": 1}, "materials": "whatever"}
    assert decode(render_receipt("pickup", d)).cuts == 1


@pytest.mark.parametrize("key,value", [("submitted_at", "2026-11-22 09:30"), ("submitted_at", "yesterday"), ("promised_by", "soon"),
                                       ("delivery", "快递"), ("materials", "two"), ("materials", [{"pages": 1}]),
                                       ("materials", [{"name": "x", "pages": -1}]), ("tracking_url", "javascript:alert(1)"),
                                       ("tracking_url", "https://x.cn/\u4e2d"), ("pending_upload", "yes"), ("item_name", {"a": 1})])
def test_bad_values_are_clear_errors(key, value):
    d = {**DATA["acceptance"], key: value}
    with pytest.raises(InvalidInput) as e:
        render_receipt("acceptance", d)
    assert key in e.value.message


def test_not_a_dict_and_unknown_kind_and_bad_settings():
    with pytest.raises(InvalidInput):
        render_receipt("acceptance", ["a"])
    with pytest.raises(InvalidInput):
        render_receipt("invoice", {})
    with pytest.raises(InvalidInput):
        render_receipt("test", {}, paper=76)
    with pytest.raises(InvalidInput):
        render_receipt("test", {}, charset="utf8")


def test_5000_character_item_name_is_safely_truncated():
    d = {**DATA["acceptance"], "item_name": "不动产登记" * 1000}
    for paper in (58, 80):
        dec = decode(render_receipt("acceptance", d, paper=paper))
        texts = [ln.text for ln in dec.lines]
        start = next(i for i, t in enumerate(texts) if t.startswith("办理事项："))
        item_lines = [texts[start]]
        for t in texts[start + 1:]:
            if not t.startswith(" "):
                break
            item_lines.append(t)
        assert 1 <= len(item_lines) <= 6
        assert item_lines[-1].endswith("…")


CONTROL = "\x1b@\x1dV\x00\x10\x04\x02\x1c&\x0a\x0d\x07\x00\x7f\u200b\u202e\ufeff"


def test_control_characters_in_user_data_never_reach_the_wire():
    d = copy.deepcopy(DATA["acceptance"])
    d["applicant_name"] = f"张{CONTROL}三"
    d["item_name"] = f"{CONTROL}社保卡补办{CONTROL}"
    d["outlet"] = f"网点\x1bi{CONTROL}"
    d["materials"] = [{"name": f"材料{CONTROL}", "pages": 2}]
    escpos = render_receipt("acceptance", d)
    dec = decode(escpos)  # strict: a stray control byte or unknown command would raise
    assert "申 请 人：张*" in dec.text and "三" not in dec.text  # cleaned, then masked
    assert "社保卡补办" in dec.text
    # the printable remains of the injected commands ("@", "V", "&") are plain text, the rest is gone
    assert clean_text(f"张{CONTROL}三") == "张@V& 三"
    expected = decode(render_receipt("acceptance", {**DATA["acceptance"], "applicant_name": "张@V& 三",
                                                    "item_name": "@V& 社保卡补办@V&", "outlet": "网点i@V&",
                                                    "materials": [{"name": "材料@V&", "pages": 2}]}))
    assert dec.commands == expected.commands  # no extra command came from the data
    for forbidden in ("\x1b@\x1dV", "\x10\x04", "\u202e"):
        assert forbidden.encode("utf-8") not in escpos[2:]


def test_personal_values_quoted_in_other_fields_are_masked_too():
    d = {**DATA["acceptance"], "item_name": f"户籍证明（联系人 {PHONE}，证件 {ID}）"}
    escpos = render_receipt("acceptance", d)
    assert PHONE.encode() not in escpos and ID.encode() not in escpos


def test_rare_name_character_is_printed_as_a_picture():
    d = {**DATA["acceptance"], "applicant_name": "𠮷野家"}
    dec = decode(render_receipt("acceptance", d))
    assert "𠮷" not in dec.text
    assert len(dec.images) == 1  # the 申请人 line
    gbk = decode(render_receipt("acceptance", {**DATA["acceptance"], "applicant_name": "䶮四"}, charset="gbk"))
    assert len(gbk.images) == 1
    g18 = decode(render_receipt("acceptance", {**DATA["acceptance"], "applicant_name": "䶮四"}, charset="gb18030"))
    assert not g18.images and "申 请 人：䶮*" in g18.text


def test_image_qr_profile():
    escpos = render_receipt("acceptance", DATA["acceptance"], qr="image", paper=58)
    dec = decode(escpos)
    assert dec.qr_payloads == [] and len(dec.images) == 1 and dec.cuts == 1
    assert dec.images[0].width <= 384


def test_build_document_is_device_neutral():
    doc = build_document("pickup", DATA["pickup"])
    assert doc.blocks and not isinstance(doc.blocks[0], bytes)


def test_preview_png(tmp_path):
    from PIL import Image

    out = tmp_path / "r.png"
    preview_png(render_receipt("acceptance", DATA["acceptance"], paper=58), str(out), paper=58)
    img = Image.open(out)
    assert img.width == 384 + 32 and img.height > 600
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_optional_logo(tmp_path):
    from PIL import Image, ImageDraw

    logo = Image.new("L", (800, 120), 255)
    ImageDraw.Draw(logo).rectangle((10, 10, 790, 110), fill=0)
    path = tmp_path / "logo.png"
    logo.save(path)
    dec = decode(render_receipt("pickup", DATA["pickup"], paper=58, logo=str(path)))
    assert isinstance(dec.elements[0], Picture) and len(dec.images) == 1
    assert dec.images[0].width <= 384  # scaled to the paper
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(InvalidInput):
        render_receipt("pickup", DATA["pickup"], logo=str(tmp_path / "bad.png"))
