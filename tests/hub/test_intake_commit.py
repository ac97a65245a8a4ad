"""Kiosks' cases and whole uploads that arrive together are written in one transaction each (hub.case_intake,
hub.upload_intake): each caller still gets its own answer, a refused case writes nothing and refuses nobody else,
and the audit chain stays whole (SQLite + PostgreSQL)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from hub_support import case_payload, hold_the_first_write, upload_material, wait_for
from kiosk.hub import audit
from kiosk.hub.models import AuditEvent, Case, IdempotencyRecord, Upload
from kiosk.hub.tus import upload_id_from_url


def _post(hub, body: dict, key: str) -> requests.Response:
    return requests.post(f"{hub.url}/api/v1/cases", json=body, headers=hub.headers() | {"Idempotency-Key": key},
                         timeout=30)


def test_cases_posted_together_are_written_together_each_with_its_own_answer(hub, tmp_path):
    client = hub.client()
    page = upload_material(client, tmp_path, b"%PDF-1.4 page B")
    other = upload_material(client, tmp_path, b"%PDF-1.4 page D")
    first = case_payload("K0001-20261206-0001")
    b = case_payload("K0001-20261206-0002", [page])
    refused = case_payload("K0001-20261206-0004", [dict(other, sha256="0" * 64)])  # not the uploaded file
    taken = case_payload("K0001-20261206-0001", delivery="邮寄")  # the first's receipt number, another key
    batches = hold_the_first_write(hub.state, "case_intake", others=4)
    answers: dict[str, requests.Response] = {}

    def post(label, body, key):
        answers[label] = _post(hub, body, key)

    threads = [threading.Thread(target=post, args=("first", first, "key-1"))]
    threads[0].start()
    wait_for(lambda: batches)  # the first is being written, held
    for label, body, key in (("b", b, "key-2"), ("b again", b, "key-2"), ("refused", refused, "key-4"),
                             ("taken", taken, "key-5")):
        threads.append(threading.Thread(target=post, args=(label, body, key)))
        threads[-1].start()
    for t in threads:
        t.join(30)
    assert batches == [1, 4]
    assert answers["first"].status_code == 201, answers["first"].text
    # a retry of B that came while B waited in the same batch: one of the two is the case, the other its replay
    assert sorted((answers["b"].status_code, answers["b again"].status_code)) == [200, 201]
    assert answers["b"].json() == answers["b again"].json() and answers["b"].json()["status"] == "queued"
    assert answers["refused"].status_code == 422 and "sha256" in answers["refused"].json()["detail"]
    assert answers["taken"].status_code == 409 and "already submitted" in answers["taken"].json()["detail"]
    with hub.state.sessions() as s:
        assert sorted(s.scalars(select(Case.receipt_no))) == ["K0001-20261206-0001", "K0001-20261206-0002"]
        assert sorted(s.scalars(select(IdempotencyRecord.key))) == ["key-1", "key-2"]
        assert s.get(Upload, upload_id_from_url(page["upload_url"])).bound_to == "K0001-20261206-0002"
        assert s.get(Upload, upload_id_from_url(other["upload_url"])).bound_to is None  # the refused case's
        received = s.scalars(select(AuditEvent.entity_id).where(AuditEvent.entity == "case",
                                                                AuditEvent.action == "received")).all()
        assert sorted(received) == ["K0001-20261206-0001", "K0001-20261206-0002"]
        assert audit.verify(s)["ok"]
    # the case written in the shared transaction reaches the platform like any other
    wait_for(lambda: client.case_status("K0001-20261206-0002")["status"] == "submitted")


def test_whole_uploads_sent_together_are_written_together(hub, tmp_path):
    client = hub.client()
    batches = hold_the_first_write(hub.state, "upload_intake", others=3)
    contents = [f"%PDF-1.4 page {n}".encode() * 50 for n in range(4)]
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(upload_material, client, tmp_path, contents[0], "M00")
        wait_for(lambda: batches)
        rest = [pool.submit(upload_material, client, tmp_path, c, f"M0{n}") for n, c in enumerate(contents[1:], 1)]
        materials = [first.result(30)] + [f.result(30) for f in rest]
    assert batches == [1, 3]
    with hub.state.sessions() as s:
        for material, content in zip(materials, contents):
            up = s.get(Upload, upload_id_from_url(material["upload_url"]))
            assert (up.offset, up.length, up.sha256) == (len(content), len(content), material["sha256"])
            actions = s.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == up.id)
                                .order_by(AuditEvent.id)).all()
            assert actions == ["created", "completed"]
        assert s.scalar(select(func.count()).select_from(Upload)) == 4
        assert audit.verify(s)["ok"]
    answer = client.submit_case(case_payload("K0001-20261206-0010", materials), "key-10")
    assert answer["status"] == "queued"
