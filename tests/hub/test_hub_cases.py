"""Hub: token auth, catalog cache, idempotent case intake, relay through outages, audit log (SQLite + PostgreSQL)."""
from __future__ import annotations

import hashlib
import os

import pytest
import requests
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hub_support import case_payload, set_faults, upload_material, wait_for
from kiosk.hub.auth import create_token
from kiosk.hub.models import AuditEvent, Case, Upload
from kiosk.hub.tus import upload_id_from_url, upload_path


def _status(hub, receipt_no: str) -> dict:
    r = requests.get(f"{hub.url}/api/v1/cases/{receipt_no}", headers=hub.headers(), timeout=5)
    r.raise_for_status()
    return r.json()


def _post(hub, body: dict, key: str | None, token: str | None = None) -> requests.Response:
    headers = hub.headers(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    return requests.post(f"{hub.url}/api/v1/cases", json=body, headers=headers, timeout=10)


def _sim_cases(hub, client_ref: str) -> list[dict]:
    return requests.get(f"{hub.sim_url}/sim/cases", params={"client_ref": client_ref}, timeout=5).json()["cases"]


def test_health_is_open_and_everything_else_needs_a_token(hub):
    assert requests.get(f"{hub.url}/healthz", timeout=5).json()["ok"] is True
    routes = [("GET", "/api/v1/catalog"), ("GET", "/api/v1/cases/K0001-20261122-0001"), ("POST", "/api/v1/cases"),
              ("POST", "/files/"), ("HEAD", "/files/abc"), ("PATCH", "/files/abc"), ("DELETE", "/files/abc")]
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer gk_000000000000_wrong"}, {"Authorization": "Basic eHg6eXk="},
                        {"Authorization": f"Bearer {hub.token}x"}):
            r = requests.request(method, hub.url + path, headers=headers, timeout=5)
            assert r.status_code == 401, (method, path, headers, r.status_code)
    assert requests.get(f"{hub.url}/api/v1/catalog", headers=hub.headers(), timeout=5).status_code == 200


def test_every_api_route_has_the_auth_dependency(hub):
    from fastapi.routing import APIRoute

    from kiosk.hub.auth import authenticated
    from kiosk.hub.callbacks import platform_signed

    def deps(dependant):
        for d in dependant.dependencies:
            yield d.call
            yield from deps(d)

    open_paths = {"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    for route in hub.app.routes:
        if not isinstance(route, APIRoute) or route.path in open_paths or route.methods == {"OPTIONS"}:
            continue
        if route.path.startswith("/console/"):
            continue  # the web console signs people in with a session cookie: checked route by route below
        found = set(deps(route.dependant))
        assert authenticated in found or (route.path == "/callbacks/platform" and platform_signed in found), route.path


CONSOLE_PUBLIC = {"/console/", "/console/login", "/console/logout", "/console/static/{name}",
                  "/console/fonts/{weight}.otf", "/console/lang/{lang}"}


def test_every_console_page_refuses_a_visitor_without_a_session(hub):
    """The console's pages check the session cookie in each handler: every one of them, asked without a session
    (but with a bearer token, which the console does not accept), answers a redirect to sign-in or a refusal."""
    import re

    from fastapi.routing import APIRoute

    routes = [r for r in hub.app.routes if isinstance(r, APIRoute) and r.path.startswith("/console/")
              and r.path not in CONSOLE_PUBLIC]
    assert routes, "no console pages found"
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "x1", route.path)
        for method in route.methods - {"HEAD", "OPTIONS"}:
            r = requests.request(method, f"{hub.url}{path}", headers=hub.headers(), allow_redirects=False, timeout=10)
            assert r.status_code in (303, 401, 403), (method, route.path, r.status_code)
            if r.status_code == 303:
                assert r.headers["location"].startswith("/console/"), (route.path, r.headers["location"])


