"""Cases per second through the hub: kiosk intake at 4 and 16 kiosks, the relay to the platform, the catalog.

Every party runs in its own process and talks HTTP: the platform simulator (`kiosk.platform.simulator`), the hub
(`kiosk.hub.app` on uvicorn) and each kiosk (a real `Outbox` drained with a real `HubClient`: tus upload of the
material, then the case with its Idempotency-Key). `--db` picks the hub's database: a SQLite URL, or a
PostgreSQL URL (the run gets a schema of its own, dropped at the end).

Phases, in one run:

1. intake, 4 kiosks, relay off: each kiosk queues its cases in its outbox, then all drain at once;
   intake cases/s = cases / (last kiosk done - first kiosk start).
2. relay with `concurrency=1` (the original one-at-a-time relay) drains that backlog: the reference.
3. intake, 16 kiosks, relay off.
4. relay with `--relay-concurrency` drains that backlog.
   Then `--rounds` - 1 more rounds of intake at 16 and at 4 kiosks (16 first in odd rounds, so that neither
   always meets the larger database), each followed by the relay draining both. Each intake phase has a hub
   process of its own. The intake and relay figures are medians over the rounds; `intake_ratio` and
   `relay_intake_ratio` are the medians of each round's own ratio (`intake_ratios`, `relay_intake_ratios`), and
   `hub_cpu_ratio` that of the hub's CPU per case at 16 kiosks to that at 4 (`hub_cpu_ratios`: it varies less
   with the machine's load than the rates). The blocks `intake_4`, `intake_16` and `relay` are the first
   round's details (`details_from_round`). Each intake phase also prints its steady rate
   (`steady_cases_per_s`): the cases the hub accepted (its own timestamps) while every kiosk was still sending,
   from the last kiosk's start to the first kiosk's end, without the phase's start and tail;
   `intake_steady_ratio` is the median of each round's steady 16 / 4.
5. burst: 16 kiosks send while the relay runs; p95 of (hub accepted the case → the relay recorded the
   platform's acceptance).
6. catalog: a synthetic catalog of `--catalog-items` items in the hub's cache; GET with full body and with
   If-None-Match (304), median of `--catalog-requests`. `catalog_full_ms` is the body in the client's hand,
   unpacked (`catalog_last_byte_ms` before unpacking), timed with a plain HTTP client that accepts zstd and gzip,
   as the kiosk's does (the hub sends zstd); `catalog_full_gzip_ms` the same for a client that accepts only
   gzip. The same GET through `requests`, the kiosk's client, is printed as `full_requests_ms`.

`--request-threads N` sets each hub's `hub.request_threads` (request handlers at once; default the hub's).
`--hubs N` runs N hub processes on the one database and upload volume, as a site with several hubs does: kiosk
i talks to hub i mod N, every hub relays (the reference relay still runs on one), and the hub CPU figures are
the sum over them. The run ends by comparing the cases accepted with the cases the platform received
(`cases_accepted`, `platform_submitted`): equal when every case reached it exactly once.

The kiosk processes run at the lowest CPU priority (`--kiosk-nice`, default 19): on an installation each kiosk is
a machine of its own, so here they take only the CPU the hub leaves and do not charge their own work to the
hub's intake; each intake phase prints the kiosks' CPU per case (`kiosks_cpu_ms_per_case`) beside the hub's.

Relay rates come from the hub's own timestamps (cases' `updated_at` when delivered: (n - 1) / (last - first)),
read once after the phase, with the CPU time the hub and the simulator spent per case (from /proc: it varies
far less with the machine's load than the rates do). The benchmark waits for a phase's end by asking the simulator's `/sim/count` twice a
second, so waiting costs the measured processes nothing worth counting. Prints one JSON line; `--smoke` is
small and quick.
"""
from __future__ import annotations

import argparse
import http.client
import json
import logging
import multiprocessing as mp
import os
import statistics
import signal
import sys
import tempfile
import time
import urllib.parse
import uuid
import zlib
from pathlib import Path

