"""重点项目 (key projects): one 代办专员, one 档案, tracked until 销号 — lifecycle, roles, subtree, credit code,
idempotency and encryption at rest (both engines)."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hub_support import case_payload, upload_material
from kiosk.hub.models import KeyProject, KeyProjectEntry, KeyProjectEvent
from test_proxy_support import USCC_OK, proxy_hub  # noqa: F401

KP = "/api/v1/key-projects"
CONTACT = "欧阳娜娜"
PHONE = "13700009050"


def project(**overrides) -> dict:
    doc = {"name": "年产5万吨新材料项目", "outlet": "TOWN1", "contact_phone": PHONE,
           "organisation": {"org_name": "西安某某新材料有限公司", "uscc": USCC_OK, "contact_name": CONTACT}}
    doc.update(overrides)
    return doc


def create(hub, who: str = "window", key: str | None = None, **overrides):
    return hub.post(who, KP, project(**overrides), headers={"Idempotency-Key": key or str(uuid.uuid4())})


def created(hub, who: str = "window", **overrides) -> dict:
    r = create(hub, who, **overrides)
    assert r.status_code == 201, r.text
    return r.json()


def finish(hub, rid: int) -> None:
    """Claim, start and complete a proxy request as the TOWN1 clerk."""
    assert hub.claim("clerk", id=rid).status_code == 200
    assert hub.act("clerk", rid, "start").status_code == 200
    assert hub.act("clerk", rid, "complete").json()["status"] == "done"


def test_lifecycle_dossier_and_close(proxy_hub):
    hub = proxy_hub
    p = created(hub, specialist="runner:wang", note="县重点项目清单第3项")
    assert p["status"] == "open" and p["project_no"].startswith("KP-") and p["specialist"] == "runner:wang"
    assert p["organisation"] == {"org_name": "西安某某新材料有限公司", "uscc": USCC_OK}
    assert p["contact"] == {"name": "欧***", "phone": "137****9050"}
    pid = p["id"]
    # the 专员 (a village runner, inside TOWN1's subtree) links a proxy request and writes notes
    req = hub.created(applicant={"org_name": "西安某某新材料有限公司", "uscc": USCC_OK, "contact_name": "王五"})
    r = hub.post("vclerk", f"{KP}/{pid}/proxy-requests", {"request_id": req["id"], "note": "立项备案代办"})
    assert r.status_code == 201, r.text
    r = hub.post("vclerk", f"{KP}/{pid}/entries", {"kind": "note", "note": f"已联系{CONTACT} {PHONE}，约定周三上门"})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert [e["kind"] for e in doc["dossier"]] == ["proxy_request", "note"]
    assert doc["dossier"][0]["request_no"] == req["request_no"] and doc["dossier"][0]["request_status"] == "new"
    assert PHONE not in doc["dossier"][1]["note"] and "137****9050" in doc["dossier"][1]["note"]
    assert doc["linked_requests"] == 1 and doc["open_requests"] == 1
    # a case by its receipt number
    receipt = "K0001-20261201-0001"
    r = hub.post("kiosk", "/api/v1/cases", case_payload(receipt), headers={"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code in (200, 201, 202), r.text
    r = hub.post("window", f"{KP}/{pid}/entries", {"kind": "case", "receipt_no": receipt})
    assert r.status_code == 201 and r.json()["dossier"][-1]["receipt_no"] == receipt
    assert hub.post("window", f"{KP}/{pid}/entries", {"kind": "case", "receipt_no": receipt}).status_code == 409
    assert hub.post("window", f"{KP}/{pid}/entries",
                    {"kind": "case", "receipt_no": "K0001-20261201-9999"}).status_code == 422
    # 销号 is refused while the linked request is open, and the answer names it
    r = hub.post("leader", f"{KP}/{pid}/close", {"note": "项目已投产"})
    assert r.status_code == 409, r.text
    assert req["request_no"] in r.json()["detail"] and r.json()["open_requests"] == [
        {"request_no": req["request_no"], "status": "new"}]
    finish(hub, req["id"])
    r = hub.post("leader", f"{KP}/{pid}/close", {"note": "项目已投产"})
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed" and closed["closed_by"] == "leader:boss" and closed["closed_at"]
    assert closed["close_note"] == "项目已投产" and closed["open_requests"] == 0
    # a closed project refuses entries, links, reassignment and a second close
    for who, path, body in (("vclerk", "entries", {"kind": "note", "note": "补充"}),
                            ("vclerk", "proxy-requests", {"request_id": hub.created()["id"]}),
                            ("window", "specialist", {"specialist": "clerk:zhang"}),
                            ("leader", "close", {"note": "again"})):
        r = hub.post(who, f"{KP}/{pid}/{path}", body)
        assert r.status_code == 409 and r.json()["status"] == "closed", (path, r.text)
    d = hub.get("supervisor", f"{KP}/{pid}").json()
    assert [e["action"] for e in d["events"]] == ["created", "specialist_assigned", "proxy_request_linked",
                                                  "entry_added", "entry_added", "closed"]
    assert len(d["dossier"]) == 3


def test_exactly_one_specialist_and_who_may_be_one(proxy_hub):
    hub = proxy_hub
    p = created(hub)
    assert p["specialist"] is None
    pid = p["id"]
    # nobody is the 专员 yet: a clerk of the outlet cannot write to the 档案
    assert hub.post("clerk", f"{KP}/{pid}/entries", {"kind": "note", "note": "x"}).status_code == 403
    assert hub.post("window", f"{KP}/{pid}/specialist", {"specialist": "clerk:zhang"}).json()["specialist"] == "clerk:zhang"
    r = hub.post("leader", f"{KP}/{pid}/specialist", {"specialist": "runner:wang", "note": "驻村跑手更近"})
    assert r.status_code == 200 and r.json()["specialist"] == "runner:wang"
    # the previous one is no longer it
    assert hub.post("clerk", f"{KP}/{pid}/entries", {"kind": "note", "note": "x"}).status_code == 403
    assert hub.post("vclerk", f"{KP}/{pid}/entries", {"kind": "note", "note": "x"}).status_code == 201
    # a window clerk (a level above 代办员) of the subtree may write too; a chief at the county as well
    assert hub.post("window", f"{KP}/{pid}/entries", {"kind": "note", "note": "y"}).status_code == 201
    assert hub.post("chief", f"{KP}/{pid}/entries", {"kind": "note", "note": "z"}).status_code == 201
    # who may be the 专员: a runner or 代办员 with a token inside the project's subtree
    for actor in ("window:win1", "clerk:zhao", "runner:nobody", "clerk"):
        r = hub.post("window", f"{KP}/{pid}/specialist", {"specialist": actor})
        assert r.status_code == 422, (actor, r.text)
    # a clerk or runner does not assign
    assert hub.post("clerk", f"{KP}/{pid}/specialist", {"specialist": "clerk:li"}).status_code == 403
    events = hub.get("window", f"{KP}/{pid}").json()["events"]
    assigned = [e for e in events if e["action"].startswith("specialist_")]
    assert [(e["action"], e["detail"]["specialist"], e["detail"]["previous"]) for e in assigned] == [
        ("specialist_assigned", "clerk:zhang", None), ("specialist_reassigned", "runner:wang", "clerk:zhang")]
    with hub.app.state.hub.sessions() as s:
        assert s.scalar(select(KeyProject.specialist).where(KeyProject.id == pid)) == "runner:wang"


def test_roles_and_subtree_refusals(proxy_hub):
    hub = proxy_hub
    # creators: supervisor, leader, window of the subtree; nobody else
    for who in ("clerk", "vclerk", "chief", "kiosk", "hotline", "installer"):
        assert create(hub, who).status_code == 403, who
    assert create(hub, "window_t2").status_code == 403  # TOWN1 is outside TOWN2's subtree
    r = create(hub, "window_t2")
    assert "outside the subtree" in r.json()["detail"]
    assert create(hub, "supervisor").status_code == 201
    assert create(hub, "window", outlet="NOWHERE").status_code == 422
    p = created(hub, "leader", outlet="TOWN2")
    # kiosk and channel tokens read nothing
    for who in ("kiosk", "hotline", "installer"):
        assert hub.get(who, KP).status_code == 403, who
        assert hub.get(who, f"{KP}/{p['id']}").status_code == 403, who
    # outlet roles read their subtree only
    assert hub.get("clerk", f"{KP}/{p['id']}").status_code == 403
    assert hub.get("clerk_t2", f"{KP}/{p['id']}").status_code == 200
    assert {x["outlet"] for x in hub.get("clerk", KP).json()["items"]} == {"TOWN1"}
    assert hub.get("clerk", KP, params={"outlet": "TOWN2"}).status_code == 403
    assert hub.get("supervisor", KP).json()["total"] == 2
    assert hub.get("leader", KP, params={"status": "open", "outlet": "TOWN2"}).json()["total"] == 1
    assert hub.get("leader", KP, params={"status": "gone"}).status_code == 422
    # a window of TOWN1 cannot link TOWN2's project, nor TOWN2's requests into TOWN1's project
    assert hub.post("window", f"{KP}/{p['id']}/entries", {"kind": "note", "note": "x"}).status_code == 403
    own = created(hub)
    other_req = hub.created(outlet="TOWN2", item_code="11610113MB2968340W4000119021000", item_name="个体工商户设立登记")
    r = hub.post("window", f"{KP}/{own['id']}/proxy-requests", {"request_id": other_req["id"]})
    assert r.status_code == 403
    assert hub.post("window", f"{KP}/{own['id']}/proxy-requests", {"request_id": 999999}).status_code == 404
    assert hub.get("supervisor", f"{KP}/999999").status_code == 404
    # a supervisor reads and manages but does not write to the 档案
    assert hub.post("supervisor", f"{KP}/{own['id']}/entries", {"kind": "note", "note": "x"}).status_code == 403


def test_a_request_belongs_to_one_project_only(proxy_hub):
    hub = proxy_hub
    a, b = created(hub), created(hub)
    req = hub.created()
    assert hub.post("window", f"{KP}/{a['id']}/proxy-requests", {"request_id": req["id"]}).status_code == 201
    for pid in (a["id"], b["id"]):
        r = hub.post("window", f"{KP}/{pid}/proxy-requests", {"request_id": req["id"]})
        assert r.status_code == 409 and a["project_no"] in r.json()["detail"]
    with hub.app.state.hub.sessions() as s:
        assert s.scalar(select(KeyProjectEntry.project_id).where(KeyProjectEntry.proxy_request_id == req["id"])) == a["id"]


def test_suspend_resume_and_close_a_suspended_project(proxy_hub):
    hub = proxy_hub
    pid = created(hub)["id"]
    assert hub.post("clerk", f"{KP}/{pid}/suspend", {"note": "企业暂缓"}).status_code == 403
    r = hub.post("window", f"{KP}/{pid}/suspend", {"note": "企业暂缓"})
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    assert hub.post("window", f"{KP}/{pid}/suspend", {"note": "again"}).status_code == 409
    assert hub.post("window", f"{KP}/{pid}/entries", {"kind": "note", "note": "暂缓期间的记录"}).status_code == 201
    assert hub.post("window", f"{KP}/{pid}/resume", {"note": "恢复"}).json()["status"] == "open"
    assert hub.post("window", f"{KP}/{pid}/resume", {"note": "again"}).status_code == 409
    assert hub.post("window", f"{KP}/{pid}/close", {"note": ""}).status_code == 422  # a closing note is required
    assert hub.post("window", f"{KP}/{pid}/close", {"note": "销号"}).json()["status"] == "closed"


def test_bad_credit_code_and_bad_input_change_nothing(proxy_hub):
    hub = proxy_hub
    bad = {"org_name": "西安某某新材料有限公司", "uscc": USCC_OK[:-1] + "4"}
    r = create(hub, organisation=bad)
    assert r.status_code == 422 and "check character" in r.text
    r = create(hub, organisation={"org_name": "x", "uscc": "91350100M000100YI3"})
    assert r.status_code == 422 and "may not contain 'I'" in r.text
    assert create(hub, contact_phone="12345").status_code == 422
    assert create(hub, surprise=1).status_code == 422
    assert create(hub, project_no="含中文").status_code == 422
    assert hub.post("window", KP, project()).status_code == 400  # no Idempotency-Key
    with hub.app.state.hub.sessions() as s:
        assert s.scalar(select(KeyProject.id)) is None


def test_create_is_idempotent(proxy_hub):
    hub = proxy_hub
    key = str(uuid.uuid4())
    first = create(hub, key=key, project_no="ZD-2026-007")
    assert first.status_code == 201 and first.json()["project_no"] == "ZD-2026-007"
    again = create(hub, key=key, project_no="ZD-2026-007")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert create(hub, key=key, project_no="ZD-2026-008").status_code == 422  # same key, another body
    assert create(hub, project_no="ZD-2026-007").status_code == 409  # another key, a number in use
    with hub.app.state.hub.sessions() as s:
        assert s.scalar(select(text("count(*)")).select_from(KeyProject)) == 1


def test_personal_fields_encrypted_at_rest_and_log_append_only(proxy_hub):
    hub = proxy_hub
    pid = created(hub, specialist="runner:wang")["id"]
    note = f"联系人{CONTACT}，手机{PHONE}"
    assert hub.post("vclerk", f"{KP}/{pid}/entries", {"kind": "note", "note": note}).status_code == 201
    engine = hub.app.state.hub.engine
    with engine.connect() as conn:
        contact = bytes(conn.execute(text("SELECT contact_enc FROM key_projects")).scalar())
        entry = bytes(conn.execute(text("SELECT text_enc FROM key_project_entries")).scalar())
        masked = conn.execute(text("SELECT contact_masked FROM key_projects")).scalar()
    for blob in (contact, entry):
        assert PHONE.encode() not in blob and CONTACT.encode() not in blob
    assert PHONE not in masked and CONTACT not in masked
    # clear values: only for the 专员 and the levels above 代办员, and each view is logged
    assert hub.get("clerk", f"{KP}/{pid}", params={"unmasked": "true"}).status_code == 403
    clear = hub.get("vclerk", f"{KP}/{pid}", params={"unmasked": "true"}).json()
    assert clear["contact"] == {"name": CONTACT, "phone": PHONE} and clear["dossier"][0]["note"] == note
    assert clear["events"][-1]["action"] == "personal_data_viewed"
    masked_doc = hub.get("clerk", f"{KP}/{pid}").json()
    assert PHONE not in masked_doc["dossier"][0]["note"]
    # the database refuses changes to the 档案 and the event log
    for table in ("key_project_entries", "key_project_events"):
        with pytest.raises(DBAPIError):
            with engine.begin() as conn:
                conn.execute(text(f"UPDATE {table} SET actor = 'x'"))
        with pytest.raises(DBAPIError):
            with engine.begin() as conn:
                conn.execute(text(f"DELETE FROM {table}"))
    with hub.app.state.hub.sessions() as s:
        assert s.scalar(select(text("count(*)")).select_from(KeyProjectEvent)) >= 3


def test_key_project_commands_against_a_running_hub(proxy_hub, tmp_path):
    import json
    import os
    import subprocess
    import sys

    def run(*args, who="window"):
        env = dict(os.environ, KIOSK_DATA_DIR=str(tmp_path / "data"), KIOSK_PROXY_TOKEN=proxy_hub.tokens[who])
        env.pop("KIOSK_CONFIG", None)
        return subprocess.run([sys.executable, "-c", "from kiosk.cli import main; main()", "proxy", "--hub",
                               proxy_hub.url, "key-project", *args], capture_output=True, text=True, env=env,
                              timeout=60)

    out = run("create", "--name", "新材料项目", "--org-name", "西安某某新材料有限公司", "--uscc", USCC_OK.lower(),
              "--outlet", "TOWN1", "--contact-name", CONTACT, "--contact-phone", PHONE, "--specialist",
              "runner:wang", "--idempotency-key", "cli-1", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["status"] == "open" and doc["specialist"] == "runner:wang" and PHONE not in out.stdout
    again = run("create", "--name", "新材料项目", "--org-name", "西安某某新材料有限公司", "--uscc", USCC_OK,
                "--outlet", "TOWN1", "--contact-name", CONTACT, "--contact-phone", PHONE, "--specialist",
                "runner:wang", "--idempotency-key", "cli-1", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["id"] == doc["id"]
    bad = run("create", "--name", "x", "--org-name", "x", "--uscc", USCC_OK[:-1] + "4", "--outlet", "TOWN1")
    assert bad.returncode == 5 and bad.stdout == "" and "check character" in bad.stderr
    listed = run("list", "--status", "open")
    assert listed.returncode == 0 and doc["project_no"] in listed.stdout and "runner:wang" in listed.stdout
    assert json.loads(run("list", "--json", who="clerk_t2").stdout)["total"] == 0
    assigned = run("assign", str(doc["id"]), "clerk:zhang", "--note", "换人", "--json")
    assert assigned.returncode == 0 and json.loads(assigned.stdout)["specialist"] == "clerk:zhang"
    req = proxy_hub.created()
    assert proxy_hub.post("clerk", f"{KP}/{doc['id']}/proxy-requests", {"request_id": req["id"]}).status_code == 201
    refused = run("close", str(doc["id"]), "--note", "投产", who="leader")
    assert refused.returncode == 5 and req["request_no"] in refused.stderr and "状态：跟踪中 [open]" in refused.stderr
    assert run("close", str(doc["id"]), "--note", "投产", who="clerk").returncode == 1  # 403: not a manager
    finish(proxy_hub, req["id"])
    closed = run("close", str(doc["id"]), "--note", "投产", "--json", who="leader")
    assert closed.returncode == 0 and json.loads(closed.stdout)["status"] == "closed"
    shown = run("show", str(doc["id"]))
    assert shown.returncode == 0 and "销号" in shown.stdout and req["request_no"] in shown.stdout
    assert "已更换代办专员 — 换人" in shown.stdout and PHONE not in shown.stdout
    assert run("show", "99999").returncode == 5
    assert run("list", who="kiosk").returncode == 1  # kiosk tokens read no key projects


def test_documents_in_the_dossier_and_the_specialists_list(proxy_hub, tmp_path):
    from kiosk.sync.client import HubClient

    hub = proxy_hub
    pid = created(hub, specialist="runner:wang")["id"]
    url = upload_material(HubClient(hub.url, hub.tokens["vclerk"]), tmp_path, b"%PDF-1.4 approval")["upload_url"]
    upload_id = url.rstrip("/").rsplit("/", 1)[1]
    # another token's upload is not the caller's to file
    assert hub.post("window", f"{KP}/{pid}/entries",
                    {"kind": "document", "upload_id": upload_id, "title": "环评批复"}).status_code == 422
    assert hub.post("vclerk", f"{KP}/{pid}/entries", {"kind": "document", "upload_id": upload_id}).status_code == 422
    r = hub.post("vclerk", f"{KP}/{pid}/entries", {"kind": "document", "upload_id": upload_id, "title": "环评批复"})
    assert r.status_code == 201, r.text
    entry = r.json()["dossier"][-1]
    assert entry["upload_id"] == upload_id and entry["title"] == "环评批复" and entry["detail"]["bytes"] == 17
    # filed once: it cannot be filed again
    again = hub.post("vclerk", f"{KP}/{pid}/entries", {"kind": "document", "upload_id": upload_id, "title": "复印件"})
    assert again.status_code == 409 and "already filed" in again.json()["detail"]
    # the 档案 keeps its document past the upload's expiry, and /files/ no longer deletes it
    from kiosk.hub.models import Upload
    from kiosk.hub.tus import upload_path

    state = hub.app.state.hub
    with state.sessions() as s, s.begin():
        s.get(Upload, upload_id).expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    state.relay.purge_expired_uploads()
    with state.sessions() as s:
        assert s.get(Upload, upload_id).purged is False
    assert upload_path(state.upload_dir, upload_id).read_bytes() == b"%PDF-1.4 approval"
    gone = requests.delete(url, headers={"Authorization": f"Bearer {hub.tokens['vclerk']}", "Tus-Resumable": "1.0.0"},
                           timeout=10)
    assert gone.status_code == 409 and "档案" in gone.json()["detail"]
    # the village runner sees the TOWN1 project it is the 专员 of, and only that one
    created(hub)
    mine = hub.get("vclerk", KP).json()
    assert [p["id"] for p in mine["items"]] == [pid]
    assert hub.get("vclerk", KP, params={"mine": "true"}).json()["total"] == 1
    assert hub.get("window", KP, params={"specialist": "runner:wang"}).json()["total"] == 1


@pytest.mark.slow
def test_generated_requests_on_a_real_project_never_get_a_5xx(db_url, sim, tmp_path):
    """schemathesis over /api/v1/key-projects with the path pointing at an existing project (the generated ids of
    the general run rarely do), as its 专员 and as a window clerk: declared answers only, never a 5xx."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    from hub_support import APP_ID, SECRET
    from kiosk.hub.app import create_app
    from kiosk.platform.http_adapter import ReferenceHttpAdapter
    from test_proxy_support import build_network

    app = create_app(db_url, ReferenceHttpAdapter(sim.url, APP_ID, SECRET, timeout=5),
                     upload_dir=tmp_path / "uploads", relay=False)
    try:
        tokens, _ = build_network(app)
        from kiosk.hub.auth import Caller
        from kiosk.hub.key_projects import KeyProjectIn
        from kiosk.hub.models import ApiToken

        with app.state.hub.sessions() as s:
            tid = s.scalar(select(ApiToken.id).where(ApiToken.name == "win1"))
        window = Caller(tid, "window", "win1", "TOWN1")
        status, doc = app.state.key_projects.create(window, "seed", KeyProjectIn(**project(specialist="runner:wang")))
        assert status == 201
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        ops = [r.ok() for r in schema.get_all_operations()]
        ops = [op for op in ops if op is not None and op.path.startswith(KP + "/{")]
        assert len(ops) >= 7
        failures: list[str] = []
        answers: list[int] = []
        for who in ("vclerk", "window"):
            headers = {"Authorization": f"Bearer {tokens[who]}"}
            for op in ops:
                checks = [not_a_server_error, status_code_conformance, response_schema_conformance]

                @settings(max_examples=15, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
                @given(case=op.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE))
                def run(case):
                    case.path_parameters = {**(case.path_parameters or {}), "project_id": doc["id"]}
                    try:
                        answers.append(case.call_and_validate(headers=headers, checks=checks).status_code)
                    except Exception as exc:  # a schemathesis FailureGroup names each failed check
                        lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
                        failures.append(f"{who} {op.method.upper()} {op.path}: {' / '.join(lines[:6])[:400]}")

                run()
        assert failures == [], "\n".join(sorted(set(failures))[:15])
        assert 200 in answers, sorted(set(answers))  # the generated calls reached the project itself
    finally:
        app.state.hub.engine.dispose()
