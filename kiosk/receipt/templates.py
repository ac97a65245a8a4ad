"""The four receipts as documents: 受理回执 (acceptance), 代办受理单 (proxy request accepted), 取件凭条 (result
pickup) and 诊断测试页 (installer test page).

Business content only; `devices.printer` turns the documents into bytes. Every name, document number and
phone is masked (DESIGN §6) before it enters a document, and a final pass replaces any raw personal value that
turns up in another field (an item name that quotes a phone number).
"""
from __future__ import annotations

from devices.printer.document import QR, Document, Field, Text
from kiosk.privacy.masking import mask_document_number, mask_name, mask_phone
from kiosk.receipt.fields import MAX_ID, MAX_ITEM_NAME, MAX_MATERIALS, MAX_NAME, MAX_PHONE, ReceiptData

DELIVERY = ("自取", "邮寄", "网点代发")
# The three 代办 modes of the hub's API (docs/proxy-api.md); "assisted" is the old name of home_visit.
PROXY_MODES = {"remote_guidance": "远程指导", "home_visit": "上门辅助", "full_proxy": "全程代办"}
PROXY_MODE_ALIASES = {"assisted": "home_visit"}
TEST_URL = "https://zwfw.example.gov.cn/track?test=1"

ACCEPTANCE_REQUIRED = ("receipt_no", "item_name", "applicant_name", "applicant_id_number", "phone", "submitted_at",
                       "promised_by", "delivery", "outlet", "tracking_url", "materials")
PROXY_REQUIRED = ("receipt_no", "item_name", "applicant_name", "applicant_id_number", "phone", "submitted_at", "outlet",
                  "tracking_url", "proxy_mode", "proxy_scope", "proxy_expires", "promised_by")
PICKUP_REQUIRED = ("receipt_no", "item_name", "applicant_name", "applicant_id_number", "result_name", "pickup_code",
                   "pickup_place", "pickup_hours", "tracking_url")


class _Person:
    """The applicant's masked values, and the raw ones to keep off the paper."""

    def __init__(self, d: ReceiptData, with_phone: bool) -> None:
        raw_name = d.text("applicant_name", MAX_NAME)
        raw_id = d.text("applicant_id_number", MAX_ID)
        raw_phone = d.text("phone", MAX_PHONE) if with_phone else None
        self.name = mask_name(raw_name)
        self.id_number = mask_document_number(raw_id)
        self.phone = mask_phone(raw_phone) if raw_phone else None
        self.raw = {v: m for v, m in ((raw_id, self.id_number), (raw_phone, self.phone), (raw_name, self.name))
                    if v and len(v) >= 2 and m}

    def guard(self, doc: Document) -> Document:
        """Replace any raw personal value that appears anywhere in the document by its masked form."""
        def fix(s: str) -> str:
            for raw, masked in sorted(self.raw.items(), key=lambda kv: -len(kv[0])):
                s = s.replace(raw, masked)
            return s

        for b in doc.blocks:
            if isinstance(b, Text):
                b.text = fix(b.text)
            elif isinstance(b, Field):
                b.label, b.value = fix(b.label), fix(b.value)
            elif isinstance(b, QR):
                b.payload = fix(b.payload)
        return doc


def _header(doc: Document, title: str, outlet: str | None) -> None:
    doc.text(title, align="center", width=2, height=2, bold=True)
    if outlet:
        doc.text(outlet, align="center")
    doc.rule()


def _footer(doc: Document, tracking_url: str, hotline: str, note: str) -> None:
    doc.rule()
    doc.text("扫码查询办理进度、评价服务（好差评）", align="center")
    doc.qr(tracking_url, module_size=6, ec="M")
    doc.text(f"政务服务便民热线：{hotline}", align="center")
    doc.text(note, align="center")
    doc.feed(2)
    doc.cut()


def acceptance(d: ReceiptData, hotline: str) -> Document:
    d.require(*ACCEPTANCE_REQUIRED)
    person = _Person(d, with_phone=True)
    delivery = d.choice("delivery", DELIVERY)
    materials = d.materials("materials")
    submitted = d.timestamp("submitted_at")
    promised = d.day("promised_by")
    pending = d.flag("pending_upload")
    case_no = d.text("case_no", 40)
    url = d.url("tracking_url")
    hotline = d.text("hotline", 20) or hotline
    pickup_code = d.text("pickup_code", 8) or ""  # chosen at filing; none on receipts of posted results
    if pickup_code and not pickup_code.isdigit():
        raise d._bad("pickup_code", "must be digits")

    doc = Document()
    _header(doc, "受理回执", d.text("outlet"))
    doc.field("回执编号：", d.text("receipt_no", 40))
    doc.field("办件编号：", "待上传" if pending else (case_no or "待分配"), bold=pending)
    doc.field("办理事项：", d.text("item_name", MAX_ITEM_NAME))
    doc.field("申 请 人：", person.name)
    doc.field("证件号码：", person.id_number)
    doc.field("联系电话：", person.phone)
    doc.field("提交时间：", submitted.strftime("%Y-%m-%d %H:%M"))
    doc.field("承诺办结：", f"{promised.isoformat()} 前")
    doc.field("结果送达：", delivery)
    if pickup_code:
        doc.field("取 件 码：", pickup_code, bold=True)
    doc.rule()
    doc.text(f"已收材料（{len(materials)} 项）：")
    for i, (name, pages) in enumerate(materials[:MAX_MATERIALS], 1):
        doc.field(f"{i}. ", name + (f"（{pages} 页）" if pages is not None else ""))
    if len(materials) > MAX_MATERIALS:
        doc.text(f"…另有 {len(materials) - MAX_MATERIALS} 项，详见办件记录")
    if pending:
        doc.text("本回执在网络中断时生成，办件编号待上传后分配；扫码可凭回执编号查询。", bold=True)
    _footer(doc, url, hotline, "请妥善保管本回执，凭此查询和领取结果")
    return person.guard(doc)


