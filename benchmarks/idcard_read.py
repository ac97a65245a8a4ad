"""ID-card read benchmark: find → select → read (30 01) cycles against the simulated reader over a pty.

The simulator runs in its own process with card time 0, so what is measured is the wire at 115200 baud plus
our own overhead; `wire_floor_ms` is all bytes of both directions at 10 bits a byte. `idle_cpu_pct` is the
CPU used by this process while the CardWatcher polls an empty reader (the simulator's CPU is not counted).
Prints one JSON document. --smoke runs a few seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devices.idcard.reader import CardWatcher  # noqa: E402
from devices.idcard.sam import IdCardReader, cycle_wire_floor_ms  # noqa: E402

BAUD = 115200
SAMPLE = ROOT / "devices" / "idcard" / "samples" / "resident.json"


def start_simulator(link: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--log-level", "WARNING", "idcard", "simulate", "--card-ms", "0",
         "--baud", str(BAUD), "--link", link],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=str(ROOT),
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise SystemExit("error: the simulator did not start")
    return proc, json.loads(line)["port"]


def send(proc: subprocess.Popen, line: str) -> None:
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    time.sleep(0.1)  # the simulator applies it on its own thread


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for CI")
    parser.add_argument("--cycles", type=int, default=None)
    parser.add_argument("--idle-seconds", type=float, default=None)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: unwind, stop what it started
    cycles = args.cycles or (8 if args.smoke else 100)
    idle_s = args.idle_seconds or (2.0 if args.smoke else 10.0)

    with tempfile.TemporaryDirectory(prefix="idcard-bench-") as tmp:
        proc, port = start_simulator(os.path.join(tmp, "ttyIDCARD"))
        try:
            send(proc, f"place {SAMPLE}")
            reader = IdCardReader(port, BAUD)
            reader.open()
            times = []
            try:
                for _ in range(cycles + 1):
                    t0 = time.perf_counter()
                    if not reader.find():
                        raise SystemExit("error: the simulated card was not found")
                    reader.select()
                    reader.read_text_photo()
                    times.append((time.perf_counter() - t0) * 1000)
            finally:
                reader.close()
            times = times[1:]  # the first cycle warms caches

            send(proc, "remove")
            events = []
            watcher = CardWatcher(port, baud=BAUD, poll_ms=200, on_event=events.append)
            watcher.start()
            time.sleep(1.0)  # connected and polling
            cpu0, wall0 = time.process_time(), time.perf_counter()
            time.sleep(idle_s)
            cpu1, wall1 = time.process_time(), time.perf_counter()
            watcher.stop()
            online = str(getattr(watcher.status, "value", watcher.status))
        finally:
            proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()

    floor = cycle_wire_floor_ms(BAUD)
    median = statistics.median(times)
    doc = {
        "benchmark": "idcard_read",
        "baud": BAUD,
        "cycles": len(times),
        "median_ms": round(median, 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "min_ms": round(min(times), 2),
        "wire_floor_ms": round(floor, 2),
        "overhead_ms": round(median - floor, 2),
        "idle_cpu_pct": round((cpu1 - cpu0) / (wall1 - wall0) * 100, 3),
        "idle_seconds": round(wall1 - wall0, 2),
        "poll_ms": 200,
        "watcher_status": online,
        "targets": {"overhead_ms_max": 30, "idle_cpu_pct_max": 1},
    }
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
