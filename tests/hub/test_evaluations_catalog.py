"""The realistic catalog and 一件事 bundles the platform simulator publishes, and the hub's catalog endpoint
(ETag / 304)."""
from __future__ import annotations

import hashlib

import pytest
import requests

from hub_support import APP_ID, SECRET
from kiosk.bundles import BundleError, as_service, plan
from kiosk.form_fields import TYPES
from kiosk.platform.adapter import Applicant, CaseSubmission, MaterialFile, PlatformRejected
from kiosk.platform.catalog_data import BUNDLE_ENTRIES, ITEM_ENTRIES, SERVICES
from kiosk.platform.http_adapter import ReferenceHttpAdapter

LEGACY_CODES = ["11610113MB2951836X4000127003000", "11610000MB1725039T2000140017000", "11610113MB2968340W4000119021000",
                "11610113MB2903517Q4000107032000", "11610113MB2951836X4000105044000"]
GUIDE_KEYS = ("item_code", "name", "name_en", "department", "department_en", "guide", "guide_en", "legal_limit",
              "promised_limit", "case_kind", "fee", "fee_en", "place", "hours", "phone", "materials", "form_fields",
              "proxy_allowed", "in_person_required", "delivery", "promised_days")


def test_catalog_is_large_complete_and_keeps_the_first_five_codes():
    assert [s["item_code"] for s in SERVICES[:5]] == LEGACY_CODES
    assert len(ITEM_ENTRIES) >= 150
    assert len({i["department"] for i in ITEM_ENTRIES}) >= 12
    assert len({s["item_code"] for s in SERVICES}) == len(SERVICES)
    for item in ITEM_ENTRIES:
        missing = [k for k in GUIDE_KEYS if k not in item]
        assert not missing, (item["name"], missing)
        assert item["illustrative"] is True
        assert item["case_kind"] in ("即办件", "承诺件")
        assert item["legal_limit"]["unit"] == "工作日" and item["legal_limit"]["value"] >= item["promised_limit"]["value"]
        assert item["fee"] and item["fee"] != "无"  # 不收费 is written out (办事指南 template rule)
        for m in item["materials"]:
            assert m["name_en"] and "originals" in m and "copies" in m
        for f in item["form_fields"]:
            assert f["type"] in TYPES and f.get("label_en")
            if f.get("choices"):
                assert len(f["choices_en"]) == len(f["choices"])
        if item["in_person_required"]:
            assert not item["proxy_allowed"] or item["item_code"] in LEGACY_CODES
            assert item["in_person_reason"] and item["in_person_reason_en"]
    assert sum(1 for i in ITEM_ENTRIES if i["in_person_required"]) >= 10


def test_bundles_answers_decide_items_and_materials():
    assert len(BUNDLE_ENTRIES) >= 10
    catalog = {s["item_code"]: s for s in SERVICES}
    birth = next(b for b in BUNDLE_ENTRIES if b["name"] == "出生一件事")
    no = {q["key"]: q["options"][-1]["value"] for q in birth["questions"]}
    no[birth["questions"][0]["key"]] = "0"  # both parents registered here: nothing extra
    yes = {q["key"]: q["options"][0]["value"] for q in birth["questions"]}
    small, big = plan(birth, no, catalog), plan(birth, yes, catalog)
    assert len(big["items"]) > len(small["items"]) >= 2
    assert {m["name"] for m in small["materials"]} < {m["name"] for m in big["materials"]}
    names = [m["name"] for m in big["materials"]]
    assert len(names) == len(set(names))  # one 身份证 for the whole bundle
    with pytest.raises(BundleError):
        plan(birth, {}, catalog)
    service = as_service(birth, yes, catalog)
    assert service["bundle"]["items"] == big["item_codes"] and service["materials"] == big["materials"]
    for b in BUNDLE_ENTRIES:
        assert len(b["questions"]) >= 2 and b["base_items"] and all(c in catalog for c in b["base_items"])