def proxy(d: ReceiptData, hotline: str) -> Document:
    d.require(*PROXY_REQUIRED)
    person = _Person(d, with_phone=True)
    mode = d.choice("proxy_mode", tuple(PROXY_MODES) + tuple(PROXY_MODE_ALIASES))
    mode = PROXY_MODE_ALIASES.get(mode, mode)
    submitted = d.timestamp("submitted_at")
    expires = d.day("proxy_expires")
    promised = d.day("promised_by")
    url = d.url("tracking_url")
    hotline = d.text("hotline", 20) or hotline

    doc = Document()
    _header(doc, "代办受理单", d.text("outlet"))
    doc.field("受理编号：", d.text("receipt_no", 40))
    doc.field("办理事项：", d.text("item_name", MAX_ITEM_NAME))
    doc.field("委 托 人：", person.name)
    doc.field("证件号码：", person.id_number)
    doc.field("联系电话：", person.phone)
    doc.field("代办方式：", PROXY_MODES[mode])
    doc.field("委托范围：", d.text("proxy_scope", MAX_ITEM_NAME))
    doc.field("委托有效期至：", expires.isoformat())
    doc.field("提交时间：", submitted.strftime("%Y-%m-%d %H:%M"))
    doc.field("承诺办结：", f"{promised.isoformat()} 前")
    doc.rule()
    doc.text("代办人员仅在委托范围和有效期内代为办理；您可随时撤回委托。")
    _footer(doc, url, hotline, "请妥善保管本受理单")
    return person.guard(doc)


def pickup(d: ReceiptData, hotline: str) -> Document:
    d.require(*PICKUP_REQUIRED)
    person = _Person(d, with_phone=False)
    url = d.url("tracking_url")
    case_no = d.text("case_no", 40)
    hotline = d.text("hotline", 20) or hotline

    doc = Document()
    _header(doc, "取件凭条", None)
    doc.text("取件码", align="center")
    doc.text(d.text("pickup_code", 16), align="center", width=2, height=2, bold=True)
    doc.rule()
    doc.field("回执编号：", d.text("receipt_no", 40))
    if case_no:
        doc.field("办件编号：", case_no)
    doc.field("办理事项：", d.text("item_name", MAX_ITEM_NAME))
    doc.field("办理结果：", d.text("result_name"))
    doc.field("申 请 人：", person.name)
    doc.field("证件号码：", person.id_number)
    doc.field("取件地点：", d.text("pickup_place"))
    doc.field("取件时间：", d.text("pickup_hours"))
    doc.rule()
    doc.text("取件时请携带本人身份证原件；他人代取须出示委托书。")
    _footer(doc, url, hotline, "请妥善保管本凭条")
    return person.guard(doc)


def test_page(profile_line: str, hotline: str) -> Document:
    """The installer's test page: character coverage (including characters printed as pictures), a QR code, a cut."""
    doc = Document()
    _header(doc, "诊断测试页", "打印机自检 Printer test")
    doc.field("配置：", profile_line)
    doc.rule()
    doc.text("ASCII: ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    doc.text("全角数字：０１２３４５６７８９")
    doc.text("，。")  # a line of only full-width punctuation: python-escpos 3.1 prints "??" here
    doc.text("全角标点：，。、；：？！“”‘’（）【】《》…—·")
    doc.text("常用字：政务服务受理回执办件编号承诺办结邮寄自取网点代发")
    doc.text("姓名用字：欧阳 司马 诸葛 褚 郦 犇 堃 喆 昇 燚 垚")
    doc.text("生僻字（不在 GBK 中则打印为图片）：䶮")
    doc.text("扩展B区（打印为图片）：𠮷")
    doc.text("倍宽倍高", width=2, height=2)
    doc.text("加粗 Bold", bold=True)
    doc.text("右对齐 right", align="right")
    doc.rule()
    doc.text("二维码（扫码应打开测试地址）：", align="center")
    doc.add(QR(TEST_URL, module_size=6, ec="M"))
    doc.text(f"热线 {hotline}", align="center")
    doc.feed(2)
    doc.cut()
    return doc