def test_catalog_comes_from_platform_and_survives_an_outage(hub):
    r = requests.get(f"{hub.url}/api/v1/catalog", headers=hub.headers(), timeout=10)
    assert r.status_code == 200 and r.headers["X-Catalog-Source"] == "platform"
    names = {item["name"] for item in r.json()}
    assert {"城乡居民养老保险参保登记", "居住证申领", "个体工商户设立登记", "残疾人证申领", "高龄津贴申请"} <= names
    hub.state.catalog_ttl_s = 0  # force a refresh attempt on every request
    set_faults(hub.sim_url, fail_rate=1.0)
    r = requests.get(f"{hub.url}/api/v1/catalog", headers=hub.headers(), timeout=10)
    assert r.status_code == 200 and r.headers["X-Catalog-Source"] == "stale-cache"
    assert {item["name"] for item in r.json()} == names


def test_case_with_material_reaches_the_platform_with_its_sha256(hub, tmp_path):
    client = hub.client()
    content = os.urandom(150_000)
    material = upload_material(client, tmp_path, content)
    answer = client.submit_case(case_payload("K0001-20261122-0001", [material]), "key-1")
    assert answer["status"] in ("queued", "submitted") and answer["receipt_no"] == "K0001-20261122-0001"
    done = wait_for(lambda: (s := client.case_status("K0001-20261122-0001"))["status"] == "submitted" and s)
    assert done["case_no"].startswith("610113") and len(done["case_no"]) == 20
    assert done["promised_by"] is not None
    sim_case = requests.get(f"{hub.sim_url}/sim/cases/{done['case_no']}", timeout=5).json()
    assert sim_case["status"] == "accepted" and sim_case["client_ref"] == "K0001-20261122-0001"
    assert [m["sha256"] for m in sim_case["materials"]] == [hashlib.sha256(content).hexdigest()]
    assert sim_case["form"] == {"contribution_level": "500"}
    # The hub's copy of the bytes is deleted once the platform has them.
    upload_id = upload_id_from_url(material["upload_url"])
    assert not upload_path(hub.state.upload_dir, upload_id).exists()
    with hub.state.sessions() as s:
        assert s.get(Upload, upload_id).purged is True


def test_same_key_same_body_is_one_case_and_a_changed_body_is_refused(hub):
    body = case_payload("K0001-20261122-0002")
    first = _post(hub, body, "key-2")
    assert first.status_code == 201, first.text
    again = _post(hub, body, "key-2")
    assert again.status_code == 200 and again.json()["receipt_no"] == first.json()["receipt_no"]
    wait_for(lambda: _status(hub, "K0001-20261122-0002")["status"] == "submitted")
    replay = _post(hub, body, '"key-2"')  # the sf-string form of the same key
    assert replay.status_code == 200 and replay.json()["case_no"] == _status(hub, "K0001-20261122-0002")["case_no"]
    changed = _post(hub, dict(body, delivery="邮寄"), "key-2")
    assert changed.status_code == 422 and "different request body" in changed.json()["detail"]
    other_key = _post(hub, body, "key-3")
    assert other_key.status_code == 409
    assert _post(hub, body, None).status_code == 400
    assert len(_sim_cases(hub, "K0001-20261122-0002")) == 1
    with hub.state.sessions() as s:
        assert s.scalar(select(Case).where(Case.receipt_no == "K0001-20261122-0002")).attempts == 1


def test_the_same_case_sent_at_once_many_times_is_one_case(hub):
    """A kiosk's retries may overlap (a timeout, then the outbox again): whichever insert wins, every call gets the
    one case, 201 for the winner and 200 (a replay) for the rest; none is refused as busy."""
    from concurrent.futures import ThreadPoolExecutor

    body = case_payload("K0001-20261122-0009")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _post(hub, body, "key-race"), range(8)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * 7 + [201], [(r.status_code, r.text) for r in answers if r.status_code != 200]
    assert {r.json()["receipt_no"] for r in answers} == {"K0001-20261122-0009"}
    with hub.state.sessions() as s:
        assert len(s.scalars(select(Case).where(Case.receipt_no == "K0001-20261122-0009")).all()) == 1


def test_idempotency_keys_are_per_caller(hub):
    body = case_payload("K0001-20261122-0003")
    assert _post(hub, body, "shared-key").status_code == 201
    # Another caller using the same key string does not see (or replay) the kiosk's case.
    r = _post(hub, body, "shared-key", token=hub.clerk_token)
    assert r.status_code == 409


