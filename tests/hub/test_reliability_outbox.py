"""Issue 13, the kiosk outbox: a poisoned entry is set aside with its reason while the rest flow; staff see it;
a full disk gives a clear error and leaves nothing half-written."""
from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub_support import case_payload
from kiosk.sync.client import HubServerError
from kiosk.sync.outbox import SET_ASIDE_AFTER, DiskFull, Outbox


class FakeHub:
    """A hub client whose POST /cases fails with 500 for the receipts in `poisoned` and works for the rest."""

    def __init__(self, poisoned: set[str], healthy: bool = True) -> None:
        self.poisoned = poisoned
        self.healthy = healthy
        self.accepted: list[str] = []

    def upload_material(self, path, meta, resume_url=None, file_stream=None, on_created=None, **kw):
        url = f"http://hub/files/{meta['receipt_no']}"
        if on_created:
            on_created(url)
        return url

    def submit_case(self, payload, key):
        if payload["receipt_no"] in self.poisoned or not self.healthy:
            raise HubServerError("the hub at http://hub is unreachable (HTTP 500: Internal Server Error)", "", 500)
        self.accepted.append(payload["receipt_no"])
        return {"receipt_no": payload["receipt_no"], "status": "queued", "case_no": None}

    def health(self) -> bool:
        return self.healthy

    def put_receipt(self, receipt_no, escpos):
        return {"outcome": "stored"}


def _enqueue(box: Outbox, tmp_path: Path, n: int, **overrides) -> list[str]:
    out = []
    for i in range(1, n + 1):
        no = f"K0001-20261122-{i:04d}"
        f = tmp_path / f"m{i}.pdf"
        f.write_bytes(b"%PDF" + bytes([i]) * 100)
        out.append(box.enqueue(case_payload(no, **overrides), [str(f)]))
    return out


def test_a_poisoned_entry_is_set_aside_while_the_rest_flow(tmp_path):
    box = Outbox(tmp_path / "data")
    bad, good1, good2 = _enqueue(box, tmp_path, 3)
    hub = FakeHub({bad})
    first = box.drain(hub)
    assert first["sent"] == 2 and hub.accepted == [good1, good2]  # the bad one first did not block them
    for _ in range(SET_ASIDE_AFTER - 1):
        good = _enqueue(box, tmp_path / "x", 0)
        box.drain(hub)
    st = box.status()
    assert st["set_aside"] == 1 and st["pending"] == 0
    entry = next(e for e in st["entries"] if e["receipt_no"] == bad)
    assert entry["state"] == "set_aside" and "500" in entry["last_error"] and "set aside" in entry["last_error"]
    # Set aside: no more requests for it on later drains.
    calls = len(hub.accepted)
    box.drain(hub)
    assert len(hub.accepted) == calls
    # Staff put it back once the cause is fixed.
    hub.poisoned.clear()
    assert box.retry_failed() == 1
    assert box.drain(hub)["sent"] == 1
    assert box.status()["set_aside"] == 0


def test_a_hub_that_fails_everything_sets_nothing_aside(tmp_path):
    box = Outbox(tmp_path / "data")
    _enqueue(box, tmp_path, 3)
    hub = FakeHub(set(), healthy=False)
    for _ in range(SET_ASIDE_AFTER + 2):
        result = box.drain(hub)
        assert result["error"] and result["sent"] == 0
    st = box.status()
    assert st["pending"] == 3 and st["set_aside"] == 0


def test_outbox_status_shows_set_aside_entries(tmp_path, monkeypatch):
    data = tmp_path / "data"
    box = Outbox(data)
    bad, *_ = _enqueue(box, tmp_path, 2)
    hub = FakeHub({bad})
    for _ in range(SET_ASIDE_AFTER):
        box.drain(hub)
    from kiosk.cli import cli

    monkeypatch.setenv("KIOSK_DATA_DIR", str(data))
    r = CliRunner().invoke(cli, ["outbox", "status"])
    assert r.exit_code == 0, r.output
    assert "set aside: 1" in r.output and bad in r.output and "set_aside" in r.output
    doc = json.loads(CliRunner().invoke(cli, ["outbox", "status", "--json"]).output)
    assert doc["set_aside"] == 1
    assert doc["actions"] == [] and doc["actions_pending"] == 0


def test_outbox_status_shows_evaluations_waiting_for_the_hub(tmp_path, monkeypatch):
    from kiosk.cli import cli
    from kiosk.sync.action_outbox import ActionOutbox

    data = tmp_path / "data"
    ActionOutbox(data).enqueue("evaluation", "POST", "/api/v1/evaluations", {"receipt_no": "K0001-20261201-0001",
                                                                            "level": 4})
    monkeypatch.setenv("KIOSK_DATA_DIR", str(data))
    r = CliRunner().invoke(cli, ["outbox", "status"])
    assert r.exit_code == 0, r.output
    assert "other calls waiting: 1" in r.output and "evaluation" in r.output
    doc = json.loads(CliRunner().invoke(cli, ["outbox", "status", "--json"]).output)
    assert doc["actions_pending"] == 1 and doc["actions"][0]["kind"] == "evaluation"


def test_nul_in_a_name_does_not_hold_back_the_entries_behind_it(hub, tmp_path):
    box = Outbox(tmp_path / "data")
    nos = []
    for i, name in enumerate(["欧阳\x00娜娜", "张三", "李四"], start=1):
        doc = case_payload(f"K0001-20261122-{i:04d}")
        doc["applicant"]["name"] = name
        nos.append(box.enqueue(doc, []))
    client = hub.client()
    result = box.drain(client)
    assert result["sent"] == 2 and result["failed"] == 1
    st = box.status()
    bad = next(e for e in st["entries"] if e["receipt_no"] == nos[0])
    assert bad["state"] == "failed" and "control character" in bad["last_error"]


def test_enqueue_on_a_full_disk_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    box = Outbox(tmp_path / "data")
    f = tmp_path / "m.pdf"
    f.write_bytes(b"%PDF-1.4 x")
    import kiosk.sync.outbox as outbox_mod

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outbox_mod, "_write_synced", full)
    with pytest.raises(DiskFull) as err:
        box.enqueue(case_payload("K0001-20261122-0001"), [str(f)])
    assert "disk is full" in err.value.message and err.value.action
    assert box.status()["pending"] == 0
    assert list(box.files_dir.iterdir()) == []
