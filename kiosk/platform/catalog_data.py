"""The service items (事项) the platform simulator publishes: a handful of real-looking 办事指南 entries.

Item codes are opaque strings as the province issues them (see the domain reference §2.1): a 12-character
basic code (基本编码) and a 31-character implementation code (实施编码 = 18-character unified credit code of the
implementing department + level digit + basic code). The values are illustrative, not real registrations.
"""
from __future__ import annotations

ID_CARD = {"code": "M01", "name": "居民身份证", "required": True, "pages": 2, "note": "正反面"}

SERVICES: list[dict] = [
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

# `code` is an alias of `item_code` for callers that name the field generically.
for _service in SERVICES:
    _service["code"] = _service["item_code"]
