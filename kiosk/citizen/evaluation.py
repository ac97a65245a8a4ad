"""好差评 at the kiosk: five levels with faces and words, a 差评 needs a reason; the evaluation goes into the kiosk's
durable action outbox (so it survives the hub being away) and from the hub on to the platform."""
from __future__ import annotations

from kiosk.i18n import N_

# Level 5 = 非常满意 … 1 = 非常不满意 (the live APIs' direction, domain reference §4.1).
LEVELS = (
    (5, N_("Very satisfied")),
    (4, N_("Satisfied")),
    (3, N_("Basically satisfied")),
    (2, N_("Dissatisfied")),
    (1, N_("Very dissatisfied")),
)
BAD_LEVELS = (1, 2)
REASONS = (
    ("slow", N_("It took too long")),
    ("attitude", N_("Staff attitude was poor")),
    ("guide_unclear", N_("The guide was unclear")),
    ("asked_again", N_("I had to bring papers again")),
    ("system_fault", N_("The machine or system failed")),
    ("not_done", N_("My matter did not get done")),
    ("fees", N_("I was asked to pay fees")),
)


class NeedsReason(ValueError):
    """A 差评 without a reason."""


def evaluation_body(level: int, *, receipt_no: str | None = None, request_no: str | None = None,
                    detail_codes: list[str] | tuple = (), text: str = "") -> dict:
    if level not in (1, 2, 3, 4, 5):
        raise ValueError("level must be 1-5")
    if level in BAD_LEVELS and not detail_codes and not text.strip():
        raise NeedsReason("a 差评 needs a reason")
    body = {"level": level, "detail_codes": list(detail_codes), "text": text.strip()}
    body["receipt_no" if receipt_no else "request_no"] = receipt_no or request_no
    return body


class EvaluationService:
    def __init__(self, outbox, worker=None) -> None:
        self.outbox = outbox
        self.worker = worker

    def submit(self, level: int, **ref_and_reason) -> str:
        """Keep the evaluation in the outbox and wake the sender; returns the idempotency key."""
        key = self.outbox.enqueue("evaluation", "POST", "/api/v1/evaluations", evaluation_body(level, **ref_and_reason))
        if self.worker is not None:
            self.worker.wake()
        return key
