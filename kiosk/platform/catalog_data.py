"""The service items (事项) the platform simulator publishes: a realistic 办事指南 catalog and 一件事 bundles.

ILLUSTRATIVE DATA: every code, time limit, fee, place, hours and phone number here is made up for the demo and the
tests; none is a real registration. Item codes are opaque strings as the province issues them (see the domain
reference §2.1): a 12-character basic code (基本编码) and a 31-character implementation code (实施编码 = 18-character
unified credit code of the implementing department + level digit + basic code).

`SERVICES` holds every catalog entry: `kind` "item" for a single 事项 and "bundle" for a 一件事 (主题事项) whose
questionnaire (情形) decides which items and materials it takes (see `kiosk/bundles.py`). The five items the tests
were first written against come first and keep their codes.
"""
from __future__ import annotations

from kiosk.platform.catalog_tables import (BUNDLES, DEPARTMENTS, FIELDS, HOURS, HOURS_EN, ITEMS, LIFE_EVENTS,
                                           MATERIALS)

ILLUSTRATIVE_NOTE = "示例数据：本目录中的事项编码、时限、收费、地点和电话均为演示用的虚构值。"
ILLUSTRATIVE_NOTE_EN = "Illustrative data: codes, time limits, fees, places and phone numbers here are made up for the demo."
SUPERVISION_PHONE = "12345"
TYPE_NAMES = {"01": ("行政许可", "Administrative licence"), "04": ("行政征收", "Levy"), "05": ("行政给付", "Benefit"),
              "07": ("行政确认", "Administrative confirmation"), "10": ("其他类别事项", "Other"),
              "20": ("公共服务", "Public service")}
_LEGACY_DEPARTMENT = {"城乡居民养老保险参保登记": "hrss", "居住证申领": "police", "个体工商户设立登记": "market",
                      "残疾人证申领": "disabled", "高龄津贴申请": "civil"}
_LEGACY_EVENTS = {"城乡居民养老保险参保登记": ["elderly", "work"], "居住证申领": ["living"], "个体工商户设立登记": ["business"],
                  "残疾人证申领": ["medical", "relief"], "高龄津贴申请": ["elderly"]}
_IN_PERSON_REASONS = {
    "portrait": ("需本人到场采集人像和指纹", "The applicant must come in person to have the photo and fingerprints taken"),
    "both": ("须双方本人同时到场", "Both parties must come in person together"),
    "sign": ("须本人到场核验身份并当面签字", "The applicant must come in person to verify identity and sign"),
}
_FIELD_LABELS_EN = {"缴费档次（元/年）": "Contribution level (yuan a year)", "社保卡银行账号": "Social security card bank account",
                    "居住地址": "Address", "来本市居住日期": "Living in the city since", "申领事由": "Reason",
                    "个体工商户名称": "Business name", "经营范围": "Business scope", "经营场所": "Business premises",
                    "资金数额（万元）": "Capital (10,000 yuan)", "残疾类别": "Kind of disability", "监护人姓名": "Guardian's name"}
_CHOICES_EN = {"就业": "Work", "就读": "Study", "居住": "Residence", "视力": "Visual", "听力": "Hearing", "言语": "Speech",
               "肢体": "Physical", "智力": "Intellectual", "精神": "Mental", "多重": "Multiple"}
_MATERIAL_BY_NAME = {row[0]: row for row in MATERIALS.values()}
_EXTRA_MATERIAL_EN = {"户口簿（户主页及本人页）": "Household register (head's and own page)",
                      "居住证明（房屋租赁合同或房产证明）": "Proof of residence (lease or title)",
                      "就业或就读证明": "Proof of work or study", "经营场所使用证明": "Proof of business premises",
                      "个体工商户登记（备案）申请书": "Individual business registration form",
                      "社会保障卡（银行账户页）": "Social security card (bank account page)"}
_NOTE_EN = {"正反面": "both sides", "三选一": "one of three", "签字": "signed", "白底": "white background", "": ""}

ID_CARD = {"code": "M01", "name": "居民身份证", "required": True, "pages": 2, "note": "正反面"}

