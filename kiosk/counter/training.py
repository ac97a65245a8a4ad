"""Training mode (培训): a hub and a platform simulator of its own, on this machine, in the counter's data
directory, seeded with a training outlet, sample clerks (their cards are in `kiosk/counter/samples`, PIN
246810) and sample citizens' 代办 requests. The counter points at it while training is on, so nothing a
trainee does reaches the real hub; every screen and slip says 培训.

`seed(db_url, hub_dir)` is also what the counter's tests and tour use to set up an outlet and its staff.
"""
from __future__ import annotations

import json
import logging
import shutil
import uuid
from pathlib import Path

import requests

from kiosk.counter import sample_card
from kiosk.demo import DemoStack

log = logging.getLogger("kiosk.counter.training")

TRAINING_PIN = "246810"
OUTLET = {"code": "PX-TRAIN", "name": "培训网点（邮政政务服务专区）", "level": "partner"}
OTHER_OUTLET = {"code": "PX-OTHER", "name": "另一网点（培训）", "level": "partner"}
STAFF = (("clerk", "clerk", OUTLET["code"]), ("window", "window", OUTLET["code"]), ("agent", "runner", OUTLET["code"]),
         ("clerk_other_outlet", "clerk", OTHER_OUTLET["code"]))
SAMPLE_REQUESTS = (
    {"item_code": "11610113MB2951836X4000127003000", "item_name": "城乡居民养老保险参保登记", "mode": "full_proxy",
     "applicant": {"name": "王小明", "id_number": "610113199003071237", "card_type": "111"},
     "contact_phone": "13712349050", "priority": "green", "green_reason": "elderly", "delivery": "网点代发"},
    {"item_code": "11610113MB2951836X4000127003000", "item_name": "城乡居民养老保险参保登记", "mode": "remote_guidance",
     "applicant": {"name": "周敏", "id_number": "610113199504186024", "card_type": "111"},
     "contact_phone": "13800001111"},
)


def seed(db_url: str, hub_dir: str | Path, pin: str = TRAINING_PIN, device_token_name: str | None = None) -> dict:
    """Outlets and staff (with PINs) in the hub database at `db_url`; returns {"device_token": …} when
    `device_token_name` is given (a counter device bound to the training outlet)."""
    from kiosk.hub.auth import create_token
    from kiosk.hub.counter import register_staff
    from kiosk.hub.crypto import hub_cipher, load_hub_key
    from kiosk.hub.db import make_engine, migrate, session_factory
    from kiosk.hub.models import Outlet

    migrate(db_url)
    engine = make_engine(db_url)
    out = {}
    try:
        sessions = session_factory(engine)
        fc = hub_cipher(load_hub_key(hub_dir), sessions)
        with sessions() as s, s.begin():
            for o in (OUTLET, OTHER_OUTLET):
                if s.get(Outlet, o["code"]) is None:
                    s.add(Outlet(code=o["code"], name=o["name"], level=o["level"], items=[]))
            s.flush()
            for card_name, role, outlet in STAFF:
                card = sample_card(card_name)
                register_staff(s, fc, outlet_code=outlet, role=role, name=card["name"], id_number=card["id_number"],
                               pin=pin)
            if device_token_name:
                out["device_token"] = create_token(s, "kiosk", device_token_name, outlet_code=OUTLET["code"])
    finally:
        engine.dispose()
    return out


def add_sample_requests(hub_url: str, token: str, device_id: str) -> list[dict]:
    """Sample citizens' 代办 requests, as a kiosk of the training outlet would send them."""
    made = []
    for body in SAMPLE_REQUESTS:
        doc = {**body, "outlet": OUTLET["code"], "channel": "kiosk", "device_id": device_id}
        try:
            r = requests.post(f"{hub_url}/api/v1/proxy-requests", json=doc, timeout=30,
                              headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
        except requests.RequestException as exc:  # samples are a convenience: training runs without them
            log.warning("sample request not made: %s", exc)
            continue
        if r.status_code >= 400:
            log.warning("sample request refused: %s %s", r.status_code, r.text[:200])
            continue
        made.append(r.json())
    return made


class TrainingStack(DemoStack):
    """The training hub and platform simulator (no devices: the counter keeps its own, or the simulated ones)."""

    def __init__(self, workdir: str | Path, device_id: str) -> None:
        super().__init__(workdir, role="counter")
        self.device_id = device_id

    def start(self) -> "TrainingStack":
        try:
            self.start_platform()
            self.seeded = seed(self.hub_db, self.workdir, device_token_name=self.device_id)
            self.token = self.seeded["device_token"]
            self.restart_hub()
            add_sample_requests(self.hub_url, self.token, self.device_id)
        except BaseException:
            self.stop()
            raise
        return self

    def start_kept(self, timeout_s: float = 120.0) -> "TrainingStack":
        """Start from a thread that lives as long as the training: the processes are bound to the thread that
        started them (they end when it ends, so nothing outlives the app), and a worker thread ends too soon."""
        import threading

        started, self._release = threading.Event(), threading.Event()
        failure: list[BaseException] = []

        def keeper():
            try:
                self.start()
            except BaseException as exc:  # handed to the caller below
                failure.append(exc)
                started.set()
                return
            started.set()
            self._release.wait()
            self.stop()

        self._keeper = threading.Thread(target=keeper, name="training-stack", daemon=True)
        self._keeper.start()
        if not started.wait(timeout_s):
            raise TimeoutError("the training hub did not start in time")
        if failure:
            raise failure[0]
        return self

    def stop_kept(self) -> None:
        release = getattr(self, "_release", None)
        if release is None:
            self.stop()
            return
        release.set()
        self._keeper.join(timeout=30)

    def wipe(self) -> None:
        """Training leaves nothing behind: its databases, uploads and keys go when it ends."""
        shutil.rmtree(self.workdir, ignore_errors=True)


def describe(stack: TrainingStack) -> str:
    return json.dumps({"hub": stack.hub_url, "platform": stack.platform_url})