def test_simulator_records_a_bundle_submission(sim):
    adapter = ReferenceHttpAdapter(sim.url, APP_ID, SECRET)
    catalog = {s["item_code"]: s for s in adapter.fetch_catalog()}
    bundle = next(s for s in catalog.values() if s.get("kind") == "bundle" and s["name"] == "开办餐饮店一件事")
    answers = {q["key"]: q["options"][0]["value"] for q in bundle["questions"]}
    service = as_service(bundle, answers, catalog)
    form = {f["key"]: ("雁塔区小寨东路1号" if f["type"] == "address" else "1") for f in service["form_fields"]}
    content = b"%PDF-1.4 bundle"
    mats = [MaterialFile(m["code"], m["name"], hashlib.sha256(content + m["code"].encode()).hexdigest(),
                         content + m["code"].encode()) for m in service["materials"]]

    def submission(ref, f):
        return CaseSubmission(client_ref=ref, item_code=bundle["item_code"], item_name=bundle["name"],
                              applicant=Applicant("张三", "610113199001011234"), form=f, delivery="自取", channel="kiosk",
                              submitted_at="2026-11-22T10:00:00+08:00", materials=mats)

    with pytest.raises(PlatformRejected):  # the answers are missing
        adapter.submit(submission("K1-20261122-0001", dict(form)))
    result = adapter.submit(submission("K1-20261122-0002", {**form, "_bundle": service["bundle"]}))
    case = requests.get(f"{sim.url}/sim/cases/{result.case_no}", timeout=5).json()
    assert case["bundle"]["code"] == bundle["item_code"]
    assert case["bundle"]["items"] == service["bundle"]["items"] and len(case["bundle"]["items"]) >= 4
    assert case["bundle"]["answers"] == answers