from backports import zstd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cpu_budget import cpu_split_seconds  # noqa: E402
from benchmarks.pg_schema import Schema  # noqa: E402

APP_ID, SECRET = "govkiosk-demo", "demo-secret-change-me"
ITEM_CODE, ITEM_NAME = "11610113MB2951836X4000105044000", "高龄津贴申请"


# -- child processes ----------------------------------------------------------------------------------------
def _serve(app, port: int, role: str = "", hub: bool = False) -> None:
    import uvicorn

    from kiosk.hub.serving import serve_hub

    if os.environ.get("HUB_BENCH_PIDS"):  # for attaching a profiler (py-spy) to one phase's process
        with open(os.environ["HUB_BENCH_PIDS"], "a") as f:
            f.write(f"{role} {os.getpid()}\n")
    if hub:  # as `kiosk hub serve` runs it
        serve_hub(app, "127.0.0.1", port, log_level="warning")
    else:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, log_config=None)


def run_simulator(db_path: str, port: int, latency_ms: int = 0) -> None:
    logging.basicConfig(level=logging.ERROR)
    from kiosk.platform.simulator import create_app

    _serve(create_app(db_path, latency_ms=latency_ms), port, "simulator")


def run_hub(db_url: str, upload_dir: str, sim_url: str, port: int, relay: bool, concurrency: int,
            request_threads: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    from kiosk.hub.app import create_app
    from kiosk.platform.http_adapter import ReferenceHttpAdapter

    app = create_app(db_url, ReferenceHttpAdapter(sim_url, APP_ID, SECRET), upload_dir=upload_dir, migrate=False,
                     relay=relay, relay_concurrency=concurrency, request_threads=request_threads)
    _serve(app, port, f"hub relay={relay} concurrency={concurrency}", hub=True)


def run_kiosk(device: str, token: str, hub_url: str, data_dir: str, first: int, count: int, material_bytes: int,
              nice: int, ready, start, results) -> None:
    """One kiosk: queue `count` cases in a real outbox, wait for the start signal, drain them to the hub."""
    logging.basicConfig(level=logging.ERROR)
    if nice:
        os.nice(nice)  # on an installation a kiosk is a machine of its own: here it takes what the hub leaves
    import kiosk.sync.tus_upload  # noqa: F401  (imported at the first upload otherwise: not part of intake)
    from kiosk.sync.client import HubClient, HubRejected
    from kiosk.sync.outbox import Outbox

    outbox = Outbox(data_dir)
    scan = Path(data_dir) / "scan.pdf"
    scan.write_bytes(os.urandom(material_bytes))
    for n in range(first, first + count):
        outbox.enqueue({
            "receipt_no": f"{device}-20261122-{n:04d}", "device_id": device, "channel": "kiosk",
            "item_code": ITEM_CODE, "item_name": ITEM_NAME,
            "applicant": {"name": "测试", "id_number": "610113193001011234", "card_type": "111", "phone": "",
                          "address": ""},
            "form": {"bank_account": "6217000000000000"},
            "materials": [{"code": "M01", "name": "居民身份证", "pages": 1}],
            "delivery": "自取", "submitted_at": "2026-11-22T10:00:00+08:00"}, [str(scan)])
    client = HubClient(hub_url, token, timeout=60)
    try:  # a kiosk at work has its connection open and its token checked (argon2, then cached by the hub)
        client.case_status(f"{device}-20000101-0000")
    except HubRejected:
        pass  # 404: no such case, as expected
    ready.put(device)
    start.wait()
    t0, cpu0 = time.time(), time.process_time()
    result = outbox.drain(client)
    t1, cpu1 = time.time(), time.process_time()
    client.close()
    outbox.close()
    results.put({"device": device, "t0": t0, "t1": t1, "cpu_s": cpu1 - cpu0, "sent": result["sent"],
                 "error": result["error"], "failed": result["failed"]})


# -- the conductor ------------------------------------------------------------------------------------------
def _free_port() -> int:
    from kiosk.hub.serving import free_port

    return free_port()


def _wait_http(url: str, proc, timeout: float = 60.0) -> None:
    from kiosk.hub.serving import wait_healthy

    wait_healthy(url, timeout, lambda: None if proc.is_alive() else f"the process serving {url} exited with {proc.exitcode}")


def _cpu_s(proc) -> float:
    """User + system CPU seconds of a child process so far (Linux /proc), threads included."""
    return sum(_cpu_split_s(proc))


def _cpu_split_s(proc) -> tuple[float, float]:
    """(user, system) CPU seconds of a child process so far (Linux /proc), threads included; NaN if unreadable."""
    return cpu_split_seconds(proc.pid) or (float("nan"), float("nan"))


def _switches(proc) -> int:
    """Context switches (voluntary and not) of all the threads of a child process so far (Linux /proc)."""
    total = 0
    for status in Path(f"/proc/{proc.pid}/task").glob("*/status"):
        try:
            for line in status.read_text().splitlines():
                if "ctxt_switches:" in line:
                    total += int(line.split()[-1])
        except (OSError, ValueError):
            pass  # a thread that ended meanwhile
    return total


def _stop(proc) -> None:
    if proc.is_alive():
        proc.terminate()  # uvicorn shuts down gracefully on SIGTERM (the relay stops with the lifespan)
        proc.join(20)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


class Bench:
    def __init__(self, args, tmp: Path, db_url: str) -> None:
        self.args, self.tmp, self.db_url = args, tmp, db_url
        self.ctx = mp.get_context("spawn")
        self.upload_dir = tmp / "uploads"
        self.sim_port = _free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.sim = self.ctx.Process(target=run_simulator, daemon=True,
                                    args=(str(tmp / "platform.db"), self.sim_port, args.platform_latency_ms))
        self.hubs: list = []
        self.hub_urls: list[str] = []
        self.next_no = 1
        self.tokens: dict[str, str] = {}

    def start(self) -> None:
        from kiosk.hub.auth import create_token
        from kiosk.hub.db import make_engine, migrate, session_factory

        migrate(self.db_url)
        engine = make_engine(self.db_url)
        sessions = session_factory(engine)
        with sessions() as s, s.begin():
            for i in range(1, max(self.args.kiosks) + 1):
                self.tokens[f"K{i:04d}"] = create_token(s, "kiosk", f"K{i:04d}")
        engine.dispose()
        self.sim.start()
        _wait_http(self.sim_url, self.sim)

    def hub_up(self, relay: bool, concurrency: int = 1, processes: int | None = None) -> None:
        """`processes` hub processes on the one database and upload volume (default `--hubs`), started one after
        the other (the first makes the hub key the others read)."""
        self.hub_down()
        for _ in range(processes or self.args.hubs):
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            hub = self.ctx.Process(target=run_hub, args=(self.db_url, str(self.upload_dir), self.sim_url, port, relay,
                                                         concurrency, self.args.request_threads), daemon=True)
            hub.start()
            self.hubs.append(hub)
            self.hub_urls.append(url)
            _wait_http(url, hub)

    def hubs_cpu_s(self) -> float:
        return sum(_cpu_s(h) for h in self.hubs)

    def hubs_usage(self) -> tuple[float, float, int]:
        """The hubs' (CPU seconds, of which system, context switches) so far: one read of each /proc file."""
        split = [_cpu_split_s(h) for h in self.hubs]
        return (sum(u + s for u, s in split), sum(s for _, s in split), sum(_switches(h) for h in self.hubs))

    def hub_down(self) -> None:
        for hub in self.hubs:
            _stop(hub)
        self.hubs, self.hub_urls = [], []

    def stop(self) -> None:
        self.hub_down()
        _stop(self.sim)

    def submitted(self) -> int:
        import requests

        return requests.get(self.sim_url + "/sim/count", timeout=10).json()["submitted"]

    def intake(self, kiosks: int, cases: int, since_id: int) -> dict:
        """`cases` spread over `kiosks` kiosk processes, all draining at once. Returns the rate and receipts."""
        ready, results, start = self.ctx.Queue(), self.ctx.Queue(), self.ctx.Event()
        procs = []
        per = [cases // kiosks + (1 if i < cases % kiosks else 0) for i in range(kiosks)]
        for i in range(kiosks):
            device = f"K{i + 1:04d}"
            data_dir = self.tmp / f"kiosk-{uuid.uuid4().hex[:8]}"
            p = self.ctx.Process(target=run_kiosk, daemon=True, args=(
                device, self.tokens[device], self.hub_urls[i % len(self.hub_urls)], str(data_dir), self.next_no, per[i],
                self.args.material_bytes, self.args.kiosk_nice, ready, start, results))
            p.start()
            procs.append(p)
        self.next_no += max(per) + 1
        for _ in procs:
            ready.get(timeout=300)
        before = self.hubs_usage()
        start.set()
        done = [results.get(timeout=600) for _ in procs]
        hub_cpu, hub_sys, switches = (b - a for a, b in zip(before, self.hubs_usage()))
        for p in procs:
            p.join(30)
        sent = sum(d["sent"] for d in done)
        errors = [d["error"] for d in done if d["error"]] + [f"{d['failed']} failed" for d in done if d["failed"]]
        span = max(d["t1"] for d in done) - min(d["t0"] for d in done)
        # steady: while every kiosk was still sending (from the last kiosk's start to the first kiosk's end), the
        # cases the hub accepted in that window by its own timestamps; the whole-span rate above also holds the
        # start and the tail, when fewer kiosks send than the phase has
        lo, hi = max(d["t0"] for d in done), min(d["t1"] for d in done)
        steady = sum(1 for t in self.accepted_times(since_id) if lo <= t <= hi)
        return {"kiosks": kiosks, "cases": cases, "sent": sent, "seconds": round(span, 3),
                "cases_per_s": round(sent / span, 2),
                "steady_cases": steady, "steady_seconds": round(max(hi - lo, 0.0), 3),
                "steady_cases_per_s": round(steady / (hi - lo), 2) if hi - lo > 0 and steady else None,
                "hub_cpu_ms_per_case": round(hub_cpu * 1000 / max(1, sent), 2),
                "hub_sys_ms_per_case": round(hub_sys * 1000 / max(1, sent), 2),
                "hub_switches_per_case": round(switches / max(1, sent), 1),
                "kiosks_cpu_ms_per_case": round(sum(d["cpu_s"] for d in done) * 1000 / max(1, sent), 2),
                "errors": errors[:3]}

    def wait_relayed(self, total: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.submitted() >= total:
                return True
            time.sleep(0.5)
        return False

    def _read(self, statement) -> list:
        """The rows of one read of the hub's database, on an engine of its own (the hubs own theirs)."""
        from kiosk.hub.db import make_engine, session_factory

        engine = make_engine(self.db_url)
        try:
            with session_factory(engine)() as s:
                return s.execute(statement).all()
        finally:
            engine.dispose()

    def relay_times(self, since_id: int) -> list[tuple[float, float]]:
        """(accepted by the hub, delivered to the platform) of the cases delivered with id > since_id."""
        from sqlalchemy import select

        from kiosk.hub.models import Case
        from kiosk.hub.tus import _aware

        rows = self._read(select(Case.created_at, Case.updated_at).where(Case.id > since_id, Case.status == "submitted"))
        return [(_aware(a).timestamp(), _aware(b).timestamp()) for a, b in rows]

    def accepted_times(self, since_id: int) -> list[float]:
        """When the hub accepted each case with id > since_id (its `created_at`, wall clock)."""
        from sqlalchemy import select

        from kiosk.hub.models import Case
        from kiosk.hub.tus import _aware

        return [_aware(a).timestamp() for (a,) in self._read(select(Case.created_at).where(Case.id > since_id))]

    def max_case_id(self) -> int:
        from sqlalchemy import func, select

        from kiosk.hub.models import Case

        return self._read(select(func.coalesce(func.max(Case.id), 0)))[0][0]

    def relay(self, concurrency: int, since_id: int, total: int, processes: int | None = None) -> dict:
        """Start the hubs, whose relays drain the backlog; the rate from the hub's delivery timestamps, and the CPU
        the hubs and the simulator spent per case once the hubs were up (less sensitive to the machine's load)."""
        self.hub_up(relay=True, concurrency=concurrency, processes=processes)
        ready, hub0, sim0 = time.time(), self.hubs_cpu_s(), _cpu_s(self.sim)
        ok = self.wait_relayed(total, timeout=max(120.0, total * 2.0))
        hub_cpu, sim_cpu = self.hubs_cpu_s() - hub0, _cpu_s(self.sim) - sim0
        self.hub_down()
        done = sorted(b for _, b in self.relay_times(since_id))
        rate = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 and done[-1] > done[0] else 0.0
        after = sum(1 for b in done if b >= ready) or 1
        return {"concurrency": concurrency, "cases": len(done), "all_relayed": ok, "cases_per_s": round(rate, 2),
                "hub_cpu_ms_per_case": round(hub_cpu * 1000 / after, 2),
                "platform_cpu_ms_per_case": round(sim_cpu * 1000 / after, 2)}

    def catalog(self, items: int, requests_n: int) -> dict:
        """Synthetic catalog of `items` items in the hub's cache; GET full and 304 times (ms, median)."""
        import requests
        from sqlalchemy import delete

        from kiosk.hub.db import make_engine, session_factory
        from kiosk.hub.models import CatalogEntry, utcnow
        from kiosk.platform.catalog_data import SERVICES

        engine = make_engine(self.db_url)
        try:
            with session_factory(engine)() as s, s.begin():
                s.execute(delete(CatalogEntry))
                now = utcnow()
                for i in range(items):
                    item = dict(SERVICES[i % len(SERVICES)])
                    item["item_code"] = f"{item['item_code']}-{i:05d}"
                    s.add(CatalogEntry(item_code=item["item_code"], position=i, data=item, fetched_at=now))
        finally:
            engine.dispose()
        auth = {"Authorization": f"Bearer {self.tokens['K0001']}"}
        url = urllib.parse.urlsplit(self.hub_urls[0] + "/api/v1/catalog")
        # The hub's time: a plain HTTP client (as queue_load.py's), the body read to its last byte, then
        # unpacked. `requests` adds time of its own per 9 MB body (urllib3 unpacks it in pieces as it reads:
        # about 10 ms as gzip, 3–8 as zstd): printed beside it as `full_requests_ms`, the kiosk's client.
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

        def full_get(accept: str) -> dict:
            """`requests_n` full GETs: their times (ms) to the body unpacked and to its last byte, and the last
            answer's tag, size unpacked, bytes sent and coding."""
            full, last_byte = [], []
            for _ in range(requests_n):
                t = time.perf_counter()
                conn.request("GET", url.path, headers={**auth, "Accept-Encoding": accept})
                r = conn.getresponse()
                data = r.read()
                last_byte.append((time.perf_counter() - t) * 1000)
                assert r.status == 200, r.status
                coding = r.getheader("Content-Encoding") or "identity"
                body = (zstd.decompress(data) if coding == "zstd" else
                        zlib.decompress(data, 16 + zlib.MAX_WBITS) if coding == "gzip" else data)
                full.append((time.perf_counter() - t) * 1000)
            assert len(json.loads(body)) == items
            return {"full": full, "last_byte": last_byte, "etag": r.getheader("ETag"), "size": len(body),
                    "sent": len(data), "coding": coding}

        # the kiosk's client accepts zstd and gzip (it is sent zstd); a client that accepts only gzip, beside it
        kiosk, gzip_only = full_get("zstd, gzip"), full_get("gzip")
        not_modified = []
        for _ in range(requests_n):
            t = time.perf_counter()
            conn.request("GET", url.path, headers={**auth, "Accept-Encoding": "zstd, gzip",
                                                     "If-None-Match": kiosk["etag"]})
            r = conn.getresponse()
            r.read()
            not_modified.append((time.perf_counter() - t) * 1000)
            assert r.status == 304, r.status
        conn.close()
        with requests.Session() as session:
            session.headers.update(auth)
            with_requests = []
            for _ in range(requests_n):
                t = time.perf_counter()
                session.get(url.geturl(), timeout=30).raise_for_status()
                with_requests.append((time.perf_counter() - t) * 1000)
        return {"items": items, "bytes": kiosk["size"], "coding": kiosk["coding"], "bytes_sent": kiosk["sent"],
                "full_ms": round(statistics.median(kiosk["full"]), 2), "gzip_bytes_sent": gzip_only["sent"],
                "full_gzip_ms": round(statistics.median(gzip_only["full"]), 2),
                "last_byte_ms": round(statistics.median(kiosk["last_byte"]), 2),
                "full_requests_ms": round(statistics.median(with_requests), 2),
                "not_modified_ms": round(statistics.median(not_modified), 2), "requests": requests_n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None, help="hub database URL: sqlite:///PATH or postgresql+psycopg://…"
                                               " (default: a SQLite file in a temporary directory)")
    ap.add_argument("--smoke", action="store_true", help="a few cases, a few seconds")
    ap.add_argument("--cases", type=int, default=240, help="cases per phase")
    ap.add_argument("--kiosks", default="4,16", help="kiosk counts for intake, e.g. 4,16")
    ap.add_argument("--relay-concurrency", type=int, default=None,
                    help="deliveries in flight (default: the hub's default, hub.relay_concurrency)")
    ap.add_argument("--material-bytes", type=int, default=100_000)
    ap.add_argument("--platform-latency-ms", type=int, default=0,
                    help="the simulator answers each platform call this much later (a network and a busy platform;"
                         " default 0, as fast as it can)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="rounds of intake at both kiosk counts (and the relay draining them); the figures are the"
                         " medians over the rounds, the ratios the medians of each round's ratio (default 4, smoke 1)")
    ap.add_argument("--kiosk-nice", type=int, default=19,
                    help="CPU priority (nice) of the kiosk processes: on an installation each kiosk is a machine of"
                         " its own, so here the kiosks take only the CPU the hub leaves them (default 19; 0 to let"
                         " them compete with the hub)")
    ap.add_argument("--hubs", type=int, default=1,
                    help="hub processes on the one database (kiosks spread over them; each relays); the reference"
                         " relay (one case at a time) always runs on one")
    ap.add_argument("--request-threads", type=int, default=None,
                    help="request handlers at once in each hub (default: the hub's default, hub.request_threads)")
    ap.add_argument("--catalog-items", type=int, default=3000)
    ap.add_argument("--catalog-requests", type=int, default=20)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: unwind, stop what it started
    args.kiosks = sorted({int(k) for k in args.kiosks.split(",")})
    if args.hubs < 1:
        ap.error("--hubs must be at least 1")
    if args.smoke:
        args.cases, args.material_bytes, args.catalog_items, args.catalog_requests = 8, 20_000, 300, 3
        args.kiosks = [2, 4]
    if args.rounds is None:
        args.rounds = 1 if args.smoke else 4
    if args.relay_concurrency is None or args.request_threads is None:
        import inspect

        from kiosk.hub.app import create_app

        defaults = inspect.signature(create_app).parameters
        if args.relay_concurrency is None:
            args.relay_concurrency = defaults["relay_concurrency"].default
        if args.request_threads is None:
            args.request_threads = defaults["request_threads"].default
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    load_start = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        tmp_path = Path(tmp)
        schema = None
        if args.db and args.db.startswith("postgresql"):
            schema = Schema(args.db)
            db_url = schema.url
            engine_name = "postgresql"
        else:
            db_url = args.db or f"sqlite:///{tmp_path}/hub.db"
            engine_name = "sqlite"
        bench = Bench(args, tmp_path, db_url)
        out: dict = {"benchmark": "hub_throughput", "engine": engine_name, "smoke": args.smoke,
                     "cases_per_phase": args.cases, "material_bytes": args.material_bytes,
                     "relay_concurrency": args.relay_concurrency, "platform_latency_ms": args.platform_latency_ms,
                     "rounds_run": args.rounds, "kiosk_nice": args.kiosk_nice, "hubs": args.hubs,
                     "request_threads": args.request_threads}
        try:
            bench.start()
            few, many = args.kiosks[0], args.kiosks[-1]
            relayed = 0
            rounds = []
            for r in range(args.rounds):
                # 1-4: intake at `few` and at `many` kiosks, each on a hub of its own with the relay off; in odd
                # rounds `many` goes first, so neither count always meets the larger database. The first round's
                # `few` backlog is drained by the one-at-a-time relay (the reference); the rest by the relay as
                # configured, whose rate is taken over each round's whole backlog.
                this, mark_relay = {}, None
                for kiosks in ([few, many] if r % 2 == 0 else [many, few]):
                    bench.hub_up(relay=False)
                    mark = bench.max_case_id()
                    this[kiosks] = bench.intake(kiosks, args.cases, mark)
                    relayed += this[kiosks]["sent"]
                    if r == 0 and kiosks == few:
                        out["relay_c1"] = bench.relay(1, mark, relayed, processes=1)  # the reference: one at a time
                    elif mark_relay is None:
                        mark_relay = mark
                relay = bench.relay(args.relay_concurrency, mark_relay, relayed)
                rounds.append({"intake_few": this[few], "intake_many": this[many], "relay": relay})
            # the details (errors, kiosks' CPU, …) are the first round's; the rates and ratios below are medians
            out[f"intake_{few}"], out[f"intake_{many}"] = rounds[0]["intake_few"], rounds[0]["intake_many"]
            out["relay"], out["details_from_round"] = rounds[0]["relay"], 1
            # 5: burst with the relay running
            bench.hub_up(relay=True, concurrency=args.relay_concurrency)
            mark = bench.max_case_id()
            burst = bench.intake(many, args.cases, mark)
            relayed += burst["sent"]
            ok = bench.wait_relayed(relayed, timeout=max(120.0, args.cases * 2.0))
            times = bench.relay_times(mark)
            delays = sorted(b - a for a, b in times)
            ends = [b for _, b in times]
            burst.update(all_relayed=ok, relayed=len(times),
                         drained_s=round(max(ends) - min(a for a, _ in times), 3) if times else None,
                         delay_p50_s=round(delays[len(delays) // 2], 3) if delays else None,
                         delay_p95_s=round(delays[min(len(delays) - 1, int(len(delays) * 0.95))], 3) if delays else None)
            out["burst"] = burst
            # every case accepted reached the platform once, whichever hub's relay sent it
            out["cases_accepted"], out["platform_submitted"] = relayed, bench.submitted()
            # 6: the catalog
            out["catalog"] = bench.catalog(args.catalog_items, args.catalog_requests)
        finally:
            bench.stop()
            if schema:
                schema.drop()

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 2)

    def per_round(fn) -> list[float]:
        return [round(fn(r), 3) for r in rounds]

    intake_few = median(per_round(lambda r: r["intake_few"]["cases_per_s"]))
    intake_many = median(per_round(lambda r: r["intake_many"]["cases_per_s"]))
    relay_rate, relay_c1 = median(per_round(lambda r: r["relay"]["cases_per_s"])), out["relay_c1"]["cases_per_s"]
    intake_ratios = per_round(lambda r: r["intake_many"]["cases_per_s"] / max(r["intake_few"]["cases_per_s"], 1e-9))
    steady_few = [r["intake_few"]["steady_cases_per_s"] for r in rounds]
    steady_many = [r["intake_many"]["steady_cases_per_s"] for r in rounds]
    steady_ratios = [round(m / f, 3) for f, m in zip(steady_few, steady_many) if f and m]
    # the hub's CPU per case varies far less with the machine's load than the rates do
    cpu_ratios = per_round(lambda r: r["intake_many"]["hub_cpu_ms_per_case"]
                           / max(r["intake_few"]["hub_cpu_ms_per_case"], 1e-9))
    relay_intake = per_round(lambda r: r["relay"]["cases_per_s"] / max(r["intake_many"]["cases_per_s"], 1e-9))
    out["rounds"] = [{"intake_few": r["intake_few"]["cases_per_s"], "intake_many": r["intake_many"]["cases_per_s"],
                      "steady_few": r["intake_few"]["steady_cases_per_s"],
                      "steady_many": r["intake_many"]["steady_cases_per_s"],
                      "hub_cpu_ms_per_case_few": r["intake_few"]["hub_cpu_ms_per_case"],
                      "hub_cpu_ms_per_case_many": r["intake_many"]["hub_cpu_ms_per_case"],
                      "hub_sys_ms_per_case_few": r["intake_few"]["hub_sys_ms_per_case"],
                      "hub_sys_ms_per_case_many": r["intake_many"]["hub_sys_ms_per_case"],
                      "hub_switches_per_case_few": r["intake_few"]["hub_switches_per_case"],
                      "hub_switches_per_case_many": r["intake_many"]["hub_switches_per_case"],
                      "relay": r["relay"]["cases_per_s"], "relay_cases": r["relay"]["cases"]} for r in rounds]
    out.update({
        f"intake_cases_per_s_{few}": intake_few,
        f"intake_cases_per_s_{many}": intake_many,
        "intake_ratio": median(intake_ratios),
        "intake_ratios": intake_ratios,
        f"intake_steady_cases_per_s_{few}": median([x for x in steady_few if x]) if any(steady_few) else None,
        f"intake_steady_cases_per_s_{many}": median([x for x in steady_many if x]) if any(steady_many) else None,
        "intake_steady_ratio": median(steady_ratios) if steady_ratios else None,
        "intake_steady_ratios": steady_ratios,
        f"hub_cpu_ms_per_case_{few}": median(per_round(lambda r: r["intake_few"]["hub_cpu_ms_per_case"])),
        f"hub_cpu_ms_per_case_{many}": median(per_round(lambda r: r["intake_many"]["hub_cpu_ms_per_case"])),
        f"hub_sys_ms_per_case_{few}": median(per_round(lambda r: r["intake_few"]["hub_sys_ms_per_case"])),
        f"hub_sys_ms_per_case_{many}": median(per_round(lambda r: r["intake_many"]["hub_sys_ms_per_case"])),
        f"hub_switches_per_case_{few}": median(per_round(lambda r: r["intake_few"]["hub_switches_per_case"])),
        f"hub_switches_per_case_{many}": median(per_round(lambda r: r["intake_many"]["hub_switches_per_case"])),
        "hub_cpu_ratio": median(cpu_ratios),
        "hub_cpu_ratios": cpu_ratios,
        "relay_cases_per_s": relay_rate,
        "relay_c1_cases_per_s": relay_c1,
        "relay_speedup": round(relay_rate / relay_c1, 2) if relay_c1 else None,
        "relay_intake_ratio": median(relay_intake),
        "relay_intake_ratios": relay_intake,
        "relay_cpu_ms_per_case": median(per_round(lambda r: r["relay"]["hub_cpu_ms_per_case"]
                                                  + r["relay"]["platform_cpu_ms_per_case"])),
        "relay_c1_cpu_ms_per_case": round(out["relay_c1"]["hub_cpu_ms_per_case"]
                                          + out["relay_c1"]["platform_cpu_ms_per_case"], 2),
        "delay_p95_s": out["burst"]["delay_p95_s"],
        "catalog_full_ms": out["catalog"]["full_ms"],
        "catalog_last_byte_ms": out["catalog"]["last_byte_ms"],
        "catalog_full_gzip_ms": out["catalog"]["full_gzip_ms"],
        "catalog_304_ms": out["catalog"]["not_modified_ms"],
        "all_relayed": bool(out["relay_c1"]["all_relayed"] and all(r["relay"]["all_relayed"] for r in rounds)
                            and out["burst"]["all_relayed"]),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
