"""The counter's slips: 代办受理单 (a 代办 request taken, with its 委托书), 材料接收凭条 (代收: materials accepted for
an application filed elsewhere) and 取件凭条 (代发: a result handed over or posted).

Like the kiosk's receipts (`kiosk.receipt.templates`): business content only, every name and ID number masked
before it enters the document and a last pass that replaces any raw personal value found elsewhere. In training
mode (`training: true`) each slip says 培训 at the top and bottom and carries no QR code, so it can never be taken
for a real one.

    render_counter_slip("proxy_acceptance" | "material_receipt" | "handout", data, paper=80) -> ESC/POS bytes
"""
from __future__ import annotations

from devices.printer.document import Document
from devices.printer.encoder import encode
from kiosk.china_time import promised_day
from kiosk.errors import InvalidInput
from kiosk.privacy.masking import mask_name
from kiosk.receipt import _profile
from kiosk.receipt.fields import MAX_ITEM_NAME, MAX_MATERIALS, ReceiptData
from kiosk.receipt.templates import PROXY_MODES, _Person

SLIPS = ("proxy_acceptance", "material_receipt", "handout")
TRAINING_LINE = "【培训 TRAINING】本单据仅用于培训，无任何效力"

PROXY_REQUIRED = ("request_no", "item_name", "applicant_name", "applicant_id_number", "proxy_mode", "clerk", "outlet",
                  "accepted_at", "tracking_url")
MATERIAL_REQUIRED = ("collection_no", "receipt_no", "item_name", "applicant_name", "applicant_id_number", "materials",
                     "clerk", "outlet", "accepted_at")
HANDOUT_REQUIRED = ("receipt_no", "item_name", "applicant_name", "applicant_id_number", "recipient", "clerk", "outlet",
                    "handed_at")
RECIPIENTS = {"applicant": "申请人本人", "agent": "受托代理人（凭有效委托书）", "post": "邮寄送达（免费）"}
MANDATE_STATES = {"active": "有效", "renewed": "有效（续办）", "pending": "待签署", "suspended": "中止", "revoked": "已撤回",
                  "expired": "已过期", "completed": "已办结", "": "无"}


def _top(doc: Document, title: str, outlet: str | None, training: bool) -> None:
    if training:
        doc.text(TRAINING_LINE, align="center", bold=True)
    doc.text(("【培训】" if training else "") + title, align="center", width=2, height=2, bold=True)
    if outlet:
        doc.text(outlet, align="center")
    doc.rule()


def _bottom(doc: Document, d: ReceiptData, hotline: str, note: str, training: bool, url_key: str = "tracking_url") -> None:
    doc.rule()
    url = d.text(url_key, 512) if d.data.get(url_key) else None
    if url and not training:
        doc.text("扫码查询办理进度、评价服务（好差评）", align="center")
        doc.qr(d.url(url_key), module_size=6, ec="M")
    doc.text(f"政务服务便民热线：{d.text('hotline', 20) or hotline}", align="center")
    doc.text(note, align="center")
    if training:
        doc.text(TRAINING_LINE, align="center", bold=True)
    doc.feed(2)
    doc.cut()


def proxy_acceptance(d: ReceiptData, hotline: str) -> Document:
    """代办受理单: the request taken by the clerk, its mode, the 委托书's scope and term."""
    d.require(*PROXY_REQUIRED)
    person = _Person(d, with_phone=bool(d.data.get("phone")))
    training = d.flag("training")
    mode = d.choice("proxy_mode", tuple(PROXY_MODES) + ("home_visit",))
    doc = Document()
    _top(doc, "代办受理单", d.text("outlet"), training)
    doc.field("受理编号：", d.text("request_no", 40))
    if d.flag("pending"):  # kept on the kiosk while the hub was away: it goes out by itself
        doc.field("上传状态：", "待上传", bold=True)
    doc.field("办理事项：", d.text("item_name", MAX_ITEM_NAME))
    doc.field("委 托 人：", person.name)
    doc.field("证件号码：", person.id_number)
    if person.phone:
        doc.field("联系电话：", person.phone)
    doc.field("代办方式：", PROXY_MODES.get(mode, "上门代办"))
    status = d.text("mandate_status", 16) or ""
    doc.field("委 托 书：", MANDATE_STATES.get(status, status))
    if d.data.get("mandate_scope"):
        doc.field("委托范围：", d.text("mandate_scope", MAX_ITEM_NAME))
    if d.data.get("mandate_expires"):
        doc.field("委托有效期至：", d.day("mandate_expires").isoformat())
    doc.field("代 办 员：", d.text("clerk", 40))
    doc.field("受理时间：", d.timestamp("accepted_at").strftime("%Y-%m-%d %H:%M"))
    if d.data.get("sla_due_at"):
        doc.field("承诺办结：", promised_day(d.timestamp("sla_due_at")) + " 前")
    doc.rule()
    if d.flag("pending"):
        doc.text("本受理单在网络中断时生成，代办申请将在网络恢复后自动上传；扫码可凭受理编号查询。", bold=True)
    doc.text("代办免费；代办员仅在委托范围和有效期内代为办理，您可随时撤回委托。")
    _bottom(doc, d, hotline, "请妥善保管本受理单", training)
    return person.guard(doc)


