"""Notifications to the citizen about their 代办 request, through an SMS-gateway interface.

Chinese SMS gateways send pre-registered templates filled with parameters, so the interface passes a template
code and its parameters, never free text. The default gateway writes the message to the log with the phone
masked; the proxy service records every notification as a request event (`notified`)."""
from __future__ import annotations

import collections
import logging
from typing import Protocol

from kiosk.privacy.masking import mask_phone

log = logging.getLogger("kiosk.hub.notify")

# Template codes and the parameters each one gets (all strings).
TEMPLATES = {
    "received": ("request_no", "outlet_name"),       # 您的代办申请已受理
    "claimed": ("request_no", "outlet_name"),        # 代办员已接单
    "waiting_for_you": ("request_no", "note"),       # 需要您补充材料或确认
    "escalated": ("request_no", "level_name"),       # 已提交上级协调
    "done": ("request_no",),                         # 代办已办结
    "refused": ("request_no", "reason"),             # 无法代办及原因
    "cancelled": ("request_no",),                    # 代办已取消
}


class SmsGateway(Protocol):
    name: str

    def send(self, phone: str, template: str, params: dict[str, str]) -> None:
        """Send one templated message; raise on failure (the service logs it and goes on)."""


class LogSmsGateway:
    """The default: no message leaves the hub; the log shows what would have been sent (phone masked)."""

    name = "log"

    def __init__(self) -> None:
        # The last messages (masked phone, template, params), for tests and diagnostics; bounded, so a hub
        # that runs for months keeps a constant footprint.
        self.sent: collections.deque[tuple[str, str, dict[str, str]]] = collections.deque(maxlen=1000)

    def send(self, phone: str, template: str, params: dict[str, str]) -> None:
        masked = mask_phone(phone)
        self.sent.append((masked, template, dict(params)))
        log.info("sms", extra={"sms_template": template, "phone": masked, "request_no": params.get("request_no")})


def deliver(gateway: SmsGateway, phone: str, template: str, params: dict[str, str]) -> None:
    """Send after the change committed; a gateway failure is logged, never undoes the change."""
    try:
        gateway.send(phone, template, params)
    except Exception as exc:  # the gateway is someone else's service: keep going
        log.warning("sms not sent", extra={"sms_template": template, "phone": mask_phone(phone),
                                            "error": f"{type(exc).__name__}: {exc}"})
