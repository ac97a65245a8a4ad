"""The masking table of DESIGN §6, one rule per kind, with the examples given there."""
import pytest

from kiosk.privacy.masking import (
    mask_address,
    mask_document_number,
    mask_landline,
    mask_mapping,
    mask_mobile,
    mask_name,
    mask_phone,
)


@pytest.mark.parametrize(
    "raw, masked",
    [
        ("610324199001010063", "6*************0063"),
        ("USA123456789011101"[:0] + "U12345678901101", "U**********1101"),
        ("H12343456", "H****3456"),
        ("810000199001011234", "8*************1234"),
    ],
)
def test_document_numbers_keep_first_and_last_four(raw, masked):
    assert mask_document_number(raw) == masked


def test_mobile_keeps_three_and_four():
    assert mask_mobile("13712349050") == "137****9050"
    assert mask_phone("137 1234 9050") == "137****9050"


def test_landline_keeps_area_code_and_last_four():
    assert mask_landline("029-12345678") == "029-****5678"
    assert mask_phone("029-12345678") == "029-****5678"


@pytest.mark.parametrize("raw, masked", [("欧阳娜娜", "欧***"), ("张三", "张*"), ("SMITH JOHN", "S*********")])
def test_names_keep_first_character(raw, masked):
    assert mask_name(raw) == masked


def test_address_keeps_first_nine_characters():
    assert mask_address("陕西省西安市周至县二曲街道100号") == "陕西省西安市周至县******"


def test_mask_mapping_masks_by_field_name_and_drops_frames():
    out = mask_mapping({"name": "张三", "id_number": "610324199001010063", "raw_frame": "aaaaaa9669", "gender": "男"})
    assert out == {"name": "张*", "id_number": "6*************0063", "raw_frame": "[redacted]", "gender": "男"}
