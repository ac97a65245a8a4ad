"""Data for the console tests: an outlet tree, its people and tokens, cases, 代办 requests and diag reports,
written straight into the hub's tables (the console only reads them; the actions go through the 代办 service)."""
from __future__ import annotations

import datetime as dt
import itertools

from kiosk.hub.auth import create_token
from kiosk.hub.models import Case, Outlet, Person, ProxyEvent, ProxyRequest, utcnow

OUTLETS = [("C-ZZ", "周至县政务服务中心", "county", None), ("T-LG", "楼观镇便民服务中心", "town", "C-ZZ"),
           ("T-JZ", "集贤镇便民服务中心", "town", "C-ZZ"), ("V-LG1", "楼观镇周一村代办点", "village", "T-LG")]
_seq = itertools.count(1)
CIPHER = None  # the hub's field cipher, set by the fixture: requests carry real ciphertexts like the API's
APPLICANT = {"type": "person", "name": "欧阳娜娜", "id_number": "610113199001016789", "card_type": "111"}


def add_outlets(s) -> None:
    for code, name, level, parent in OUTLETS:
        s.add(Outlet(code=code, name=name, level=level, parent_code=parent, items=[], hours="", address="", phone=""))
    s.flush()


def add_person(s, role: str, name: str, outlet: str) -> tuple[int, str]:
    person = Person(outlet_code=outlet, role=role, name=name, active=True)
    s.add(person)
    s.flush()
    return person.id, create_token(s, role, name, outlet_code=outlet, person_id=person.id)


def add_case(s, device: str = "K0001", *, created: dt.datetime | None = None, finished_after_h: float | None = None,
             promised_days: int = 5, item=("11610113MB2951836X4000127003000", "城乡居民养老保险参保登记"), channel="kiosk") -> Case:
    n = next(_seq)
    created = created or utcnow() - dt.timedelta(hours=2)
    done = finished_after_h is not None
    case = Case(receipt_no=f"{device}-20261201-{n:04d}", device_id=device, channel=channel, item_code=item[0], item_name=item[1],
                applicant_name="欧阳娜娜", applicant_id_number="610113199001016789", applicant_card_type="111",
                applicant_phone="13700009050", applicant_address="陕西省西安市周至县二曲街道1号", form={}, materials=[],
                delivery="自取", submitted_at=created.isoformat(), status="submitted", case_no=f"ZW{n:08d}",
                platform_status="completed" if done else "accepted",
                promised_by=(created + dt.timedelta(days=promised_days)).astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat(),
                attempts=1, next_attempt_at=created, created_by=f"kiosk:{device}", created_at=created,
                updated_at=created + dt.timedelta(hours=finished_after_h) if done else created)
    s.add(case)
    return case


def add_request(s, outlet: str = "T-LG", *, status: str = "new", level: int = 0, holder: str | None = None,
                created: dt.datetime | None = None, due_in_h: float = 48.0, stage: int = 0, closed_after_h: float | None = None,
                kind: str = "proxy", mode: str = "full_proxy", channel: str = "kiosk",
                applicant_masked: str = "欧***", holder_token_id: int | None = None, holder_person_id: int | None = None) -> ProxyRequest:
    n = next(_seq)
    created = created or utcnow() - dt.timedelta(hours=3)
    closed = created + dt.timedelta(hours=closed_after_h) if closed_after_h is not None else None
    req = ProxyRequest(request_no=f"HUB-20261201-{n}", kind=kind, channel=channel, device_id="K0001", outlet_code=outlet,
                       item_code="11610113MB2951836X4000127003000", item_name="城乡居民养老保险参保登记", mode=mode,
                       applicant_type="person", applicant_masked=applicant_masked,
                       applicant_enc=CIPHER.encrypt_json(APPLICANT, "proxy_requests.applicant") if CIPHER else b"-",
                       phone_enc=CIPHER.encrypt("13700009050", "proxy_requests.phone") if CIPHER else b"-",
                       phone_masked="137****9050", priority="normal", priority_rank=1, status=status, level=level,
                       holder=holder, holder_token_id=holder_token_id, holder_person_id=holder_person_id, claims=1 if holder else 0,
                       lease_until=utcnow() + dt.timedelta(hours=1) if holder else None,
                       sla_days=5, sla_due_at=utcnow() + dt.timedelta(hours=due_in_h), sla_budget_s=5 * 8 * 3600,
                       sla_paused_s=0, sla_stage=stage, sla_stopped_at=closed, materials=[], delivery="自取",
                       created_by="kiosk:K0001", created_by_token=1, idem_client="kiosk:K0001", idem_key=f"k{n}",
                       idem_fingerprint="0" * 64, created_at=created, updated_at=created, closed_at=closed)
    s.add(req)
    s.flush()
    s.add(ProxyEvent(request_id=req.id, at=created, actor="kiosk:K0001", action="created", to_status="new", level=0))
    if holder:
        s.add(ProxyEvent(request_id=req.id, at=created, actor=holder, action="claimed", from_status="new",
                         to_status="claimed", level=level))
    return req


def add_diag(s, device: str, overall: str, failing: list[str] = (), at: dt.datetime | None = None) -> None:
    from kiosk.hub.diag_reports import DiagReport

    checks = [{"check": f, "severity": "error"} for f in failing] + [{"check": "fonts", "severity": "ok"}]
    s.add(DiagReport(device_id=device, sent_by=f"kiosk:{device}", overall=overall, level="internal",
                     report={"overall": overall, "checks": checks}, created_at=at or utcnow()))


def add_evaluation(hub_state, s, outlet: str | None, level: int, text: str = "", *, codes=("slow",),
                   created: dt.datetime | None = None, due_in_days: float = 10, receipt_no: str | None = None):
    from kiosk.hub.case_fields import field_cipher
    from kiosk.hub.evaluations import Evaluation

    n = next(_seq)
    created = created or utcnow() - dt.timedelta(hours=5)
    bad = level <= 2
    e = Evaluation(idem_client="kiosk:K0001", idem_key=f"e{n}", receipt_no=receipt_no or f"K0001-20261201-{n:04d}",
                   item_code="11610113MB2951836X4000127003000", item_name="城乡居民养老保险参保登记", outlet_code=outlet,
                   level=level, detail_codes=list(codes) if bad else [], channel="5", assess_number=1, proxied=False,
                   device_id="K0001", created_by="kiosk:K0001", created_at=created, upload_state="uploaded",
                   rectification_status="open" if bad else "none",
                   rectification_due=created + dt.timedelta(days=due_in_days) if bad else None,
                   revisit_status="pending" if bad else "none")
    if text:
        e.text_enc = field_cipher(hub_state).encrypt(text, f"evaluations.text:{e.idem_client}:{e.idem_key}")
    s.add(e)
    s.flush()
    return e
