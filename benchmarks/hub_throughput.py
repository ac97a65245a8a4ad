"""Cases per second through the hub on SQLite: kiosk uploads (tus) + submit, and the relay to the simulator.

Prints one JSON document. `--smoke` runs a handful of cases in a few seconds (CI keeps the script working).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.hub.app import create_app  # noqa: E402
from kiosk.hub.auth import create_token  # noqa: E402
from kiosk.hub.serving import ServerThread  # noqa: E402
from kiosk.platform.http_adapter import ReferenceHttpAdapter  # noqa: E402
from kiosk.platform.simulator import DEFAULT_APPS  # noqa: E402
from kiosk.platform.simulator import create_app as create_sim_app  # noqa: E402
from kiosk.sync.client import HubClient  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--smoke", action="store_true", help="a few cases, a few seconds")
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--material-bytes", type=int, default=100_000)
    args = ap.parse_args()
    if args.smoke:
        args.cases, args.concurrency, args.material_bytes = 8, 2, 20_000
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    app_id, secret = next(iter(DEFAULT_APPS.items()))

    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        tmp_path = Path(tmp)
        sim = ServerThread(create_sim_app(tmp_path / "platform.db")).start()
        app = create_app(f"sqlite:///{tmp_path}/hub.db", ReferenceHttpAdapter(sim.url, app_id, secret),
                         relay_poll_s=0.05, retry_base_s=0.1)
        hub = ServerThread(app).start()
        try:
            with app.state.hub.sessions() as s, s.begin():
                token = create_token(s, "kiosk", "K0001")
            scan = tmp_path / "scan.pdf"
            scan.write_bytes(os.urandom(args.material_bytes))
            digest = hashlib.sha256(scan.read_bytes()).hexdigest()

            def one(n: int) -> None:
                client = HubClient(hub.url, token, timeout=30)
                url = client.upload_material(str(scan), {"filename": "scan.pdf"})
                receipt = f"K0001-20261122-{n + 1:04d}"
                client.submit_case({
                    "receipt_no": receipt, "device_id": "K0001", "channel": "kiosk",
                    "item_code": "11610113MB2951836X4000105044000", "item_name": "高龄津贴申请",
                    "applicant": {"name": "测试", "id_number": "610113193001011234", "card_type": "111",
                                  "phone": "", "address": ""},
                    "form": {"bank_account": "6217000000000000"},
                    "materials": [{"code": "M01", "name": "居民身份证", "pages": 1, "sha256": digest,
                                   "bytes": args.material_bytes, "upload_url": url}],
                    "delivery": "自取", "submitted_at": "2026-11-22T10:00:00+08:00"}, f"bench-{n}")
                client.close()

            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(one, range(args.cases)))
            submitted = time.perf_counter() - start
            client = HubClient(hub.url, token, timeout=30)
            deadline = time.monotonic() + max(60.0, args.cases * 0.5)
            pending = [f"K0001-20261122-{n + 1:04d}" for n in range(args.cases)]
            while pending and time.monotonic() < deadline:
                pending = [r for r in pending if client.case_status(r)["status"] != "submitted"]
                if pending:
                    time.sleep(0.05)
            relayed = time.perf_counter() - start
        finally:
            hub.stop()
            sim.stop()

    print(json.dumps({
        "benchmark": "hub_throughput", "engine": "sqlite", "smoke": args.smoke, "cases": args.cases,
        "concurrency": args.concurrency, "material_bytes": args.material_bytes,
        "submit_seconds": round(submitted, 3), "submit_cases_per_s": round(args.cases / submitted, 2),
        "relay_seconds": round(relayed, 3), "relay_cases_per_s": round(args.cases / relayed, 2),
        "all_relayed": not pending,
    }))


if __name__ == "__main__":
    main()
