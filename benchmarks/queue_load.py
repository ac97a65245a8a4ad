"""Load on the 代办 queue: N channels creating requests while M clerks claim and complete them, against running
hub processes (`kiosk hub serve`, with the platform simulator for the catalog) on SQLite or PostgreSQL.

Prints one JSON document: requests/s, create and claim latency p50/p95, requests claimed twice and requests lost
(both must be 0), how soon a listening clerk's live feed shows a new request (from the create call, and from its
answer), and on PostgreSQL the same create/claim/complete workload through pgqueuer (in the `test` and `bench`
extras) on the same database, with our claim throughput as a ratio to it and what differs between the two sides
("comparison").

    python benchmarks/queue_load.py --smoke
    python benchmarks/queue_load.py --db postgresql+psycopg://USER:PW@HOST/DB --requests 10000 --clerks 50
    python benchmarks/queue_load.py --floor [--db postgresql+psycopg://…]

`--floor` runs the same clients against FastAPI routes of the same shape that do nothing
(`benchmarks/queue_floor_app.py`, one uvicorn process): what the HTTP stack alone allows on this machine; on
PostgreSQL also with one `SELECT 1` per call through the hub's statement path ("with_statement": one HTTP call and
one round trip per step, none of the hub's work), beside pgqueuer.

On PostgreSQL the run works in a schema of its own (created and dropped), so it may share a database.
"""
from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cpu_budget import CpuMeter  # noqa: E402
from benchmarks.pg_schema import Schema  # noqa: E402
from kiosk.hub.serving import wait_healthy  # noqa: E402

PENSION = "11610113MB2951836X4000127003000"
KIOSK_CMD = [sys.executable, "-c", "from kiosk.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 2)





class Client:
    """One client's keep-alive HTTP connection (http.client: a fraction of `requests`' work per call, so the 28
    client threads of this process delay one another, and the latencies they time, as little as they can)."""

    def __init__(self, hub_url: str, token: str) -> None:
        parts = urlsplit(hub_url)
        self.host, self.port = parts.hostname, parts.port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn: http.client.HTTPConnection | None = None
        self.calls = 0  # requests sent, retries included

    def post(self, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict | None, str]:
        """(status, JSON answer or None, the answer's first 100 characters); OSError/HTTPException on failure."""
        return self.call("POST", path, json.dumps(body).encode("utf-8"), headers)

    def call(self, method: str, path: str, data: bytes | None = None,
             headers: dict | None = None) -> tuple[int, dict | None, str]:
        for attempt in (1, 2):  # a keep-alive connection the server closed meanwhile is opened again once
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.calls += 1
                self.conn.request(method, path, body=data, headers=self.headers | (headers or {}))
                resp = self.conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            doc = json.loads(raw) if raw and resp.getheader("content-type", "").startswith("application/json") else None
            return resp.status, doc, raw[:100].decode("utf-8", "replace")
        raise AssertionError("unreachable")


def setup_database(db_url: str, channels: int, clerks: int) -> tuple[list[str], list[str]]:
    """Outlets and tokens, written straight into the hub database (as `kiosk hub …` would)."""
    from kiosk.hub.auth import create_token
    from kiosk.hub.db import make_engine, migrate, session_factory
    from kiosk.hub.outlets import add_outlet

    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as s, s.begin():
            add_outlet(s, "BENCH-C", "压测县政务服务中心", "county")
            add_outlet(s, "BENCH-T", "压测镇便民服务中心", "town", parent="BENCH-C")
        with session_factory(engine)() as s, s.begin():
            channel_tokens = [create_token(s, "channel", f"bench-ch{i}") for i in range(channels)]
            clerk_tokens = [create_token(s, "clerk", f"bench-clerk{i}", outlet_code="BENCH-C") for i in range(clerks)]
    finally:
        engine.dispose()
    return channel_tokens, clerk_tokens


class Processes:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, args: list[str], env: dict, log: Path, command: list[str] = KIOSK_CMD) -> subprocess.Popen:
        proc = subprocess.Popen(command + args, env=env, stdout=subprocess.DEVNULL,
                                stderr=open(log, "ab"), start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _watch_feed(hub_url: str, token: str, ready, stop, out) -> None:
    """In a process of its own (so the clients' threads do not delay it): read the live feed, and when told to
    stop send back when each `created` event arrived (time.monotonic is the same clock in every process)."""
    parts = urlsplit(hub_url)
    arrivals: dict[int, float] = {}
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    conn.request("GET", "/api/v1/proxy-requests/feed", headers={"Authorization": f"Bearer {token}"})
    resp = conn.getresponse()
    if resp.status != 200:
        out.send({"error": f"feed answered {resp.status}"})
        return

    def read() -> None:
        kind = None
        try:
            while True:
                raw = resp.readline()
                if not raw:
                    return
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("event: "):
                    kind = line[7:]
                    if kind == "ready":
                        ready.set()
                elif line.startswith("data: ") and kind == "proxy":
                    ev = json.loads(line[6:])
                    if ev.get("action") == "created":
                        arrivals.setdefault(ev["request_id"], time.monotonic())
        except Exception:
            return

    threading.Thread(target=read, daemon=True).start()
    stop.wait()
    time.sleep(0.5)  # the last events on their way
    out.send(dict(arrivals))
    try:
        conn.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class FeedWatch:
    """A listening clerk in its own process: when each `created` event arrived on its live feed."""

    def __init__(self, hub_url: str, token: str) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.ready, self.stop = ctx.Event(), ctx.Event()
        self.recv, send = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_watch_feed, args=(hub_url, token, self.ready, self.stop, send), daemon=True)
        self.proc.start()
        self.arrivals: dict[int, float] = {}
        if not self.ready.wait(30):
            raise RuntimeError("the live feed did not answer within 30 s")

    def close(self) -> None:
        self.stop.set()
        if self.recv.poll(30):
            got = self.recv.recv()
            self.arrivals = {int(k): v for k, v in got.items()} if "error" not in got else {}
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()


