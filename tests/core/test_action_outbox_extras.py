"""The action outbox's files, per-entry tokens and follow-up calls, and the upgrade of the counter's own queue file
(its waiting actions must survive the upgrade)."""
from __future__ import annotations

import json
import sqlite3
import uuid

import pytest

from kiosk.errors import KioskError, Unavailable
from kiosk.sync.action_outbox import ActionOutbox, NeedsSignIn
from kiosk.sync.at_rest import Sealer, load_or_create_key


class Refused(KioskError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, "")
        self.status = status


class FakeHub:
    """Stands in for HubClient/CounterClient: records calls and uploads; `down` makes it unreachable."""

    def __init__(self, token: str = "device", shared=None) -> None:
        self.token = token
        self.url = "http://hub.invalid"
        self.shared = shared if shared is not None else {"calls": [], "uploads": [], "down": False, "expired": set(),
                                                        "seen": {}}

    def with_token(self, token: str) -> "FakeHub":
        return FakeHub(token, self.shared)

    def close(self) -> None:
        pass

    def upload_material(self, path, metadata, file_stream=None):
        if self.shared["down"]:
            raise Unavailable("hub away", "")
        data = file_stream.read() if file_stream is not None else open(path, "rb").read()
        self.shared["uploads"].append((self.token, data))
        return f"http://hub.invalid/files/{len(self.shared['uploads'])}"

    def call(self, method, path, *, json=None, key=None):
        if self.shared["down"]:
            raise Unavailable("hub away", "")
        if self.token in self.shared["expired"]:
            raise Refused("token expired", 401)
        if key in self.shared["seen"]:  # the hub's idempotency: the same key answers the first result
            if self.shared["seen"][key][0] != json:
                raise Refused("key used with a different body", 422)
            return self.shared["seen"][key][1]
        answer = {"id": len(self.shared["seen"]) + 1, "token": self.token, "body": json}
        self.shared["seen"][key] = (json, answer)
        self.shared["calls"].append((self.token, method, path, json, key))
        return answer


def test_files_upload_once_and_a_follow_up_gets_the_first_answer(tmp_path):
    box = ActionOutbox(tmp_path)
    hub = FakeHub()
    req = box.enqueue("proxy_request", "POST", "/api/v1/proxy-requests", {"request_no": "K0001-20261201-0001"},
                      files=[{"code": "mandate_signature", "name": "委托书签名", "content": b"\x89PNG-sig",
                              "suffix": ".png"}])
    mandate = box.enqueue("mandate", "POST", "/api/v1/mandates", {"scope_items": ["X"]}, after=req,
                          fill={"request_id": "id"})
    kept = list((tmp_path / "outbox" / "files").iterdir())
    assert len(kept) == 1 and b"PNG-sig" not in kept[0].read_bytes()  # sealed at rest
    hub.shared["down"] = True
    assert box.drain(hub) == {"sent": 0, "failed": 0, "waiting": 2}
    assert box.send(hub, mandate) is None  # follows a call not yet through: waits
    hub.shared["down"] = False
    assert box.drain(hub) == {"sent": 2, "failed": 0, "waiting": 0}
    (_, _, _, body, key), (_, _, _, mbody, mkey) = hub.shared["calls"]
    assert key == req and body["materials"] == [{"code": "mandate_signature", "name": "委托书签名",
                                                 "upload_url": "http://hub.invalid/files/1"}]
    assert mkey == mandate and mbody["request_id"] == box.result(req)["id"]
    assert hub.shared["uploads"] == [("device", b"\x89PNG-sig")] and not list((tmp_path / "outbox" / "files").iterdir())


def test_a_retry_after_a_lost_answer_names_the_same_upload(tmp_path):
    box = ActionOutbox(tmp_path)
    hub = FakeHub()
    key = box.enqueue("collection", "POST", "/api/v1/counter/collections",
                      {"materials": [{"code": "id_card", "name": "身份证"}]},
                      files=[{"code": "id_card", "content": b"page", "suffix": ".jpg"}])
    real_call = FakeHub.call

    def lost(self, *a, **kw):  # the hub applies it, the answer is lost on the way back
        real_call(self, *a, **kw)
        raise Unavailable("connection reset", "")

    FakeHub.call = lost
    try:
        assert box.drain(hub)["waiting"] == 1
    finally:
        FakeHub.call = real_call
    assert box.drain(hub)["sent"] == 1  # same body (same upload URL): the hub answers the first result
    assert len(hub.shared["uploads"]) == 1 and len(hub.shared["calls"]) == 1
    assert box.result(key)["body"]["materials"][0]["upload_url"] == "http://hub.invalid/files/1"


