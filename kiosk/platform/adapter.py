"""The platform adapter interface: what the hub needs from a provincial platform.

A province's own integration is one new module implementing `PlatformAdapter`; the hub never knows
which one it talks to. Errors are split by what the caller should do: retry later (`PlatformUnavailable`)
or give up and tell a person (`PlatformRejected`).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any


class PlatformError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class PlatformUnavailable(PlatformError):
    """Transient: unreachable, timed out, 5xx. The relay retries with backoff."""


class PlatformRejected(PlatformError):
    """Permanent: the platform refused the request (4xx). Retrying the same request will not help."""


@dataclass
class MaterialFile:
    """One material (申请材料) with its bytes, as the platform receives it."""

    code: str
    name: str
    sha256: str
    content: bytes
    pages: int = 1
    filename: str = "material.pdf"
    content_type: str = "application/pdf"


@dataclass
class Applicant:
    name: str
    id_number: str
    card_type: str = "111"  # GA/T 2000.156: 111 居民身份证
    phone: str = ""
    address: str = ""


@dataclass
class CaseSubmission:
    """One application as the hub relays it; `client_ref` (our receipt number) makes every step idempotent."""

    client_ref: str
    item_code: str
    item_name: str
    applicant: Applicant
    form: dict[str, Any]
    delivery: str
    channel: str
    submitted_at: str
    materials: list[MaterialFile] = field(default_factory=list)


@dataclass
class SubmitResult:
    case_no: str  # 办件编号 assigned by the platform
    status: str  # accepted | in_progress | completed | rejected
    promised_by: str | None  # YYYY-MM-DD


class PlatformAdapter(abc.ABC):
    """submit / upload_material / query_status / receive_callback / upload_evaluation / fetch_catalog."""

    @abc.abstractmethod
    def fetch_catalog(self) -> list[dict[str, Any]]:
        """The service items (事项) with their 办事指南, materials, promised days, fees and delivery options."""

    @abc.abstractmethod
    def submit(self, case: CaseSubmission) -> SubmitResult:
        """Relay one case end to end (for the reference protocol: the 5-step flow). Safe to call again
        for the same `client_ref` after a failure part-way: the platform answers with the same case."""

    @abc.abstractmethod
    def upload_material(self, case_no: str, material: MaterialFile) -> dict[str, Any]:
        """Declare and upload one material to an existing case."""

    @abc.abstractmethod
    def query_status(self, case_no: str) -> dict[str, Any]:
        """The platform's view of a case: status, promised_by, history."""

    @abc.abstractmethod
    def receive_callback(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        """Verify and decode a status callback the platform pushed to us; raises PlatformRejected if forged."""

    @abc.abstractmethod
    def upload_evaluation(self, case_no: str, evaluation: dict[str, Any]) -> dict[str, Any]:
        """Upload one 好差评 evaluation of a case."""

    def send_supplement(self, case_no: str, supplement_ref: str, materials: list[MaterialFile]) -> dict[str, Any]:
        """Add supplementary materials (补充材料, collected at a counter: 代收) to a case the platform already has.
        `supplement_ref` makes the call idempotent: sent again, the platform keeps the first copy.
        Adapters that cannot do it yet raise NotImplementedError and the hub keeps the collection waiting."""
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