def prove_tokens(hub_urls: list[str], tokens: list[str]) -> None:
    """One authenticated call per token and hub before the timed window: argon2 proves a token once per hub process
    (0.1–0.35 s of CPU each here), which a hub that has been running did long before; the window measures the
    queue, not 28 first sign-ins at once."""
    def one(url: str, token: str) -> None:
        status, _doc, text = Client(url, token).call("GET", "/api/v1/outlets/BENCH-T")
        if status == 401:
            raise SystemExit(f"the hub refused a benchmark token: {text}")

    threads = [threading.Thread(target=one, args=(u, t)) for u in hub_urls for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def claim_request(separate_start: bool) -> dict:
    """A clerk's claim: take the next request and start it in the same call, or (`--separate-start`) only take it."""
    return {} if separate_start else {"start": True}


def run_hub_load(hub_urls: list[str], channel_tokens: list[str], clerk_tokens: list[str], total: int,
                 separate_start: bool = False) -> dict:
    created: dict[int, float] = {}  # request id -> monotonic time before its create call
    create_errors: list[str] = []
    create_ms: list[float] = []
    answered: dict[int, float] = {}  # request id -> monotonic time its create call was answered (committed)
    claims: collections.Counter = collections.Counter()
    completed: set[int] = set()
    claim_ms: list[float] = []
    claim_times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    creating_done = threading.Event()
    per_channel = [total // len(channel_tokens) + (1 if i < total % len(channel_tokens) else 0)
                   for i in range(len(channel_tokens))]
    feed = FeedWatch(hub_urls[0], clerk_tokens[0])
    clients: list[Client] = []
    empty_claims = [0]  # claims answered 204 (nothing waiting), at once or after the long poll
    claim_body = claim_request(separate_start)

    def channel(i: int) -> None:
        c = Client(hub_urls[i % len(hub_urls)], channel_tokens[i])
        clients.append(c)
        rnd = random.Random(i)
        for n in range(per_channel[i]):
            body = {"outlet": "BENCH-T", "item_code": PENSION, "item_name": "城乡居民养老保险参保登记",
                    "mode": "remote_guidance", "applicant": {"name": "压测用户", "id_number": "11010519491231002X"},
                    "contact_phone": "13700009050", "channel": "hotline", "priority": "normal"}
            if rnd.random() < 0.1:
                body.update(priority="green", green_reason="elderly")
            t0 = time.monotonic()
            for attempt in range(5):
                try:
                    status, doc, text = c.post("/api/v1/proxy-requests", body, {"Idempotency-Key": f"bench-{i}-{n}"})
                except (OSError, http.client.HTTPException) as exc:
                    status, err = None, type(exc).__name__
                if status in (200, 201):
                    with lock:
                        now = time.monotonic()
                        created.setdefault(doc["id"], t0)
                        answered.setdefault(doc["id"], now)
                        create_ms.append((now - t0) * 1000)
                    break
                if status is not None:
                    err = f"{status} {text}"
                time.sleep(0.2 * (attempt + 1))  # a retry with the same key is safe: the hub replays
            else:
                with lock:
                    create_errors.append(err)

    def clerk(i: int) -> None:
        c = Client(hub_urls[i % len(hub_urls)], clerk_tokens[i])
        clients.append(c)
        while True:
            t0 = time.perf_counter()
            try:
                status, doc, text = c.post("/api/v1/proxy-requests/claim", claim_body)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(type(exc).__name__)
                time.sleep(0.1)
                continue
            waited = False
            if status == 204:
                with lock:
                    empty_claims[0] += 1
                    finished = creating_done.is_set() and len(completed) >= len(created)
                if finished:
                    return
                try:
                    status, doc, text = c.post("/api/v1/proxy-requests/claim", {**claim_body, "wait_s": 1})  # long poll
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        errors.append(type(exc).__name__)
                    continue
                waited = True
                if status == 204:
                    with lock:
                        empty_claims[0] += 1
                    continue
            if status != 200:
                with lock:
                    errors.append(f"claim {status} {text}")
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            rid = doc["id"]
            with lock:
                claims[rid] += 1
                claim_times.append(time.monotonic())
                if not waited:
                    claim_ms.append(elapsed)
            for action in ("complete",) if doc["status"] == "in_progress" else ("start", "complete"):
                try:
                    status, doc, text = c.post(f"/api/v1/proxy-requests/{rid}/transitions", {"action": action})
                except (OSError, http.client.HTTPException) as exc:
                    status, text = None, type(exc).__name__
                if status != 200:
                    with lock:
                        errors.append(f"{action} {status} {text}")
                    break
            else:
                with lock:
                    completed.add(rid)

    start = time.monotonic()
    clerk_threads = [threading.Thread(target=clerk, args=(i,), daemon=True) for i in range(len(clerk_tokens))]
    channel_threads = [threading.Thread(target=channel, args=(i,), daemon=True) for i in range(len(channel_tokens))]
    for t in clerk_threads + channel_threads:
        t.start()
    for t in channel_threads:
        t.join()
    creating_done.set()
    created_s = time.monotonic() - start
    deadline = time.monotonic() + max(120.0, total * 0.05)
    for t in clerk_threads:
        t.join(max(0.1, deadline - time.monotonic()))
    elapsed = time.monotonic() - start
    feed.close()
    feed_ms = [(feed.arrivals[rid] - t0) * 1000 for rid, t0 in created.items() if rid in feed.arrivals]
    # from the create call's answer (its commit) to the listening clerk: the feed's own delay
    feed_after_ms = [max(0.0, (feed.arrivals[rid] - t1) * 1000) for rid, t1 in answered.items()
                     if rid in feed.arrivals]
    claim_window = (max(claim_times) - min(claim_times)) if len(claim_times) > 1 else elapsed
    calls = sum(c.calls for c in clients)
    return {
        "created": len(created), "create_errors": len(create_errors), "completed": len(completed),
        "seconds": round(elapsed, 2), "requests_per_s": round(len(completed) / elapsed, 1),
        "creates_per_s": round(len(created) / created_s, 1),
        "create_p50_ms": pct(create_ms, 0.50), "create_p95_ms": pct(create_ms, 0.95),
        "claims_per_s": round(len(claim_times) / max(claim_window, 1e-6), 1),
        "claim_p50_ms": pct(claim_ms, 0.50), "claim_p95_ms": pct(claim_ms, 0.95),
        "double_claims": sum(1 for n in claims.values() if n > 1),
        "lost_in_run": len(set(created) - completed) + len(create_errors),
        "feed_created_p50_ms": pct(feed_ms, 0.50), "feed_created_p95_ms": pct(feed_ms, 0.95),
        "feed_after_answer_p95_ms": pct(feed_after_ms, 0.95),
        "feed_seen": len(feed_ms), "errors": len(errors), "first_errors": errors[:3] + create_errors[:3],
        # the floor's clients make exactly three calls a request (four with --separate-start); ours also claim
        # when nothing waits
        "http_calls": calls, "empty_claims": empty_claims[0],
        "http_calls_per_request": round(calls / max(len(completed), 1), 2),
        "empty_claims_per_request": round(empty_claims[0] / max(len(completed), 1), 2),
        "_created_ids": set(created),
    }


def audit_database(db_url: str, ids: set[int]) -> dict:
    """What the database says: every request done, each claimed and started exactly once (from the event log)."""
    from sqlalchemy import func, select

    from kiosk.hub.db import make_engine
    from kiosk.hub.models import ProxyEvent, ProxyRequest

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            not_done = conn.execute(select(func.count()).select_from(ProxyRequest)
                                    .where(ProxyRequest.status != "done")).scalar()
            rows = conn.execute(select(func.count()).select_from(ProxyRequest)).scalar()
            # one pass over the event log: each request's `claimed` and `started` events counted
            per = select(func.count().filter(ProxyEvent.action == "claimed").label("claimed"),
                         func.count().filter(ProxyEvent.action == "started").label("started")
                         ).group_by(ProxyEvent.request_id).subquery()
            twice, started_once = conn.execute(select(func.count().filter(per.c.claimed > 1),
                                                      func.count().filter(per.c.started == 1))).one()
    finally:
        engine.dispose()
    # every request started exactly once, whether its claim started it or a `start` of its own did
    return {"rows": rows, "not_done": not_done, "claimed_twice_in_log": twice, "missing_rows": len(ids) - rows,
            "not_started_once_in_log": rows - started_once}


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def run_floor(total: int, channels: int, clerks: int, statement_db: str | None = None,
              separate_start: bool = False) -> dict:
    """The same clients (creates; claim and start in one call + complete, or claim + start + complete with
    `separate_start`) against `queue_floor_app` on uvicorn: the HTTP stack's
    own cost, with no work behind the routes; with `statement_db`, one `SELECT 1` per call on that PostgreSQL
    database through the hub's statement path."""
    port = free_port()
    procs = Processes()
    env = dict(os.environ, QUEUE_FLOOR_DB=statement_db) if statement_db else dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="queue-floor-") as tmp:
        try:
            server = procs.start(["queue_floor_app:app", "--app-dir", str(Path(__file__).resolve().parent),
                                  "--port", str(port), "--host", "127.0.0.1", "--loop", "uvloop", "--http",
                                  "httptools", "--log-level", "warning", "--no-access-log"], env,
                                 Path(tmp) / "floor.log", command=[sys.executable, "-m", "uvicorn"])
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, 30)
            statement_per_call = Client(url, "floor").call("GET", "/healthz")[1]["statement_per_call"]
            lock = threading.Lock()
            counts = {"claimed": 0, "created": 0, "errors": 0}
            claim_ms: list[float] = []
            times: list[float] = []

            def take(what: str) -> bool:  # one more request for this thread to do, while any is left
                with lock:
                    counts[what] += 1
                    return counts[what] <= total

            def failed(*statuses: int) -> None:  # an answer other than 2xx (the floor's statement failed)
                bad = sum(1 for st in statuses if not 200 <= st < 300)
                if bad:
                    with lock:
                        counts["errors"] += bad

            def clerk() -> None:
                c = Client(url, "floor")
                while take("claimed"):
                    t0 = time.perf_counter()
                    claimed = c.post("/api/v1/proxy-requests/claim", claim_request(separate_start))[0]
                    elapsed = (time.perf_counter() - t0) * 1000
                    if separate_start:
                        failed(c.post("/api/v1/proxy-requests/1/transitions", {"action": "start"})[0])
                    failed(claimed, c.post("/api/v1/proxy-requests/1/transitions", {"action": "complete"})[0])
                    with lock:
                        claim_ms.append(elapsed)
                        times.append(time.monotonic())

            def channel() -> None:
                c = Client(url, "floor")
                while take("created"):
                    body = {"outlet": "BENCH-T", "item_code": PENSION, "mode": "remote_guidance"}
                    failed(c.post("/api/v1/proxy-requests", body, {"Idempotency-Key": "floor"})[0])

            meter = CpuMeter([server.pid])
            start = time.monotonic()
            threads = [threading.Thread(target=clerk, daemon=True) for _ in range(clerks)]
            threads += [threading.Thread(target=channel, daemon=True) for _ in range(channels)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(600)
            elapsed = time.monotonic() - start
            meter.stop()
        finally:
            procs.stop()
    window = (max(times) - min(times)) if len(times) > 1 else elapsed
    out = {"completed": len(times), "seconds": round(elapsed, 2), "requests_per_s": round(len(times) / elapsed, 1),
           "claims_per_s": round(len(times) / max(window, 1e-6), 1),
           "claim_p50_ms": pct(claim_ms, 0.50), "claim_p95_ms": pct(claim_ms, 0.95), "errors": counts["errors"],
           "statement_per_call": statement_per_call}
    server_ms = meter.ms_per(len(times), 3).get("servers")  # to the microsecond: the floor's figure is small
    if server_ms is not None:
        out["server_cpu_ms_per_request"] = server_ms
    budget = meter.ms_per(len(times))
    if budget:  # the routes' server, the clients (this process), the database and the machine, per request
        out["cpu_ms_per_request"] = {"server": budget["servers"], "clients": budget["this_process"],
                                     "database": budget["database"], "machine": budget["machine"]}
    return out


def run_pgqueuer(db_url: str, total: int, producers: int, consumers: int) -> dict:
    """The same create/claim/complete workload through pgqueuer on the same database (its own tables)."""
    import asyncio
    import datetime as dt

    import psycopg
    from pgqueuer.queries import EntrypointExecutionParameter, Queries

    conninfo = db_url.replace("postgresql+psycopg://", "postgresql://")

    async def main() -> dict:
        admin = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        await Queries.from_psycopg_connection(admin).install()
        per = [total // producers + (1 if i < total % producers else 0) for i in range(producers)]
        done = 0
        claimed: collections.Counter = collections.Counter()
        lat: list[float] = []
        times: list[float] = []
        producing = asyncio.Event()
        kept: list = []  # connections, closed after the CPU meter's last reading (their server processes' CPU
        # time is read while they live)

        async def producer(i: int) -> None:
            conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            kept.append(conn)
            q = Queries.from_psycopg_connection(conn)
            for n in range(per[i]):
                await q.enqueue("bench", f"{i}-{n}".encode(), priority=1 if n % 10 == 0 else 0)

        async def consumer() -> None:
            nonlocal done
            conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            kept.append(conn)
            q = Queries.from_psycopg_connection(conn)
            qm = uuid.uuid4()
            params = {"bench": EntrypointExecutionParameter(concurrency_limit=0)}
            while True:
                t0 = time.perf_counter()
                jobs = await q.dequeue(batch_size=1, entrypoints=params, queue_manager_id=qm,
                                       global_concurrency_limit=None, heartbeat_timeout=dt.timedelta(seconds=60))
                if not jobs:
                    if producing.is_set() and done >= total:
                        break
                    await asyncio.sleep(0.01)
                    continue
                lat.append((time.perf_counter() - t0) * 1000)
                times.append(time.monotonic())
                for job in jobs:
                    claimed[job.id] += 1
                await q.log_jobs([(job, "successful", None) for job in jobs])
                done += len(jobs)

        meter = CpuMeter()
        start = time.monotonic()
        workers = [asyncio.create_task(consumer()) for _ in range(consumers)]
        await asyncio.gather(*(producer(i) for i in range(producers)))
        producing.set()
        await asyncio.wait_for(asyncio.gather(*workers), timeout=max(120.0, total * 0.05))
        elapsed = time.monotonic() - start
        meter.stop()
        for conn in kept:
            await conn.close()
        await Queries.from_psycopg_connection(admin).uninstall()
        await admin.close()
        window = (max(times) - min(times)) if len(times) > 1 else elapsed
        return {"library": "pgqueuer", "version": _version("pgqueuer"), "completed": done, "seconds": round(elapsed, 2),
                "requests_per_s": round(done / elapsed, 1), "claims_per_s": round(len(times) / window, 1),
                "claim_p50_ms": pct(lat, 0.5), "claim_p95_ms": pct(lat, 0.95),
                "double_claims": sum(1 for n in claimed.values() if n > 1), "lost": total - done,
                **_budget(meter.ms_per(done))}

    return asyncio.run(main())


def _budget(ms: dict) -> dict:
    """pgqueuer's side of the CPU budget: its process (producers and consumers), the database, the machine."""
    return {"cpu_ms_per_request": {"pgqueuer_process": ms["this_process"], "database": ms["database"],
                                   "machine": ms["machine"]}} if ms else {}


def main_floor(args) -> None:
    total = args.requests or 3000
    result: dict = {"benchmark": "queue_load", "floor": True, "smoke": args.smoke, "requests": total,
                    "channels": args.channels, "clerks": args.clerks, "separate_start": args.separate_start}
    result.update(run_floor(total, args.channels, args.clerks, separate_start=args.separate_start))
    if args.db and args.db.startswith("postgresql") and not args.no_compare:
        schema = Schema(args.db, prefix="qbench")
        try:
            # one HTTP call and one database round trip per step, and nothing else: the least our design can cost
            result["with_statement"] = run_floor(total, args.channels, args.clerks, statement_db=schema.url,
                                                 separate_start=args.separate_start)
            ref = run_pgqueuer(schema.url, total, args.channels, args.clerks)
        except ImportError:
            result["reference"] = {"skipped": "pgqueuer is not installed (pip install -e '.[bench]')"}
        else:
            result["reference"] = ref
            result["claim_throughput_ratio"] = round(result["claims_per_s"] / max(ref["claims_per_s"], 1e-9), 3)
            result["with_statement"]["claim_throughput_ratio"] = round(
                result["with_statement"]["claims_per_s"] / max(ref["claims_per_s"], 1e-9), 3)
        finally:
            schema.drop()
    print(json.dumps(result, ensure_ascii=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="a few dozen requests, a few seconds")
    ap.add_argument("--db", default=None, help="hub database URL (default: a temporary SQLite file)")
    ap.add_argument("--requests", type=int, default=None, help="default 10000 (2000 on SQLite)")
    ap.add_argument("--channels", type=int, default=8, help="concurrent creating channels (N)")
    ap.add_argument("--clerks", type=int, default=50, help="concurrent claiming clerks (M)")
    ap.add_argument("--hubs", type=int, default=1, help="hub processes (PostgreSQL only; clients spread over them)")
    ap.add_argument("--no-compare", action="store_true", help="skip the pgqueuer run on PostgreSQL")
    ap.add_argument("--separate-start", action="store_true",
                    help="clerks claim, then start in a call of its own (4 calls a request, as before the claim"
                         " could start); default: the claim starts it (`\"start\": true`, 3 calls)")
    ap.add_argument("--floor", action="store_true",
                    help="the same clients against routes that do nothing (the HTTP stack's own cost), no hub")
    args = ap.parse_args()
    # A run stopped with SIGTERM (a timeout, a CI job cancelled) unwinds like Ctrl-C: the hub and simulator
    # processes are stopped and the run's schema dropped, nothing is left listening.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.smoke:
        args.requests, args.channels, args.clerks = 40, 2, 4
    if args.floor:
        main_floor(args)
        return
    tmp = tempfile.TemporaryDirectory(prefix="queue-bench-")
    tmp_path = Path(tmp.name)
    schema = None
    engine_name = "postgresql" if args.db and args.db.startswith("postgresql") else "sqlite"
    if args.requests is None:
        args.requests = 10000 if engine_name == "postgresql" else 2000
    if engine_name == "sqlite":
        if args.db and not args.db.startswith("sqlite:///"):
            sys.exit("--db must be sqlite:///PATH or postgresql+psycopg://…")
        db_url = args.db or f"sqlite:///{tmp_path}/hub.db"
        args.hubs = 1  # one outlet, one hub (DESIGN §2)
    else:
        schema = Schema(args.db, prefix="qbench")
        db_url = schema.url
    procs = Processes()
    result: dict = {"benchmark": "queue_load", "engine": engine_name, "smoke": args.smoke,
                    "requests": args.requests, "channels": args.channels, "clerks": args.clerks, "hubs": args.hubs,
                    "separate_start": args.separate_start}
    try:
        channel_tokens, clerk_tokens = setup_database(db_url, args.channels, args.clerks)
        sim_port = free_port()
        hub_ports = [free_port() for _ in range(args.hubs)]
        config = tmp_path / "kiosk.toml"
        config.write_text(f'[hub]\nurl = "http://127.0.0.1:{hub_ports[0]}"\ndb_url = "{db_url}"\n'
                          f'[platform]\nurl = "http://127.0.0.1:{sim_port}"\n', encoding="utf-8")
        env = dict(os.environ, KIOSK_CONFIG=str(config), KIOSK_DATA_DIR=str(tmp_path / "data"),
                   KIOSK_LOG_LEVEL="WARNING")
        procs.start(["platform-sim", "serve", "--db", str(tmp_path / "platform.db"), "--port", str(sim_port)], env,
                    tmp_path / "sim.log")
        wait_healthy(f"http://127.0.0.1:{sim_port}")
        hub_urls, hubs = [], []
        for port in hub_ports:
            hubs.append(procs.start(["hub", "serve", "--port", str(port)], env, tmp_path / f"hub-{port}.log"))
            hub_urls.append(f"http://127.0.0.1:{port}")
        for url in hub_urls:
            wait_healthy(url, 60)
        prove_tokens(hub_urls, channel_tokens + clerk_tokens)
        meter = CpuMeter([p.pid for p in hubs])
        load = run_hub_load(hub_urls, channel_tokens, clerk_tokens, args.requests, args.separate_start)
        meter.stop()
        budget = meter.ms_per(load["completed"])
        if budget and budget["servers"] is not None:
            # the hub processes' own CPU per completed request (create, claim, start, complete, and the long
            # polls and feed between them): steadier than the latencies on a shared machine
            load["hub_cpu_ms_per_request"] = budget["servers"]
        if budget:  # the hubs, the database server, the clients (this process) and the machine, per request
            load["cpu_ms_per_request"] = {"hubs": budget["servers"],
                                          "database": budget["database"] if engine_name == "postgresql" else None,
                                          "clients": budget["this_process"], "machine": budget["machine"]}
        ids = load.pop("_created_ids")
        db = audit_database(db_url, ids)
        load["lost"] = max(load.pop("lost_in_run"), db["not_done"] + db["missing_rows"])
        load["double_claims"] = max(load["double_claims"], db["claimed_twice_in_log"])
        result.update(load)
        result["database"] = db
        procs.stop()
        if engine_name == "postgresql" and not args.no_compare:
            try:
                ref = run_pgqueuer(db_url, args.requests, args.channels, args.clerks)
            except ImportError:
                result["reference"] = {"skipped": "pgqueuer is not installed (pip install -e '.[bench]')"}
            else:
                result["reference"] = ref
                result["comparison"] = {
                    "same": "database server and run (tables of their own), number of requests, creating and claiming"
                            " concurrency, about 1 in 10 with priority; claims/s over the window from first to last"
                            " claim, while creating goes on",
                    "ours": f"{args.hubs} hub process(es) (uvicorn, one worker each, PostgreSQL pool of 20 kept"
                            f" + 10 overflow connections each); clients in this process over HTTP keep-alive"
                            " (http.client):"
                            f" {args.channels} channel and {args.clerks} clerk threads; every request carries a bearer"
                            " token (proved with argon2 once per token before the window); a request is create +"
                            + (" claim + start + complete (4 HTTP calls" if args.separate_start else
                               " claim-and-start + complete (3 HTTP calls")
                            + ", each with its events, notification and NOTIFY)",
                    "reference": f"pgqueuer {ref.get('version', '')} in one process (asyncio): {args.channels}"
                                 f" producer and {args.clerks} consumer connections, SQL straight to the database, no"
                                 " HTTP and no authentication; a job is enqueue + dequeue + log_jobs",
                }
                result["claim_throughput_ratio"] = round(result["claims_per_s"] / max(ref["claims_per_s"], 1e-9), 3)
                result["requests_per_s_ratio"] = round(result["requests_per_s"] / max(ref["requests_per_s"], 1e-9), 3)
    finally:
        procs.stop()
        if schema is not None:
            schema.drop()
        tmp.cleanup()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
