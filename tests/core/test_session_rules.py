"""The citizen session: login rules, form validation, wiping."""
import datetime as dt

import pytest

from kiosk.privacy.masking import scrub
from kiosk.session import CardRefused, CitizenSession, add_working_days

CARD = {"name": "张三丰", "id_number": "610324199001010063", "id_number_valid": True, "valid_to": "2036-01-01",
        "expired": False, "address": "陕西省西安市周至县二曲街道100号", "address_latest": None, "card_type": "resident"}


def test_expired_card_is_refused_with_reason():
    s = CitizenSession()
    with pytest.raises(CardRefused) as err:
        s.login({**CARD, "valid_to": "2020-01-01", "expired": True})
    assert err.value.reason == "expired"
    assert not s.logged_in


def test_expiry_is_derived_when_the_flag_is_missing():
    s = CitizenSession()
    card = {k: v for k, v in CARD.items() if k != "expired"}
    with pytest.raises(CardRefused):
        s.login({**card, "valid_to": "2020-01-01"}, today=dt.date(2026, 11, 22))
    s.login({**card, "valid_to": "长期"}, today=dt.date(2026, 11, 22))
    assert s.logged_in


def test_bad_check_digit_is_refused():
    with pytest.raises(CardRefused) as err:
        CitizenSession().login({**CARD, "id_number_valid": False})
    assert err.value.reason == "check_digit"


def test_display_values_are_masked():
    s = CitizenSession()
    s.login(CARD)
    s.phone = "13712349050"
    assert s.display_name == "张**"
    assert s.display_id_number == "6*************0063"
    assert s.display_phone == "137****9050"
    assert s.display_address.startswith("陕西省西安市周至县") and "100号" not in s.display_address


def test_form_requires_a_mobile_number():
    s = CitizenSession()
    s.login(CARD)
    s.choose_service({"code": "X", "name": "居住证申领", "materials": [{"code": "M1", "name": "照片"}]})
    s.phone = "1371234"
    assert s.form_errors() == ["phone"]
    s.phone = "13712349050"
    assert s.form_errors() == []
    assert [m.name for m in s.missing_materials()] == ["照片"]


def test_wipe_forgets_everything_and_deletes_scratch(tmp_path):
    s = CitizenSession()
    s.login(CARD)
    s.scratch = tmp_path / "scratch"
    s.scratch.mkdir()
    (s.scratch / "page.pdf").write_bytes(b"%PDF")
    assert "张三丰" not in scrub("error for 张三丰")
    s.wipe()
    assert s.card is None and s.phone == "" and not (tmp_path / "scratch").exists()
    assert scrub("error for 张三丰") == "error for 张三丰"  # the session's values are no longer remembered


def test_working_days_skip_weekends():
    friday = dt.date(2026, 11, 20)
    assert add_working_days(friday, 1) == dt.date(2026, 11, 23)
    assert add_working_days(friday, 5) == dt.date(2026, 11, 27)


SERVICE = {"code": "R", "name": "居住证申领", "materials": [
    {"code": "M01", "name": "居民身份证", "name_en": "Resident ID card", "pages": 2, "required": True},
    {"code": "M02", "name": "居住证明", "pages": 1, "required": True}],
    "form_fields": [{"key": "residence_address", "label": "居住地址", "type": "address", "required": True},
                    {"key": "residence_since", "label": "来本市居住日期", "type": "date", "required": True},
                    {"key": "reason", "label": "申领事由", "type": "choice", "choices": ["就业", "就读"], "required": True}]}


def test_item_form_fields_block_until_valid_and_pages_follow_the_catalog(tmp_path):
    from kiosk import form_fields
    from kiosk.session import Page

    s = CitizenSession()
    s.login(CARD)
    s.choose_service(SERVICE)
    s.phone = "13712349050"
    assert s.form_errors() == ["fields"]
    s.form = {"residence_address": "雁塔区", "residence_since": "2099-01-01", "reason": "旅游"}
    reasons = {k: v[0] for k, v in form_fields.errors(s.form_fields, s.form, today=dt.date(2026, 1, 1)).items()}
    assert reasons == {"residence_address": form_fields.ADDRESS_TOO_SHORT, "residence_since": form_fields.FUTURE_DATE,
                       "reason": form_fields.NOT_A_CHOICE}
    s.form = {"residence_address": "雁塔区小寨东路1号", "residence_since": "20240301", "reason": "就业"}
    assert s.form_errors() == []
    assert form_fields.normalise(s.form_fields[1], s.form["residence_since"]) == "2024-03-01"
    # The ID card is two pages (front, back): one page does not complete it.
    card = s.materials[0]
    assert card.is_id_card and card.declared_pages == 2 and card.display_name("en") == "Resident ID card"
    card.pages.append(Page(tmp_path / "front.jpg"))
    assert [m.code for m in s.missing_materials()] == ["M01", "M02"]
    card.pages.append(Page(tmp_path / "back.jpg"))
    assert [m.code for m in s.missing_materials()] == ["M02"] and not card.can_add_page
    s.mailing_address = "短"
    s.delivery = "邮寄"
    assert s.form_errors() == ["mailing_address"]


def test_same_holder_and_english_greeting():
    s = CitizenSession()
    s.login({**CARD, "name_en": "GARCIA LOPEZ MARIA"})
    assert s.same_holder(dict(CARD)) and not s.same_holder({**CARD, "id_number": "610324199001010071"})
    assert s.greeting_name("en") == "Garcia L. M."
    s.login({**CARD, "address": None, "address_latest": None})
    assert s.display_address == "" and s.card_address == ""  # a foreigner's card: nothing to mail to
    assert s.greeting_name("zh_CN") == "张**"