def test_bad_cases_get_clear_422s(hub, tmp_path):
    client = hub.client()
    good = upload_material(client, tmp_path, b"%PDF-1.4 page")
    bad_sha = dict(good, sha256="0" * 64)
    r = _post(hub, case_payload("K0001-20261122-0004", [bad_sha]), "k4")
    assert r.status_code == 422 and "sha256" in r.json()["detail"]
    r = _post(hub, case_payload("K0001-20261122-0005", [dict(good, upload_url=f"{hub.url}/files/nope")]), "k5")
    assert r.status_code == 422 and "no upload" in r.json()["detail"]
    r = _post(hub, case_payload("K0002-20261122-0006"), "k6")  # a kiosk token speaks for its own device only
    assert r.status_code == 403
    r = _post(hub, case_payload("K0002-20261122-0006", device_id="K0001"), "k6")  # receipt of another device
    assert r.status_code == 422
    r = _post(hub, case_payload("K0001-20261122-0007", submitted_at="2026-11-22 10:30"), "k7")
    assert r.status_code == 422
    r = requests.post(f"{hub.url}/api/v1/cases", data="{not json", headers=hub.headers() | {
        "Idempotency-Key": "k8", "Content-Type": "application/json"}, timeout=5)
    assert r.status_code == 422
    r = requests.get(f"{hub.url}/api/v1/cases/K0001-20991231-0001", headers=hub.headers(), timeout=5)
    assert r.status_code == 404


def test_platform_outage_then_recovery_loses_nothing(hub, tmp_path):
    client = hub.client()
    set_faults(hub.sim_url, fail_rate=1.0)
    material = upload_material(client, tmp_path, os.urandom(20_000))
    assert client.submit_case(case_payload("K0001-20261122-0010", [material]), "k10")["status"] == "queued"
    failing = wait_for(lambda: (s := client.case_status("K0001-20261122-0010"))["attempts"] >= 3 and s)
    assert failing["status"] == "queued" and "503" in failing["last_error"]
    assert failing["case_no"] is None
    set_faults(hub.sim_url, fail_rate=0.0)
    done = wait_for(lambda: (s := client.case_status("K0001-20261122-0010"))["status"] == "submitted" and s)
    assert done["case_no"] and done["last_error"] is None
    cases = _sim_cases(hub, "K0001-20261122-0010")
    assert len(cases) == 1 and cases[0]["case_no"] == done["case_no"]


def test_flaky_platform_still_gets_each_case_exactly_once(hub):
    set_faults(hub.sim_url, fail_rate=0.25)  # most relays fail at some step of the five, then resume
    receipts = [f"K0001-20261122-{n:04d}" for n in range(20, 24)]
    for n, receipt in enumerate(receipts):
        assert _post(hub, case_payload(receipt), f"flaky-{n}").status_code == 201
    wait_for(lambda: all(_status(hub, r)["status"] == "submitted" for r in receipts), timeout=60)
    case_nos = [_status(hub, r)["case_no"] for r in receipts]
    assert len(set(case_nos)) == len(receipts)
    for r in receipts:
        assert len(_sim_cases(hub, r)) == 1


def test_a_refused_case_is_marked_failed_with_the_reason(hub):
    r = _post(hub, case_payload("K0001-20261122-0030", item_code="UNKNOWN-ITEM"), "k30")
    assert r.status_code == 201
    done = wait_for(lambda: (s := _status(hub, "K0001-20261122-0030"))["status"] == "failed" and s)
    assert "unknown item code" in done["last_error"]


def test_audit_log_records_changes_and_is_append_only(hub):
    assert _post(hub, case_payload("K0001-20261122-0040"), "k40").status_code == 201
    wait_for(lambda: _status(hub, "K0001-20261122-0040")["status"] == "submitted")
    with hub.state.sessions() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.entity_id == "K0001-20261122-0040")
                           .order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["received", "submitted"]
        received = events[0].detail
        assert received["id_number"] == "6*************6789" and received["applicant_name"] == "欧***"
    engine = hub.state.engine
    for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM audit_events WHERE action = 'x'")).scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM audit_events")).scalar() >= 2