def test_hub_catalog_serves_everything_with_an_etag(hub):
    r = requests.get(f"{hub.url}/api/v1/catalog", headers=hub.headers(), timeout=10)
    assert r.status_code == 200 and len(r.json()) == len(SERVICES)
    etag = r.headers["ETag"]
    again = requests.get(f"{hub.url}/api/v1/catalog", headers={**hub.headers(), "If-None-Match": etag}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    other = requests.get(f"{hub.url}/api/v1/catalog", headers={**hub.headers(), "If-None-Match": '"x"'}, timeout=10)
    assert other.status_code == 200 and other.headers["ETag"] == etag


def test_hub_catalog_carries_the_pinyin_of_each_name(hub):
    items = requests.get(f"{hub.url}/api/v1/catalog", headers=hub.headers(), timeout=10).json()
    by_name = {i["name"]: i for i in items}
    pension = by_name["城乡居民养老保险参保登记"]
    assert pension["pinyin"].startswith("chengxiangjuminyanglaobaoxian") and pension["pinyin_initials"] == "cxjmylbxcbdj"
    assert all(isinstance(i["pinyin"], str) and i["pinyin"] and i["pinyin_initials"] for i in items)


def test_search_by_chinese_full_pinyin_initials_and_english():
    from kiosk.citizen.catalog_index import CatalogIndex

    index = CatalogIndex(SERVICES)
    for query in ("养老保险", "yanglaobaoxian", "yanglao"):
        hits = [i["name"] for i in index.search(query)]
        assert hits and hits[0] == "城乡居民养老保险参保登记" and all("养老" in h for h in hits), (query, hits)
    initials = [i["name"] for i in index.search("ylbx")]  # 养老保险 and 医疗保险 share their initials
    assert initials[0] == "城乡居民养老保险参保登记" and "城乡居民医疗保险参保登记" in initials
    assert [i["name"] for i in index.search("gjj")][:1] == ["住房公积金个人账户设立"]
    assert any(i["name"] == "出生一件事" for i in index.search("出生"))
    assert "城乡居民养老保险参保登记" in [i["name"] for i in index.search("pension")]
    assert index.search("") == [] and index.search("qqqqqq") == []
    assert len(index.departments()) >= 12 and all(n > 0 for *_, n in index.departments())
    assert all(i.get("kind") == "bundle" for i in index.bundles()) and len(index.bundles()) >= 10


def test_receipt_qr_payloads_and_bad_reviews_at_the_kiosk():
    from kiosk.citizen.evaluation import NeedsReason, evaluation_body
    from kiosk.citizen.progress import describe, receipt_from_qr

    assert receipt_from_qr("https://zwfw.example.gov.cn/track?r=K0001-20261201-0007") == "K0001-20261201-0007"
    assert receipt_from_qr("K0001-20261201-0007") == "K0001-20261201-0007"
    for foreign in ("https://pay.example.com/order/88812", "wxp://f2f0abc", "hello", ""):
        assert receipt_from_qr(foreign) is None, foreign
    with pytest.raises(NeedsReason):
        evaluation_body(2, receipt_no="K1-20261201-0001")
    assert evaluation_body(2, receipt_no="K1", detail_codes=["slow"])["detail_codes"] == ["slow"]
    assert evaluation_body(5, request_no="HUB-1")["request_no"] == "HUB-1"
    words = describe({"kind": "case", "receipt_no": "K1", "case_no": "61", "status": "accepted", "submitted_at":
                      "2026-12-01T10:00:00+08:00", "promised_by": "2026-12-08",
                      "history": [{"at": "2026-12-01T10:00:05+08:00", "status": "accepted"}]}, lambda m: m)
    assert words["status"] == "Accepted by the department"
    assert "Promised by: 2026-12-08" in words["lines"] and any("2026-12-01 10:00" in line for line in words["lines"])


def test_hub_catalog_is_compressed_for_clients_that_accept_it(hub):
    import gzip
    import json
    import urllib.request

    from backports import zstd

    def get(encoding: str | None, etag: str | None = None):
        headers = {**hub.headers(), **({"Accept-Encoding": encoding} if encoding else {}),
                   **({"If-None-Match": etag} if etag else {})}
        req = urllib.request.Request(f"{hub.url}/api/v1/catalog", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:  # urllib does not decompress: the bytes as sent
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()

    status, plain_h, plain = get(None)
    assert status == 200 and "content-encoding" not in plain_h and plain_h["vary"] == "Accept-Encoding"
    status, gz_h, packed = get("gzip, deflate")
    assert status == 200 and gz_h["content-encoding"] == "gzip" and len(packed) < len(plain) / 3
    assert gzip.decompress(packed) == plain and len(json.loads(plain)) == len(SERVICES)
    assert gz_h["etag"] != plain_h["etag"]  # two representations, two tags
    assert get("gzip", gz_h["etag"])[0] == 304 and get(None, plain_h["etag"])[0] == 304
    assert get("identity", gz_h["etag"])[0] == 304  # the same catalog either way: nothing to send again

    status, zst_h, zpacked = get("gzip, deflate, zstd")  # zstd first when both are accepted: faster to unpack
    assert status == 200 and zst_h["content-encoding"] == "zstd" and zstd.decompress(zpacked) == plain
    assert len(zpacked) < len(plain) / 3 and zst_h["etag"] not in (plain_h["etag"], gz_h["etag"])
    assert get("zstd", zst_h["etag"])[0] == 304 and get("gzip", zst_h["etag"])[0] == 304
    status, h, packed = get("zstd;q=0, gzip;q=0.5")  # a coding refused with q=0 is not sent
    assert status == 200 and h["content-encoding"] == "gzip" and gzip.decompress(packed) == plain
    status, h, body = get("zstd;q=0, gzip;q=0")
    assert status == 200 and "content-encoding" not in h and body == plain


def test_the_kiosks_client_receives_the_catalog_as_zstd(hub):
    """The kiosk's own client (requests on urllib3 with backports.zstd) asks for zstd and unpacks it."""
    session = requests.Session()
    assert "zstd" in session.headers["Accept-Encoding"]
    r = session.get(f"{hub.url}/api/v1/catalog", headers=hub.headers(), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "zstd"
    assert [i["item_code"] for i in r.json()] == [s["item_code"] for s in SERVICES]