def material_receipt(d: ReceiptData, hotline: str) -> Document:
    """材料接收凭条: what the counter accepted (代收) for an application filed elsewhere."""
    d.require(*MATERIAL_REQUIRED)
    person = _Person(d, with_phone=False)
    training = d.flag("training")
    materials = d.materials("materials")
    doc = Document()
    _top(doc, "材料接收凭条", d.text("outlet"), training)
    doc.field("凭条编号：", d.text("collection_no", 40))
    doc.field("回执编号：", d.text("receipt_no", 40))
    if d.data.get("case_no"):
        doc.field("办件编号：", d.text("case_no", 40))
    doc.field("办理事项：", d.text("item_name", MAX_ITEM_NAME))
    doc.field("申 请 人：", person.name)
    doc.field("证件号码：", person.id_number)
    doc.text(f"已接收材料（{len(materials)} 项）：")
    for i, (name, pages) in enumerate(materials[:MAX_MATERIALS], 1):
        doc.field(f"{i}. ", name + (f"（{pages} 页）" if pages is not None else ""))
    doc.field("接 收 人：", d.text("clerk", 40))
    doc.field("接收时间：", d.timestamp("accepted_at").strftime("%Y-%m-%d %H:%M"))
    if d.flag("pending_upload"):
        doc.text("网络中断：材料已保存在本柜台，恢复后自动上传。", bold=True)
    doc.rule()
    doc.text("材料已由本网点代收并转交受理部门；原件已当面退还。")
    _bottom(doc, d, hotline, "请妥善保管本凭条", training)
    return person.guard(doc)


def handout(d: ReceiptData, hotline: str) -> Document:
    """取件凭条 (代发): who received the result, when, from whom; or the waybill of a free postal delivery."""
    d.require(*HANDOUT_REQUIRED)
    person = _Person(d, with_phone=False)
    training = d.flag("training")
    recipient = d.choice("recipient", tuple(RECIPIENTS))
    doc = Document()
    _top(doc, "取件凭条", d.text("outlet"), training)
    doc.field("回执编号：", d.text("receipt_no", 40))
    if d.data.get("case_no"):
        doc.field("办件编号：", d.text("case_no", 40))
    if d.data.get("pickup_code"):
        doc.field("取 件 码：", d.text("pickup_code", 8))
    doc.field("办理事项：", d.text("item_name", MAX_ITEM_NAME))
    doc.field("申 请 人：", person.name)
    doc.field("证件号码：", person.id_number)
    doc.field("领取方式：", RECIPIENTS[recipient])
    if recipient == "agent" and d.data.get("recipient_name"):
        doc.field("代 领 人：", mask_name(d.text("recipient_name", 40)) or "")
    if recipient == "post":
        doc.field("运 单 号：", d.text("waybill_no", 40) or "")
    doc.field("经 办 人：", d.text("clerk", 40))
    doc.field("发放时间：", d.timestamp("handed_at").strftime("%Y-%m-%d %H:%M"))
    if d.flag("pending_upload"):
        doc.text("网络中断：本次发放已记录在本柜台，恢复后自动上报。", bold=True)
    doc.rule()
    doc.text("结果已核验身份后发放；邮寄送达不收取任何费用。")
    _bottom(doc, d, hotline, "请妥善保管本凭条", training)
    return person.guard(doc)


def build_counter_slip(kind: str, data: dict, hotline: str = "12345") -> Document:
    if kind not in SLIPS:
        raise InvalidInput(f"unknown counter slip {kind!r}", f"use one of {', '.join(SLIPS)}")
    d = ReceiptData(kind, data)
    return {"proxy_acceptance": proxy_acceptance, "material_receipt": material_receipt, "handout": handout}[kind](d, hotline)


def render_counter_slip(kind: str, data: dict, paper: int = 80, charset: str = "gb18030", qr: str = "native",
                        hotline: str = "12345") -> bytes:
    """ESC/POS bytes of a counter slip; `InvalidInput` names a missing or bad key."""
    return encode(build_counter_slip(kind, data, hotline), _profile(paper, charset, qr))
