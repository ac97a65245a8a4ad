"""Helpers and fixtures shared by the 代办 tests (imported by test_proxy_*.py; holds no tests itself)."""
from __future__ import annotations

import base64
import io
import uuid
from dataclasses import dataclass, field

import pytest
import requests

from hub_support import start_hub, wait_for
from kiosk.hub.auth import create_token
from kiosk.hub.models import Person
from kiosk.hub.outlets import add_outlet

PENSION = "11610113MB2951836X4000127003000"   # proxy_allowed
RESIDENCE = "11610000MB1725039T2000140017000"  # in_person_required: never by proxy
BUSINESS = "11610113MB2968340W4000119021000"
APPLICANT_ID = "610113199001016787"  # a valid resident ID (check digit)
CLERK_ID = "11010519491231002X"
USCC_OK = "91350100M000100Y43"


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (40, 20), 255).save(buf, format="PNG")
    return buf.getvalue()


def signature_b64() -> str:
    return base64.b64encode(png_bytes()).decode("ascii")


def body(**overrides) -> dict:
    doc = {"outlet": "TOWN1", "item_code": PENSION, "item_name": "城乡居民养老保险参保登记", "mode": "remote_guidance",
           "applicant": {"name": "欧阳娜娜", "id_number": APPLICANT_ID}, "contact_phone": "13700009050",
           "priority": "normal", "channel": "kiosk"}
    doc.update(overrides)
    return doc


@dataclass
class ProxyHub:
    url: str
    app: object
    tokens: dict[str, str]
    db_url: str
    server: object = None
    persons: dict[str, int] = field(default_factory=dict)

    @property
    def service(self):
        return self.app.state.proxy

    def h(self, who: str, **extra) -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    def post(self, who: str, path: str, json=None, **kw) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=json, headers=self.h(who, **kw.pop("headers", {})),
                             timeout=kw.pop("timeout", 10), **kw)

    def get(self, who: str, path: str, **kw) -> requests.Response:
        return requests.get(f"{self.url}{path}", headers=self.h(who), timeout=kw.pop("timeout", 10), **kw)

    def create(self, who: str = "kiosk", key: str | None = None, **overrides) -> requests.Response:
        return self.post(who, "/api/v1/proxy-requests", body(**overrides),
                         headers={"Idempotency-Key": key or str(uuid.uuid4())})

    def created(self, who: str = "kiosk", **overrides) -> dict:
        r = self.create(who, **overrides)
        assert r.status_code == 201, r.text
        return r.json()

    def act(self, who: str, rid: int, action: str, **extra) -> requests.Response:
        return self.post(who, f"/api/v1/proxy-requests/{rid}/transitions", {"action": action, **extra})

    def claim(self, who: str, timeout: float = 10, **filters) -> requests.Response:
        return self.post(who, "/api/v1/proxy-requests/claim", filters, timeout=timeout)

    def events(self, who: str, rid: int) -> list[dict]:
        r = self.get(who, f"/api/v1/proxy-requests/{rid}")
        assert r.status_code == 200, r.text
        return r.json()["events"]


def build_network(app) -> tuple[dict[str, str], dict[str, int]]:
    """COUNTY → TOWN1 → VIL1, COUNTY → TOWN2; tokens for every role."""
    hub = app.state.hub
    tokens, persons = {}, {}
    with hub.sessions() as s, s.begin():
        add_outlet(s, "COUNTY", "周至县政务服务中心", "county")
        add_outlet(s, "TOWN1", "城关镇便民服务中心", "town", parent="COUNTY")
        add_outlet(s, "TOWN2", "哑柏镇便民服务中心", "town", parent="COUNTY", items=[BUSINESS])
        add_outlet(s, "VIL1", "东关村代办点", "village", parent="TOWN1")
    with hub.sessions() as s, s.begin():
        person = Person(outlet_code="TOWN1", role="clerk", name="张三",
                        id_number_hash=app.state.proxy.cipher.id_hash(CLERK_ID), active=True)
        s.add(person)
        s.flush()
        persons["clerk"] = person.id
        tokens["kiosk"] = create_token(s, "kiosk", "K0001")
        tokens["kiosk2"] = create_token(s, "kiosk", "K0002")
        tokens["hotline"] = create_token(s, "channel", "12345")
        tokens["clerk"] = create_token(s, "clerk", "zhang", outlet_code="TOWN1", person_id=person.id)
        tokens["clerk2"] = create_token(s, "clerk", "li", outlet_code="TOWN1")
        tokens["vclerk"] = create_token(s, "runner", "wang", outlet_code="VIL1")
        tokens["clerk_t2"] = create_token(s, "clerk", "zhao", outlet_code="TOWN2")
        tokens["window"] = create_token(s, "window", "win1", outlet_code="TOWN1")
        tokens["window_t2"] = create_token(s, "window", "win2", outlet_code="TOWN2")
        tokens["chief"] = create_token(s, "chief", "chief", outlet_code="COUNTY")
        tokens["leader"] = create_token(s, "leader", "boss", outlet_code="COUNTY")
        tokens["supervisor"] = create_token(s, "supervisor", "console")
        tokens["installer"] = create_token(s, "installer", "inst")
        tokens["unbound"] = create_token(s, "clerk", "nobody")
    return tokens, persons


@pytest.fixture
def proxy_hub(db_url, sim, tmp_path):
    (tmp_path / "proxy.toml").write_text("sweep_s = 3600\n", encoding="utf-8")  # tests sweep by hand
    server, app = start_hub(db_url, sim.url, tmp_path)
    tokens, persons = build_network(app)
    hub = ProxyHub(server.url, app, tokens, db_url, server, persons)
    # The catalog is fetched once and cached: fetch it now, patiently (a loaded machine may be slow to answer).
    wait_for(lambda: hub.get("supervisor", "/api/v1/catalog", timeout=30).status_code == 200, timeout=60)
    yield hub
    server.stop()
