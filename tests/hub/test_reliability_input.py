"""Issue 13, bad input: every field gets a precise 4xx for what the hub cannot store, on SQLite and PostgreSQL,
and nothing refused reaches the relay."""
from __future__ import annotations

import json
import uuid

import pytest
import requests
from sqlalchemy import func, select

from hub_support import case_payload
from kiosk.hub.models import Case


def _post_raw(hub, raw: bytes | str, key: str | None = None) -> requests.Response:
    headers = hub.headers()
    headers["Idempotency-Key"] = key or str(uuid.uuid4())
    headers["Content-Type"] = "application/json"
    return requests.post(f"{hub.url}/api/v1/cases", data=raw.encode("utf-8") if isinstance(raw, str) else raw,
                         headers=headers, timeout=30)


def _doc(receipt_no: str = "K0001-20261122-0001", **overrides) -> dict:
    return case_payload(receipt_no, **overrides)


def _cases(hub) -> int:
    with hub.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(Case))


LONE_SURROGATE = "\\ud800"  # as it appears in JSON text


@pytest.mark.parametrize("field", ["applicant.name", "applicant.address", "applicant.phone", "item_name",
                                   "item_code", "submitted_at", "form.contribution_level"])
def test_lone_surrogate_in_any_string_is_a_422(hub, field):
    doc = _doc()
    outer, _, inner = field.partition(".")
    marker = "@@MARK@@"
    if inner:
        doc[outer][inner] = marker
    else:
        doc[outer] = marker
    raw = json.dumps(doc, ensure_ascii=False).replace(marker, "张" + LONE_SURROGATE)
    r = _post_raw(hub, raw)
    assert r.status_code == 422, (field, r.status_code, r.text[:300])
    assert _cases(hub) == 0


@pytest.mark.parametrize("where", ["name", "address", "form"])
def test_nul_in_text_is_a_422(hub, where):
    doc = _doc()
    if where == "form":
        doc["form"]["contribution_level"] = "50\x000"
    else:
        doc["applicant"][where] = "欧阳\x00娜娜"
    r = _post_raw(hub, json.dumps(doc))
    assert r.status_code == 422, r.text[:300]
    assert "control character" in r.text
    assert _cases(hub) == 0


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_in_form_are_a_422(hub, number):
    raw = json.dumps(_doc()).replace('"contribution_level": "500"', f'"contribution_level": {number}')
    assert number in raw
    r = _post_raw(hub, raw)
    assert r.status_code == 422, r.text[:300]
    assert "finite" in r.text
    assert _cases(hub) == 0


def test_receipt_number_over_40_characters_is_a_422(hub):
    long_no = "K0001-20261122-" + "1" * 30
    r = _post_raw(hub, json.dumps(_doc(long_no)))
    assert r.status_code == 422, r.text[:300]
    r = requests.get(f"{hub.url}/api/v1/cases/{long_no}", headers=hub.headers(), timeout=10)
    assert r.status_code in (404, 422), r.text[:300]


def test_a_20_mib_form_is_refused_before_it_is_stored(hub):
    doc = _doc(form={"notes": "x" * (20 * 1024 * 1024)})
    r = _post_raw(hub, json.dumps(doc))
    assert r.status_code == 413, r.text[:300]
    doc = _doc(form={f"k{i}": "y" * 1000 for i in range(40)})  # 40 KB: under the body cap, over the form cap
    r = _post_raw(hub, json.dumps(doc))
    assert r.status_code == 422 and "at most" in r.text, r.text[:300]
    assert _cases(hub) == 0


def test_a_body_sent_in_chunks_is_capped_too(hub):
    def gen():
        yield b'{"receipt_no": "K0001-20261122-0001", "form": {"x": "'
        for _ in range(64):
            yield b"z" * 65536
        yield b'"}}'

    headers = hub.headers()
    headers.update({"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"})
    r = requests.post(f"{hub.url}/api/v1/cases", data=gen(), headers=headers, timeout=30)
    assert r.status_code == 413


def test_deep_or_huge_numbers_in_form_are_refused(hub):
    r = _post_raw(hub, json.dumps(_doc(form={"a": {"b": {"c": {"d": {"e": 1}}}}})))
    assert r.status_code == 422 and "deeper" in r.text
    r = _post_raw(hub, json.dumps(_doc(form={"n": 2 ** 60})))
    assert r.status_code == 422 and "2^53" in r.text


def test_good_case_after_bad_ones_is_accepted(hub):
    assert _post_raw(hub, json.dumps(_doc()).replace('"500"', "NaN")).status_code == 422
    r = _post_raw(hub, json.dumps(_doc()))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("raw", ["K%00", "%ED%A0%80", "x" * 300, "%FF%FE", "K0001-20261122-0001%0A"])
def test_receipt_numbers_in_urls_that_cannot_be_stored_get_a_4xx(hub, raw):
    headers = hub.headers(hub.clerk_token) | {"Content-Type": "application/octet-stream"}
    for method, suffix in (("GET", ""), ("GET", "/receipt"), ("PUT", "/receipt")):
        r = requests.request(method, f"{hub.url}/api/v1/cases/{raw}{suffix}", headers=headers, data=b"x", timeout=5)
        assert 400 <= r.status_code < 500, (method, raw, suffix, r.status_code, r.text[:200])


@pytest.mark.parametrize("raw", ["a%00b", "%ED%A0%80", "z" * 300, "..%2F..%2Fetc"])
def test_upload_ids_that_cannot_exist_are_404(hub, raw):
    tus = {"Tus-Resumable": "1.0.0"}
    for method in ("HEAD", "PATCH", "DELETE"):
        r = requests.request(method, f"{hub.url}/files/{raw}", timeout=5, data=b"x", headers=hub.headers() | tus | {
            "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
        assert r.status_code in (404, 405), (method, raw, r.status_code)
