"""The counter's slips (代办受理单, 材料接收凭条, 取件凭条): masked, marked 培训 in training mode, complete; the
receipt QR read back from a camera picture."""
from __future__ import annotations

import io

import numpy as np
import pytest

from devices.printer.decoder import decode
from kiosk.counter.qr import read_receipt_qr, receipt_no_from_text
from kiosk.errors import InvalidInput
from kiosk.receipt.counter_slips import render_counter_slip

BASE = {"item_name": "城乡居民养老保险参保登记", "applicant_name": "欧阳娜娜", "applicant_id_number": "610113199001016789",
        "clerk": "李文华", "outlet": "雁塔邮政政务服务专区", "tracking_url": "https://zwfw.example.gov.cn/track?r=C0001-20261201-0001"}


def _text(kind, **data):
    return decode(render_counter_slip(kind, {**BASE, **data}))


@pytest.mark.parametrize("kind,extra,title", [
    ("proxy_acceptance", {"request_no": "HUB-20261201-7", "proxy_mode": "full_proxy", "accepted_at": "2026-12-01T10:00:00+08:00",
                          "mandate_status": "active", "mandate_scope": "代为申请并领取结果", "mandate_expires": "2026-12-31",
                          "phone": "13700009050"}, "代办受理单"),
    ("material_receipt", {"collection_no": "DS-O-POST-1-000001", "receipt_no": "K0002-20261130-0004",
                          "materials": [{"name": "户口簿", "pages": 2}], "accepted_at": "2026-12-01T10:00:00+08:00"}, "材料接收凭条"),
    ("handout", {"receipt_no": "K0002-20261130-0004", "recipient": "agent", "recipient_name": "陈志强",
                 "pickup_code": "042137", "handed_at": "2026-12-01T10:00:00+08:00"}, "取件凭条"),
])
def test_slips_are_masked_and_training_is_marked(kind, extra, title):
    real = _text(kind, **extra)
    assert title in real.text and "培训" not in real.text
    assert "欧阳娜娜" not in real.text and "610113199001016789" not in real.text and "13700009050" not in real.text
    assert "6****************9" in real.text or "6" in real.text
    assert "李文华" in real.text  # the clerk who acted is named
    training = _text(kind, training=True, **extra)
    assert training.text.count("培训") >= 2 and "无任何效力" in training.text
    assert training.qr_payloads == []  # nothing a citizen could scan as if it were real
    if kind == "handout":
        assert "陈志强" not in real.text and "代领人" in real.text.replace(" ", "")


def test_slip_times_are_chinas_and_the_promise_is_its_last_day():
    # the hub answers in UTC; its due time is 24:00 in China of the last working day (16:00 UTC)
    t = _text("proxy_acceptance", request_no="HUB-20261201-7", proxy_mode="full_proxy", phone="13700009050",
              accepted_at="2026-12-02T18:05:00+00:00", sla_due_at="2026-12-09T16:00:00+00:00").text
    assert "受理时间：2026-12-03 02:05" in t and "承诺办结：2026-12-09 前" in t


def test_missing_key_is_named():
    with pytest.raises(InvalidInput) as err:
        render_counter_slip("handout", {**BASE})
    assert "receipt_no" in str(err.value)


def test_postal_handout_shows_the_waybill_and_free_delivery():
    t = _text("handout", receipt_no="K0002-20261130-0004", recipient="post", waybill_no="EMS1234567890",
              handed_at="2026-12-01T10:00:00+08:00").text
    assert "EMS1234567890" in t and "免费" in t


def test_receipt_qr_under_the_camera():
    import qrcode
    from PIL import Image

    img = qrcode.make("https://zwfw.example.gov.cn/track?r=K0001-20261201-0007", box_size=6, border=4).convert("RGB")
    canvas = Image.new("RGB", (900, 700), (235, 230, 220))
    canvas.paste(img, (300, 200))
    assert read_receipt_qr(np.array(canvas)[:, :, ::-1].copy()) == "K0001-20261201-0007"
    assert read_receipt_qr(np.full((300, 300, 3), 200, np.uint8)) == ""
    assert receipt_no_from_text(" K0001-20261201-0007 ") == "K0001-20261201-0007"


def test_a_paper_mandate_photo_fits_the_hubs_signature_limit():
    import cv2

    from kiosk.counter.paper import MAX_SIGNATURE_BYTES, paper_png

    page = np.full((2448, 3264, 3), 235, np.uint8)
    cv2.putText(page, "WEITUOSHU 2026", (300, 1200), cv2.FONT_HERSHEY_SIMPLEX, 8, (20, 20, 20), 20)
    noisy = (np.random.default_rng(1).random((2448, 3264, 3)) * 255).astype(np.uint8)
    for still in (page, noisy):
        png = paper_png(still)
        assert png.startswith(b"\x89PNG") and len(png) <= MAX_SIGNATURE_BYTES
    assert cv2.imdecode(np.frombuffer(paper_png(page), np.uint8), cv2.IMREAD_GRAYSCALE).min() == 0  # the ink is there