def test_personal_fields_never_reach_the_log_unmasked(hub, caplog):
    import logging

    from kiosk.logs import RedactingFormatter

    caplog.set_level(logging.DEBUG)
    set_faults(hub.sim_url, fail_rate=1.0)
    assert _post(hub, case_payload("K0001-20261122-0050"), "k50").status_code == 201
    wait_for(lambda: _status(hub, "K0001-20261122-0050")["attempts"] >= 2)
    set_faults(hub.sim_url, fail_rate=0.0)
    wait_for(lambda: _status(hub, "K0001-20261122-0050")["status"] == "submitted")
    text_out = "\n".join(RedactingFormatter().format(r) for r in caplog.records)
    assert "K0001-20261122-0050" in text_out
    for secret in ("610113199001016789", "欧阳娜娜", "13700009050", "小寨东路"):
        assert secret not in text_out


def test_card_reader_types_and_missing_fields_are_accepted(hub):
    body = case_payload("K0001-20261122-0060")
    body["applicant"] = {"name": "王小明", "id_number": "610113199003071237", "card_type": "resident", "phone": "",
                         "address": None}
    assert _post(hub, body, "k60").status_code == 201
    done = wait_for(lambda: (s := _status(hub, "K0001-20261122-0060"))["status"] == "submitted" and s)
    sim_case = requests.get(f"{hub.sim_url}/sim/cases/{done['case_no']}", timeout=5).json()
    assert sim_case["applicant"]["card_type"] == "111"
    foreign = case_payload("K0001-20261122-0061")
    foreign["applicant"] = {"name": "ZHANG, SAN", "id_number": "USA310185031001", "card_type": "foreign_permanent_2017",
                            "phone": None, "address": None}
    assert _post(hub, foreign, "k61").status_code == 201


def test_platform_status_callbacks_are_signed_and_recorded(hub):
    from hub_support import APP_ID, SECRET
    from kiosk.platform import signing

    assert _post(hub, case_payload("K0001-20261122-0070"), "k70").status_code == 201
    done = wait_for(lambda: (s := _status(hub, "K0001-20261122-0070"))["status"] == "submitted" and s)
    assert done["platform_status"] == "accepted"

    def callback(doc: dict, secret: str = SECRET) -> requests.Response:
        import json

        body = json.dumps(doc).encode()
        headers = signing.sign_headers("POST", "/callbacks/platform", "", body, APP_ID, secret)
        return requests.post(f"{hub.url}/callbacks/platform", data=body, timeout=5,
                             headers=headers | {"Content-Type": "application/json"})

    r = callback({"case_no": done["case_no"], "status": "completed", "note": "已办结"})
    assert r.status_code == 200 and r.json()["receipt_no"] == "K0001-20261122-0070"
    assert _status(hub, "K0001-20261122-0070")["platform_status"] == "completed"
    assert callback({"case_no": done["case_no"], "status": "rejected"}, secret="forged").status_code == 401
    assert _status(hub, "K0001-20261122-0070")["platform_status"] == "completed"
    assert callback({"case_no": "000", "status": "completed"}).status_code == 404
    assert callback({"case_no": done["case_no"], "status": "lost"}).status_code == 422
    with hub.state.sessions() as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.entity_id == "K0001-20261122-0070"))]
    assert actions == ["received", "submitted", "platform_status"]


def test_a_role_that_may_not_submit_is_refused_in_words_and_nothing_is_stored(hub):
    with hub.state.sessions() as s, s.begin():
        installer = create_token(s, "installer", "inst01")
    r = _post(hub, case_payload("K0001-20261205-0009"), "k-installer", token=installer)
    assert r.status_code == 403
    assert r.json()["detail"] == "role 'installer' may not do this; needs one of ['kiosk', 'clerk', 'supervisor']"
    with hub.state.sessions() as s:
        assert s.scalars(select(Case)).all() == []
