"""Helpers shared by the hub tests (servers, payloads, polling)."""
from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

from kiosk.hub.app import create_app
from kiosk.hub.serving import ServerThread
from kiosk.platform.http_adapter import ReferenceHttpAdapter
from kiosk.platform.simulator import DEFAULT_APPS
from kiosk.sync.client import HubClient

APP_ID, SECRET = next(iter(DEFAULT_APPS.items()))


def set_faults(sim_url: str, **faults) -> None:
    requests.post(f"{sim_url}/sim/faults", json=faults, timeout=5).raise_for_status()


@dataclass
class Hub:
    server: ServerThread
    app: object
    token: str
    clerk_token: str
    sim_url: str
    db_url: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def state(self):
        return self.app.state.hub

    def headers(self, token: str | None = None) -> dict:
        return {"Authorization": f"Bearer {token or self.token}"}

    def client(self, timeout: float = 5.0) -> HubClient:
        return HubClient(self.url, self.token, timeout=timeout)


def start_hub(db_url: str, sim_url: str, tmp_path: Path, port: int | None = None, **kwargs) -> tuple[ServerThread, object]:
    adapter = ReferenceHttpAdapter(sim_url, APP_ID, SECRET, timeout=5)
    options = dict(retry_base_s=0.05, retry_max_s=0.3, relay_poll_s=0.05, upload_dir=tmp_path / "uploads",
                   reserve_bytes=1 << 20)
    options.update(kwargs)
    app = create_app(db_url, adapter, **options)
    return ServerThread(app, port=port).start(), app


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05):
    """Poll until `predicate()` is truthy (a bound on waiting, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def case_payload(receipt_no: str, materials: list[dict] | None = None, **overrides) -> dict:
    doc = {
        "receipt_no": receipt_no, "device_id": receipt_no.split("-")[0], "channel": "kiosk",
        "item_code": "11610113MB2951836X4000127003000", "item_name": "城乡居民养老保险参保登记",
        "applicant": {"name": "欧阳娜娜", "id_number": "610113199001016789", "card_type": "111",
                      "phone": "13700009050", "address": "陕西省西安市雁塔区小寨东路1号"},
        "form": {"contribution_level": "500"}, "materials": materials or [], "delivery": "自取",
        "submitted_at": "2026-11-22T10:30:00+08:00",
    }
    doc.update(overrides)
    return doc


def upload_material(client: HubClient, tmp_path: Path, content: bytes, code: str = "M01", name: str = "居民身份证") -> dict:
    path = tmp_path / f"{code}-{uuid.uuid4().hex[:6]}.pdf"
    path.write_bytes(content)
    url = client.upload_material(str(path), {"filename": path.name, "filetype": "application/pdf"})
    return {"code": code, "name": name, "pages": 1, "sha256": hashlib.sha256(content).hexdigest(),
            "bytes": len(content), "upload_url": url}


def hold_the_first_write(owner, name: str, others: int) -> list[int]:
    """Replace `owner.<name>` (a GroupCommit) by one that writes the same way but holds its first write until
    `others` more items have queued behind it. Returns the sizes of the batches written, as they are written."""
    from kiosk.hub.group_commit import GroupCommit

    original = getattr(owner, name)
    batches: list[int] = []

    def held(items):
        batches.append(len(items))
        if len(batches) == 1:
            wait_for(lambda: len(group._queue) == others, timeout=20)
        return original._write(items)

    group = GroupCommit(held, alone=original._alone)
    setattr(owner, name, group)
    return batches
