"""The kiosk outbox's cost: draining N queued cases against sending the same cases directly (tus upload + submit
with the hub client), and `Outbox.status()` at 10 / 100 / 1,000 pending.

One hub (SQLite, relay off so it does not compete) in this process; each round uses fresh receipt numbers.
Prints one JSON line; `--smoke` runs a few cases.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.hub.app import create_app  # noqa: E402
from kiosk.hub.auth import create_token  # noqa: E402
from kiosk.hub.serving import ServerThread  # noqa: E402
from kiosk.sync.client import HubClient  # noqa: E402
from kiosk.sync.outbox import Outbox  # noqa: E402


def payload(receipt_no: str) -> dict:
    return {"receipt_no": receipt_no, "device_id": receipt_no.split("-")[0], "channel": "kiosk",
            "item_code": "11610113MB2951836X4000105044000", "item_name": "高龄津贴申请",
            "applicant": {"name": "测试", "id_number": "610113193001011234", "card_type": "111", "phone": "",
                          "address": ""},
            "form": {"bank_account": "6217000000000000"}, "materials": [{"code": "M01", "name": "居民身份证", "pages": 1}],
            "delivery": "自取", "submitted_at": "2026-11-22T10:00:00+08:00"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--material-bytes", type=int, default=100_000)
    args = ap.parse_args()
    if args.smoke:
        args.cases, args.rounds, args.material_bytes = 10, 1, 10_000
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="outbox-bench-") as tmp:
        tmp_path = Path(tmp)
        app = create_app(f"sqlite:///{tmp_path}/hub/hub.db", None, relay=False, reserve_bytes=0)
        hub = ServerThread(app).start()
        try:
            with app.state.hub.sessions() as s, s.begin():
                token = create_token(s, "kiosk", "K0001")
            scan = tmp_path / "scan.pdf"
            content = os.urandom(args.material_bytes)
            scan.write_bytes(content)
            digest = hashlib.sha256(content).hexdigest()
            seq = iter(range(1, 10**6))
            drain_ms, direct_ms = [], []
            for _ in range(args.rounds):
                # Direct: what the kiosk would do without an outbox.
                client = HubClient(hub.url, token, timeout=30)
                t0 = time.perf_counter()
                for _i in range(args.cases):
                    no = f"K0001-20261122-{next(seq):06d}"
                    url = client.upload_material(str(scan), {"filename": "scan.pdf", "receipt_no": no})
                    doc = payload(no)
                    doc["materials"][0].update(sha256=digest, bytes=len(content), upload_url=url)
                    client.submit_case(doc, f"direct-{no}")
                direct_ms.append((time.perf_counter() - t0) * 1000 / args.cases)
                client.close()
                # Through the outbox: queued first (not timed), then drained.
                box = Outbox(tmp_path / f"kiosk-{len(drain_ms)}")
                for _i in range(args.cases):
                    box.enqueue(payload(f"K0001-20261122-{next(seq):06d}"), [str(scan)])
                client = HubClient(hub.url, token, timeout=30)
                t0 = time.perf_counter()
                result = box.drain(client)
                drain_ms.append((time.perf_counter() - t0) * 1000 / args.cases)
                assert result["sent"] == args.cases, result
                client.close()
                getattr(box, "close", lambda: None)()
            # status() against the number pending.
            status_ms = {}
            box = Outbox(tmp_path / "kiosk-status")
            queued = 0
            for target in (10, 100, 1000) if not args.smoke else (10, 100):
                while queued < target:
                    box.enqueue(dict(payload(f"K0001-20261123-{queued + 1:06d}"), materials=[]), [])
                    queued += 1
                runs = []
                for _ in range(20):
                    t0 = time.perf_counter()
                    box.status()
                    runs.append((time.perf_counter() - t0) * 1000)
                status_ms[str(target)] = round(statistics.median(runs), 2)
            getattr(box, "close", lambda: None)()
        finally:
            hub.stop()
    d, s = statistics.median(drain_ms), statistics.median(direct_ms)
    print(json.dumps({"benchmark": "outbox_drain", "smoke": args.smoke, "cases": args.cases, "rounds": args.rounds,
                      "material_bytes": args.material_bytes, "drain_ms_per_case": round(d, 2),
                      "direct_ms_per_case": round(s, 2), "drain_to_direct": round(d / s, 3),
                      "status_ms_by_pending": status_ms}))


if __name__ == "__main__":
    main()