def test_an_expired_token_waits_for_the_same_person(tmp_path):
    box = ActionOutbox(tmp_path)
    hub = FakeHub()
    hub.shared["expired"].add("gk_old_token_1")
    key = box.enqueue("handout", "POST", "/api/v1/counter/handouts", {"receipt_no": "R"}, token="gk_old_token_1", person_id=7,
                      actor="clerk:李文华")
    raw = (tmp_path / "outbox" / "actions.db").read_bytes()
    assert b"gk_old_token_1" not in raw  # the token is sealed with the entry
    with pytest.raises(NeedsSignIn):
        box.send(hub, key)
    assert box.state(key) == "needs_sign_in" and box.drain(hub)["sent"] == 0
    assert box.rebind(8, "someone-else") == 0
    assert box.rebind(7, "new") == 1
    assert box.drain(hub)["sent"] == 1 and hub.shared["calls"][0][0] == "new"


def test_with_token_is_required_to_name_its_person(tmp_path):
    with pytest.raises(KioskError):
        ActionOutbox(tmp_path).enqueue("handout", "POST", "/api/v1/counter/handouts", {}, token="t")


def _old_counter_queue(data_dir):
    """A queue file as the counter wrote it before it used the action outbox."""
    root = data_dir / "counter-actions"
    (root / "files").mkdir(parents=True)
    sealer = Sealer(load_or_create_key(data_dir / "outbox.key"))
    db = sqlite3.connect(str(root / "actions.db"))
    db.executescript("""CREATE TABLE actions (id TEXT PRIMARY KEY, kind TEXT NOT NULL, method TEXT NOT NULL,
        path TEXT NOT NULL, person_id INTEGER NOT NULL, actor TEXT NOT NULL, sealed BLOB NOT NULL, state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, answer TEXT, created_at TEXT NOT NULL, sent_at TEXT);""")
    page = root / "files" / "p.jpg"
    page.write_bytes(b"page-1")
    ids = {}
    for i, (state, doc, answer) in enumerate([
            ("sent", {"body": None, "token": "", "files": []}, {"recipient": "applicant"}),
            ("pending", {"body": {"receipt_no": "A", "materials": [{"code": "p", "name": "页"}]}, "token": "t1",
                         "files": [{"code": "p", "path": str(page)}]}, None),
            ("needs_sign_in", {"body": {"receipt_no": "B"}, "token": "t-expired", "files": []},
             {"code": "unauthorized", "message": "expired"}),
            ("refused", {"body": {"receipt_no": "C"}, "token": "t1", "files": []},
             {"code": "not_found", "message": "no such case"})]):
        key = str(uuid.uuid4())
        ids[state] = key
        db.execute("INSERT INTO actions VALUES (?, 'handout', 'POST', '/api/v1/counter/handouts', 7, 'clerk:x', ?, ?,"
                   " 1, ?, ?, NULL)", (key, sealer.seal(json.dumps(doc).encode(), key.encode()), state,
                                       json.dumps(answer) if answer else None, f"2026-12-01T08:0{i}:00+00:00"))
    db.commit()
    db.close()
    return ids


def test_the_counter_queue_file_is_upgraded_without_losing_an_action(tmp_path):
    from kiosk.counter.actions import ActionQueue

    ids = _old_counter_queue(tmp_path)
    q = ActionQueue(tmp_path, "http://127.0.0.1:9", timeout=1)
    assert [(r["id"], r["state"]) for r in q.waiting()] == [(ids["pending"], "pending"),
                                                          (ids["needs_sign_in"], "needs_sign_in")]
    assert q.answer(ids["sent"]) == {"recipient": "applicant"}
    assert q.answer(ids["refused"])["state"] == "refused"
    # Opened again: nothing is migrated twice.
    q = ActionQueue(tmp_path, "http://127.0.0.1:9", timeout=1)
    assert len(q.waiting()) == 2
    hub = FakeHub()
    assert q.outbox.rebind(7, "t-new") == 2
    assert q.outbox.drain(hub)["sent"] == 2
    (tok, _, _, body, key), (_, _, _, body2, key2) = hub.shared["calls"]
    assert (tok, key, key2) == ("t-new", ids["pending"], ids["needs_sign_in"])
    assert body["materials"][0]["upload_url"] and hub.shared["uploads"] == [("t-new", b"page-1")]
