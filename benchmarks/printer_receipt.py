"""Receipt printing benchmark: render (template → ESC/POS), decode, PNG preview, and a print through the
simulated printer over TCP, for the acceptance receipt at 58 and 80 mm; plus the size of native vs image QR
and the time those bytes take on a 9600/19200-baud serial line (10 bits a byte).

Prints one JSON document. --smoke runs a few seconds.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devices.printer.decoder import decode  # noqa: E402
from devices.printer.preview import render_png  # noqa: E402
from devices.printer.printer import open_printer  # noqa: E402
from devices.printer.simulator import SimulatedPrinter  # noqa: E402
from kiosk.receipt import render_receipt  # noqa: E402

DATA = {
    "receipt_no": "K0001-20261122-0001", "case_no": None, "pending_upload": False, "item_name": "不动产登记（首次登记）",
    "applicant_name": "欧阳娜娜", "applicant_id_number": "610124199001010063", "phone": "13712349050",
    "submitted_at": "2026-11-22T09:30:00+08:00", "promised_by": "2026-12-06", "delivery": "邮寄",
    "outlet": "西安市雁塔区政务服务中心", "tracking_url": "https://zwfw.example.gov.cn/track/K0001-20261122-0001",
    "materials": [{"name": "身份证复印件", "pages": 1}, {"name": "不动产权属证明", "pages": 3}],
}


def median_ms(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--smoke", action="store_true", help="a few iterations only")
    args = ap.parse_args()
    n = 3 if args.smoke else 30
    out: dict = {"iterations": n}
    with tempfile.TemporaryDirectory() as tmp:
        for paper in (58, 80):
            data = render_receipt("acceptance", DATA, paper=paper)
            image_qr = render_receipt("acceptance", DATA, paper=paper, qr="image")
            out[f"render_ms_{paper}"] = median_ms(lambda: render_receipt("acceptance", DATA, paper=paper), n)
            out[f"decode_ms_{paper}"] = median_ms(lambda: decode(data), n)
            out[f"preview_ms_{paper}"] = median_ms(lambda: render_png(data, f"{tmp}/p.png", paper=paper), n)
            out[f"bytes_native_qr_{paper}"] = len(data)
            out[f"bytes_image_qr_{paper}"] = len(image_qr)
            for baud in (9600, 19200):
                out[f"serial_s_native_qr_{paper}_{baud}"] = round(len(data) * 10 / baud, 2)
                out[f"serial_s_image_qr_{paper}_{baud}"] = round(len(image_qr) * 10 / baud, 2)
        data = render_receipt("acceptance", DATA, paper=80)
        with SimulatedPrinter() as sim, open_printer(sim.device) as p:
            out["status_ms_sim"] = median_ms(lambda: p.status(), n)
            out["print_ms_sim"] = median_ms(lambda: p.print_bytes(data), n)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