_LEGACY: list[dict] = [
    {
        "item_code": "11610113MB2951836X4000127003000",
        "basic_code": "000127003000",
        "name": "城乡居民养老保险参保登记",
        "name_en": "Urban and rural residents' pension insurance enrolment",
        "department": "西安市雁塔区人力资源和社会保障局",
        "type": "公共服务",
        "guide": "年满16周岁（不含在校学生）、非国家机关和事业单位工作人员及不属于职工基本养老保险制度覆盖范围的"
                 "城乡居民，可在户籍地申请参加城乡居民基本养老保险。申请人持居民身份证办理，"
                 "可现场选择缴费档次。",
        "materials": [ID_CARD, {"code": "M02", "name": "户口簿（户主页及本人页）", "required": True, "pages": 2, "note": ""}],
        "form_fields": [
            {"key": "contribution_level", "label": "缴费档次（元/年）", "type": "choice",
             "choices": ["200", "300", "500", "1000", "2000"], "required": True},
            {"key": "bank_account", "label": "社保卡银行账号", "type": "digits", "required": False},
        ],
        "promised_days": 5,
        "fee": "不收费",
        "delivery": ["自取", "邮寄", "网点代发"],
        "online_depth": 3,
        "proxy_allowed": True,
        "in_person_required": False,
    },
    {
        "item_code": "11610000MB1725039T2000140017000",
        "basic_code": "000140017000",
        "name": "居住证申领",
        "name_en": "Residence permit application",
        "department": "西安市公安局雁塔分局",
        "type": "行政确认",
        "guide": "离开常住户口所在地，到本市居住半年以上，符合有合法稳定就业、合法稳定住所、连续就读条件之一的"
                 "公民，可以申领居住证。首次申领需本人到场采集人像。",
        "materials": [ID_CARD,
                      {"code": "M02", "name": "居住证明（房屋租赁合同或房产证明）", "required": True, "pages": 1, "note": ""},
                      {"code": "M03", "name": "就业或就读证明", "required": False, "pages": 1, "note": "三选一"}],
        "form_fields": [
            {"key": "residence_address", "label": "居住地址", "type": "text", "required": True},
            {"key": "residence_since", "label": "来本市居住日期", "type": "date", "required": True},
            {"key": "reason", "label": "申领事由", "type": "choice", "choices": ["就业", "就读", "居住"], "required": True},
        ],
        "promised_days": 15,
        "fee": "首次申领不收费",
        "delivery": ["自取", "邮寄", "网点代发"],
        "online_depth": 2,
        "proxy_allowed": False,
        "in_person_required": True,
    },
    {
        "item_code": "11610113MB2968340W4000119021000",
        "basic_code": "000119021000",
        "name": "个体工商户设立登记",
        "name_en": "Registration of an individual business",
        "department": "西安市雁塔区市场监督管理局",
        "type": "行政许可",
        "guide": "有经营能力的公民从事工商业经营，经依法登记为个体工商户。经营者持居民身份证和经营场所使用证明办理；"
                 "材料齐全、符合法定形式的当场办结。",
        "materials": [ID_CARD,
                      {"code": "M02", "name": "经营场所使用证明", "required": True, "pages": 1, "note": ""},
                      {"code": "M03", "name": "个体工商户登记（备案）申请书", "required": True, "pages": 2, "note": "签字"}],
        "form_fields": [
            {"key": "business_name", "label": "个体工商户名称", "type": "text", "required": False},
            {"key": "business_scope", "label": "经营范围", "type": "text", "required": True},
            {"key": "premises_address", "label": "经营场所", "type": "text", "required": True},
            {"key": "capital", "label": "资金数额（万元）", "type": "number", "required": True},
        ],
        "promised_days": 3,
        "fee": "不收费",
        "delivery": ["自取", "邮寄", "网点代发"],
        "online_depth": 4,
        "proxy_allowed": True,
        "in_person_required": False,
    },
    {
        "item_code": "11610113MB2903517Q4000107032000",
        "basic_code": "000107032000",
        "name": "残疾人证申领",
        "name_en": "Disability certificate application",
        "department": "西安市雁塔区残疾人联合会",
        "type": "行政确认",
        "guide": "符合残疾标准的本区户籍居民，持居民身份证、户口簿和近期免冠照片提出申请，"
                 "经指定医疗机构评定残疾类别和等级后核发。",
        "materials": [ID_CARD,
                      {"code": "M02", "name": "户口簿", "required": True, "pages": 2, "note": ""},
                      {"code": "M03", "name": "近期二寸免冠彩色照片", "required": True, "pages": 1, "note": "白底"}],
        "form_fields": [
            {"key": "disability_kind", "label": "残疾类别", "type": "choice",
             "choices": ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"], "required": True},
            {"key": "guardian_name", "label": "监护人姓名", "type": "text", "required": False},
        ],
        "promised_days": 20,
        "fee": "不收费",
        "delivery": ["自取", "邮寄", "网点代发"],
        "online_depth": 2,
        "proxy_allowed": True,
        "in_person_required": False,
    },
    {
        "item_code": "11610113MB2951836X4000105044000",
        "basic_code": "000105044000",
        "name": "高龄津贴申请",
        "name_en": "Old-age allowance application",
        "department": "西安市雁塔区民政局",
        "type": "行政给付",
        "guide": "具有本市户籍、年满80周岁的老年人，可申请高龄津贴，按月发放至本人社会保障卡。"
                 "本人行动不便的，可由亲属或网点代办员代办。",
        "materials": [ID_CARD, {"code": "M02", "name": "社会保障卡（银行账户页）", "required": True, "pages": 1, "note": ""}],
        "form_fields": [
            {"key": "bank_account", "label": "社保卡银行账号", "type": "digits", "required": True},
        ],
        "promised_days": 10,
        "fee": "不收费",
        "delivery": ["自取", "网点代发"],
        "online_depth": 3,
        "proxy_allowed": True,
        "in_person_required": False,
    },
]


def _limit_text(promised: int, legal: int) -> tuple[str, str]:
    if promised == 0:
        return ("即办（材料齐全、符合法定形式的当场办结）；法定时限{}个工作日".format(legal),
                "On the spot when the papers are complete; statutory limit {} working days".format(legal))
    return ("自受理之日起{}个工作日内办结（承诺时限）；法定时限{}个工作日".format(promised, legal),
            "Within {} working days of acceptance (promised); statutory limit {} working days".format(promised, legal))


def _department(key: str) -> dict:
    name, name_en, short, short_en, credit, place, place_en, phone = DEPARTMENTS[key]
    return {"department": name, "department_en": name_en, "department_key": key, "category": short,
            "category_en": short_en, "place": place, "place_en": place_en, "hours": HOURS, "hours_en": HOURS_EN,
            "phone": phone, "supervision_phone": SUPERVISION_PHONE, "_credit": credit}


def _material(code: str, key: str) -> dict:
    name, name_en, originals, copies, pages, note, note_en = MATERIALS[key]
    return {"code": code, "name": name, "name_en": name_en, "required": True, "pages": pages, "note": note,
            "note_en": note_en, "originals": originals, "copies": copies,
            "form": "原件" if copies == 0 else ("复印件" if originals == 0 else "原件和复印件")}


def _field(key: str) -> dict:
    label, label_en, kind, choices, choices_en, required, extra = FIELDS[key]
    field = {"key": key, "label": label, "label_en": label_en, "type": kind, "required": required, **extra}
    if choices:
        field["choices"], field["choices_en"] = list(choices), list(choices_en)
    return field


def _in_person_reason(name: str, dept_key: str) -> tuple[str, str]:
    if "结婚" in name or "离婚" in name:
        return _IN_PERSON_REASONS["both"]
    if dept_key == "police" or "护照" in name or "通行证" in name:
        return _IN_PERSON_REASONS["portrait"]
    return _IN_PERSON_REASONS["sign"]


def _common(entry: dict, dept_key: str, promised: int, legal: int, fee: str | None, events: list[str]) -> dict:
    dept = _department(dept_key)
    credit = dept.pop("_credit")
    entry.update(dept)
    limit, limit_en = _limit_text(promised, legal)
    entry.setdefault("promised_days", promised)
    entry.update({
        "kind": "item", "credit_code": credit, "case_kind": "即办件" if promised == 0 else "承诺件",
        "case_kind_en": "Immediate" if promised == 0 else "Promised deadline",
        "legal_limit": {"value": legal, "unit": "工作日", "unit_en": "working days"},
        "promised_limit": {"value": promised, "unit": "工作日", "unit_en": "working days"},
        "limit_text": limit, "limit_text_en": limit_en,
        "fee": fee or "不收费", "fee_en": _fee_en(fee), "charged": bool(fee),
        "life_events": events, "visits": 0 if entry.get("online_depth", 1) >= 4 else 1,
        "illustrative": True,
    })
    if entry.get("in_person_required"):
        entry["in_person_reason"], entry["in_person_reason_en"] = _in_person_reason(entry["name"], dept_key)
    return entry


def _fee_en(fee: str | None) -> str:
    if not fee:
        return "Free of charge"
    digits = "".join(ch for ch in fee.split("（")[0] if ch.isdigit())
    return f"Charged: {digits} yuan (illustrative)" if digits else "Charged at the approved rate (illustrative)"


def _legacy() -> list[dict]:
    out = []
    for raw in _LEGACY:
        entry = {k: (list(v) if isinstance(v, list) else v) for k, v in raw.items()}
        entry["materials"] = [dict(m) for m in raw["materials"]]
        for m in entry["materials"]:
            lib = _MATERIAL_BY_NAME.get(m["name"])
            m["name_en"] = lib[1] if lib else _EXTRA_MATERIAL_EN.get(m["name"], m["name"])
            m["note_en"] = _NOTE_EN.get(m.get("note", ""), m.get("note", ""))
            m.setdefault("originals", 1)
            m.setdefault("copies", 1)
        entry["form_fields"] = [dict(f) for f in raw["form_fields"]]
        for f in entry["form_fields"]:
            f["label_en"] = _FIELD_LABELS_EN.get(f["label"], f["label"])
            if f.get("choices"):
                f["choices_en"] = [_CHOICES_EN.get(c, c) for c in f["choices"]]
        entry["guide_en"] = f"{entry['name_en']}. Bring the materials listed below. (Illustrative guide.)"
        entry["type_code"] = {"公共服务": "20", "行政确认": "07", "行政许可": "01", "行政给付": "05"}[entry["type"]]
        entry["type_en"] = TYPE_NAMES[entry["type_code"]][1]
        days = entry["promised_days"]
        fee = None if entry["fee"] == "不收费" else entry["fee"]
        _common(entry, _LEGACY_DEPARTMENT[entry["name"]], days, max(days * 2, 20), fee, _LEGACY_EVENTS[entry["name"]])
        entry["fee"] = raw["fee"]
        entry["fee_en"] = "Free of charge" if raw["fee"] == "不收费" else "Free for a first application"
        out.append(entry)
    return out


def _generated() -> list[dict]:
    out = []
    for d_index, (dept_key, rows) in enumerate(ITEMS.items()):
        credit = DEPARTMENTS[dept_key][4]
        for seq, (name, name_en, type_code, promised, legal, flags, depth, mats, fields, events, fee) in enumerate(rows, 1):
            basic = f"000{d_index + 20:02d}{seq:03d}{type_code}00"
            in_person = "I" in flags
            entry = {
                "item_code": f"{credit}4{basic}", "basic_code": basic, "name": name, "name_en": name_en,
                "type": TYPE_NAMES[type_code][0], "type_en": TYPE_NAMES[type_code][1], "type_code": type_code,
                "materials": [_material(f"M{i + 1:02d}", key) for i, key in enumerate(mats)],
                "form_fields": [_field(key) for key in fields],
                "delivery": ["自取"] if promised == 0 else ["自取", "邮寄", "网点代发"],
                "online_depth": depth, "proxy_allowed": "P" in flags and not in_person, "in_person_required": in_person,
            }
            _common(entry, dept_key, promised, legal, fee, events)
            dept = DEPARTMENTS[dept_key][0]
            entry["guide"] = (f"由{dept}实施。符合条件的申请人持下列材料提出申请，{entry['limit_text']}。"
                              + ("本事项" + entry["in_person_reason"] + "。" if in_person else "")
                              + ILLUSTRATIVE_NOTE)
            entry["guide_en"] = (f"Handled by the {DEPARTMENTS[dept_key][1]}. Eligible applicants bring the materials below; "
                                 f"{entry['limit_text_en'][0].lower()}{entry['limit_text_en'][1:]}. "
                                 + (entry["in_person_reason_en"] + ". " if in_person else "") + ILLUSTRATIVE_NOTE_EN)
            out.append(entry)
    return out


def _bundles(items: list[dict]) -> list[dict]:
    by_name = {i["name"]: i for i in items}
    out = []
    for index, (key, name, name_en, event, intro, intro_en, base, questions) in enumerate(BUNDLES, 1):
        base_items = [by_name[n] for n in base]
        qs = []
        for q_key, text, text_en, options in questions:
            qs.append({"key": q_key, "text": text, "text_en": text_en, "options": [
                {"value": str(i), "label": label, "label_en": label_en,
                 "items": [by_name[n]["item_code"] for n in adds],
                 "materials": [_material(f"X{index:02d}{q_key[:3].upper()}{i}", m) for m in mats]}
                for i, (label, label_en, adds, mats) in enumerate(options)]})
        promised = max(i["promised_days"] for i in base_items)
        out.append({
            "kind": "bundle", "bundle_key": key,
            # 情形编码: 33 characters as in current national practice (§2.1), here illustrative.
            "item_code": f"ZT610113{index:03d}{'0' * 22}",
            "name": name, "name_en": name_en, "department": "西安市雁塔区政务服务中心（一件事专区）",
            "department_en": "Yanta Service Centre, one-thing-at-once desk", "department_key": "bundle",
            "category": "一件事", "category_en": "One thing at once",
            "type": "主题事项", "type_en": "Bundled service", "guide": intro + ILLUSTRATIVE_NOTE,
            "guide_en": intro_en + " " + ILLUSTRATIVE_NOTE_EN, "life_events": [event],
            "base_items": [i["item_code"] for i in base_items], "questions": qs,
            "materials": [], "form_fields": [],
            "promised_days": promised, "case_kind": "承诺件", "case_kind_en": "Promised deadline",
            "promised_limit": {"value": promised, "unit": "工作日", "unit_en": "working days"},
            "legal_limit": {"value": max(i["legal_limit"]["value"] for i in base_items), "unit": "工作日",
                            "unit_en": "working days"},
            "limit_text": f"一次提交，各事项同步办理，最长{promised}个工作日内办结",
            "limit_text_en": f"One submission, items handled in parallel, finished within {promised} working days",
            "fee": "不收费", "fee_en": "Free of charge", "charged": False,
            "place": "雁塔区政务服务中心一楼 一件事综合窗口（1-3号）", "place_en": "Yanta Service Centre, 1st floor, windows 1-3",
            "hours": HOURS, "hours_en": HOURS_EN, "phone": "029-8521-0100", "supervision_phone": SUPERVISION_PHONE,
            "delivery": ["自取", "邮寄", "网点代发"], "online_depth": 3,
            "proxy_allowed": all(i["proxy_allowed"] for i in base_items),
            "in_person_required": any(i["in_person_required"] for i in base_items), "illustrative": True,
        })
        if out[-1]["in_person_required"]:
            first = next(i for i in base_items if i["in_person_required"])
            out[-1]["in_person_reason"] = first["in_person_reason"]
            out[-1]["in_person_reason_en"] = first["in_person_reason_en"]
    return out


ITEM_ENTRIES: list[dict] = _legacy() + _generated()
BUNDLE_ENTRIES: list[dict] = _bundles(ITEM_ENTRIES)
SERVICES: list[dict] = ITEM_ENTRIES + BUNDLE_ENTRIES

# `code` is an alias of `item_code` for callers that name the field generically.
for _service in SERVICES:
    _service["code"] = _service["item_code"]
