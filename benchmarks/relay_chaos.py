"""Nothing lost, nothing duplicated, nothing corrupted: kiosk outboxes → hub(s) → platform simulator under faults.

Applications with 1-5 materials each (some over 5 MB) go from several kiosk outboxes through the hub to the
platform simulator while:

* the simulator fails 20 % of its calls (503);
* a proxy between hub and platform resets connections, answers 502, holds answers past the adapter's timeout
  and drops answers after the platform acted;
* the hub is SIGKILLed and restarted at random moments, some of them in the middle of a relay step (the proxy
  kills it while a platform call of that hub is in flight);
* the kiosks' link to the hub is cut and restored;
* with PostgreSQL (`--pg URL`, else $KIOSK_TEST_PG_URL), a second hub serves the same database and upload volume.

Then the faults stop and everything is counted at the simulator; a platform outage with cases waiting at the hub
measures recovery (and the calls a down platform gets); a backlog of queued cases (1,000; --quick 100) is
drained after a link outage. One JSON line on stdout:
cases_expected, cases_at_platform, duplicates, missing, sha256_mismatches, bytes_resent_after_interruptions,
drain_s_after_outage, throughput, and the fault counts. `--quick`: 20 applications, two kills, under two minutes
(run by the test suite); `--smoke`: a handful of cases and one kill.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import logging
import os
import random
import shutil
import signal
import socket
import socketserver
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.platform.simulator import DEFAULT_APPS  # noqa: E402

APP_ID, SECRET = next(iter(DEFAULT_APPS.items()))
PLATFORM_TIMEOUT_S = 3.0
NAMES = ["欧阳娜娜", "张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰"]


# -- the hub as a child process (killed with SIGKILL) ---------------------------------------------------
def serve_hub(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--upload-dir", required=True)
    ap.add_argument("--platform", required=True)
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args(argv)
    import uvicorn

    from kiosk.hub.app import create_app
    from kiosk.logs import setup_logging
    from kiosk.platform.http_adapter import ReferenceHttpAdapter

    setup_logging("WARNING")
    adapter = ReferenceHttpAdapter(args.platform, APP_ID, SECRET, timeout=PLATFORM_TIMEOUT_S)
    app = create_app(args.db, adapter, upload_dir=args.upload_dir, migrate=False, relay_poll_s=0.2,
                     retry_base_s=0.3, retry_max_s=5.0, lease_s=5.0, probe_max_s=2.0, reserve_bytes=0)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="error", access_log=False, log_config=None)


class HubProc:
    def __init__(self, name: str, port: int, db: str, upload_dir: Path, platform_url: str, log_path: Path,
                 env: dict) -> None:
        self.name, self.port, self.db, self.upload_dir = name, port, db, upload_dir
        self.platform_url, self.log_path, self.env = platform_url, log_path, env
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def start(self, timeout: float = 60.0) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-hub", "--db", self.db, "--upload-dir", str(self.upload_dir),
             "--platform", self.platform_url, "--port", str(self.port)],
            stdout=log, stderr=log, env=self.env)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub {self.name} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"hub {self.name} did not start within {timeout} s")

    def kill(self) -> bool:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                return False
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            return True

    def restart(self, pause_s: float) -> None:
        with self.lock:
            time.sleep(pause_s)
            if self.proc is None or self.proc.poll() is not None:
                self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class SimProc:
    """The platform simulator (`kiosk platform-sim serve`) in a child process, failing 20 % of calls."""

    def __init__(self, db: Path, work: Path) -> None:
        from kiosk.hub.serving import free_port

        self.port = free_port()
        self.log = open(work / "platform.log", "ab")
        env = dict(os.environ, KIOSK_DATA_DIR=str(work / "sim-data"))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from kiosk.cli import main; main()", "platform-sim", "serve", "--db", str(db),
             "--port", str(self.port), "--fail-rate", "0.2"], stdout=self.log, stderr=self.log, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/sim/faults")
                if c.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the platform simulator did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# -- the faulty proxy between a hub and the platform ---------------------------------------------------
class FaultProxy(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target: str, rates: dict, rng: random.Random) -> None:
        super().__init__(("127.0.0.1", 0), _FaultHandler)
        parts = urlsplit(target)
        self.target = (parts.hostname, parts.port)
        self.rates = rates
        self.rng = rng
        self.counts = {"resets": 0, "502": 0, "held": 0, "dropped_after_acting": 0, "forwarded": 0}
        self.kill_hook = None   # called once while a relay step of this proxy's hub is in flight
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address) -> None:
        pass  # resets are the point of this proxy

    def roll(self, key: str) -> bool:
        with self.lock:
            return self.rng.random() < self.rates.get(key, 0.0)

    def count(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1


class _FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _reset(self) -> None:
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def _any(self) -> None:
        srv: FaultProxy = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if srv.roll("reset"):
            srv.count("resets")
            return self._reset()
        if srv.roll("502"):
            srv.count("502")
            payload = b'{"error": "bad gateway"}'
            self.send_response(502)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        conn = http.client.HTTPConnection(*srv.target, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        srv.count("forwarded")
        hook = srv.kill_hook
        if hook is not None and self.command != "GET" and "/applications" in self.path:
            srv.kill_hook = None
            hook()  # the platform acted; the hub dies before it hears the answer
            return self._reset()
        if srv.roll("drop"):
            srv.count("dropped_after_acting")
            return self._reset()
        if srv.roll("hold"):
            srv.count("held")
            time.sleep(PLATFORM_TIMEOUT_S + 0.5)
        try:
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any


# -- the kiosks' link to a hub (a TCP forwarder that can be cut) ---------------------------------------
class Link(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target_port: int) -> None:
        super().__init__(("127.0.0.1", 0), _LinkHandler)
        self.target_port = target_port
        self.up = True
        self.conns: set[socket.socket] = set()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address) -> None:
        pass

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for s in list(self.conns):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def restore(self) -> None:
        self.up = True


class _LinkHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        srv: Link = self.server
        if not srv.up:
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", srv.target_port), timeout=5)
        except OSError:
            return
        with srv.lock:
            srv.conns.update({self.request, upstream})

        def pump(a, b):
            try:
                while True:
                    data = a.recv(65536)
                    if not data:
                        break
                    b.sendall(data)
            except OSError:
                pass
            finally:
                for s in (a, b):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        t = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
        t.start()
        pump(self.request, upstream)
        t.join(30)
        with srv.lock:
            srv.conns.discard(self.request)
            srv.conns.discard(upstream)
        upstream.close()


# -- kiosks ---------------------------------------------------------------------------------------------
def counting_client(url: str, token: str, counter: dict, lock: threading.Lock):
    from kiosk.sync.client import HubClient

    client = HubClient(url, token, timeout=5.0)
    real = client.session.request

    def request(method, u, *a, **kw):
        if method.upper() == "PATCH":
            data = kw.get("data")
            with lock:
                counter["patch_bytes"] += len(data or b"")
        return real(method, u, *a, **kw)

    client.session.request = request
    client.session.patch = lambda u, data=None, **kw: request("PATCH", u, data=data, **kw)
    return client


def make_application(rng: random.Random, receipt_no: str, work: Path, big_share: float) -> tuple[dict, list[str], dict]:
    from kiosk.sync.receipt_numbers import __name__ as _  # noqa: F401 - the kiosk side is importable

    n = rng.randint(1, 5)
    files, materials, expected = [], [], {}
    for j in range(n):
        size = rng.randint(5_200_000, 6_000_000) if rng.random() < big_share else rng.randint(2_000, 250_000)
        data = rng.randbytes(size)
        path = work / f"{receipt_no}-M{j + 1:02d}.pdf"
        path.write_bytes(data)
        files.append(str(path))
        materials.append({"code": f"M{j + 1:02d}", "name": f"材料{j + 1}", "pages": 1})
        expected[f"M{j + 1:02d}"] = hashlib.sha256(data).hexdigest()
    doc = {"receipt_no": receipt_no, "device_id": receipt_no.split("-")[0], "channel": "kiosk",
           "item_code": "11610113MB2951836X4000127003000", "item_name": "城乡居民养老保险参保登记",
           "applicant": {"name": rng.choice(NAMES), "id_number": "610113199001016789", "card_type": "111",
                         "phone": "13700009050", "address": "陕西省西安市雁塔区小寨东路1号"},
           "form": {"contribution_level": "500"}, "materials": materials, "delivery": "自取",
           "submitted_at": "2026-11-22T10:30:00+08:00"}
    return doc, files, expected


# -- counting at the platform -----------------------------------------------------------------------------
def platform_counts(sim_db: Path, expected: dict[str, dict[str, str]]) -> dict:
    db = sqlite3.connect(f"file:{sim_db}?mode=ro", uri=True, timeout=30)
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT case_no, client_ref, status FROM cases").fetchall()
    mats: dict[str, dict[str, str]] = {}
    for m in db.execute("SELECT case_no, code, sha256 FROM materials"):
        mats.setdefault(m["case_no"], {})[m["code"]] = m["sha256"]
    db.close()
    by_ref: dict[str, list] = {}
    for r in rows:
        by_ref.setdefault(r["client_ref"], []).append(r)
    at_platform = duplicates = missing = mismatches = 0
    for ref, want in expected.items():
        got = [r for r in by_ref.get(ref, []) if r["status"] != "draft"]
        if not got:
            missing += 1
            continue
        at_platform += 1
        duplicates += len(got) - 1
        have = mats.get(got[0]["case_no"], {})
        mismatches += sum(1 for code, sha in want.items() if have.get(code) != sha)
    return {"cases_at_platform": at_platform, "duplicates": duplicates, "missing": missing,
            "sha256_mismatches": mismatches}


# -- the run ----------------------------------------------------------------------------------------------
def run(args) -> dict:
    from kiosk.hub.auth import create_token
    from kiosk.hub.db import make_engine, migrate, session_factory
    from kiosk.sync.outbox import Outbox

    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="relay-chaos-"))
    sim_db = work / "platform.db"
    sim = SimProc(sim_db, work)  # its own process: the simulator does not share this process's GIL
    pg_base = args.pg or os.environ.get("KIOSK_TEST_PG_URL")
    schema = None
    if pg_base and not args.sqlite:
        from sqlalchemy import create_engine, text

        schema = f"chaos_{uuid.uuid4().hex[:10]}"
        admin = create_engine(pg_base)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in pg_base else "?"
        db_url = f"{pg_base}{sep}options=-csearch_path%3D{schema}"
    else:
        db_url = f"sqlite:///{work}/hub/hub.db"
    n_hubs = 2 if schema else 1
    upload_dir = work / "uploads"  # the volume every hub shares
    migrate(db_url)
    engine = make_engine(db_url)
    tokens = {}
    with session_factory(engine)() as s, s.begin():
        for k in range(args.kiosks):
            device = f"K{k + 1:04d}"
            tokens[device] = create_token(s, "kiosk", device)
    engine.dispose()
    env = dict(os.environ, KIOSK_HUB_KEY=os.urandom(32).hex(), PYTHONUNBUFFERED="1")
    proxies, hubs, links = [], [], []
    for h in range(n_hubs):
        proxy = FaultProxy(sim.url, {"reset": 0.02, "502": 0.02, "hold": 0.01, "drop": 0.03}, random.Random(rng.random()))
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        proxies.append(proxy)
        from kiosk.hub.serving import free_port

        hub = HubProc(f"hub{h + 1}", free_port(), db_url, upload_dir, proxy.url, work / f"hub{h + 1}.log", env)
        hub.start()
        hubs.append(hub)
        link = Link(hub.port)
        threading.Thread(target=link.serve_forever, daemon=True).start()
        links.append(link)

    counter = {"patch_bytes": 0, "material_bytes": 0, "interruptions": 0, "kills": 0, "kills_mid_step": 0,
               "link_cuts": 0}
    lock = threading.Lock()
    expected: dict[str, dict[str, str]] = {}
    boxes = []
    for k in range(args.kiosks):
        device = f"K{k + 1:04d}"
        link = links[k % n_hubs]
        boxes.append((device, Outbox(work / f"kiosk{k + 1}"), counting_client(link.url, tokens[device], counter, lock)))

    # Applications, spread over the kiosks.
    apps = []
    for i in range(args.apps):
        device, box, client = boxes[i % args.kiosks]
        receipt_no = f"{device}-20261201-{i + 1:04d}"
        doc, files, want = make_application(rng, receipt_no, work, args.big_share)
        apps.append((box, doc, files))
        expected[receipt_no] = want
        counter["material_bytes"] += sum(Path(f).stat().st_size for f in files)

    done = threading.Event()

    def kiosk_loop(device, box, client, mine):
        queued = 0
        while not done.is_set():
            if queued < len(mine):  # citizens keep arriving while earlier cases drain
                doc, files = mine[queued]
                box.enqueue(doc, files)
                for f in files:
                    Path(f).unlink()
                queued += 1
            result = box.drain(client)
            if result["error"]:
                with lock:
                    counter["interruptions"] += 1
                time.sleep(0.3)
            if queued == len(mine) and result["pending"] == 0 and not result["busy"]:
                return

    def kill(hub: HubProc, mid_step: bool) -> None:
        if hub.kill():
            with lock:
                counter["kills"] += 1
                counter["kills_mid_step"] += int(mid_step)
            threading.Thread(target=hub.restart, args=(rng.uniform(0.3, 1.5),), daemon=True).start()

    def chaos():
        """The planned kills, alternating: armed in the proxy (fires while a relay step is in flight), then at a
        random moment; a link cut after most of them. Faults go on until every kill has happened."""
        for n in range(args.kills):
            time.sleep(rng.uniform(*args.kill_every_s))
            h = rng.randrange(n_hubs)
            if n % 2 == 0:
                fired = threading.Event()

                def hook(h=h, fired=fired):
                    kill(hubs[h], True)
                    fired.set()

                proxies[h].kill_hook = hook
                if not fired.wait(20.0):  # no platform traffic on that hub: kill it anyway
                    proxies[h].kill_hook = None
                    kill(hubs[h], False)
            else:
                kill(hubs[h], False)
            if n < args.link_cuts:
                link = rng.choice(links)
                link.cut()
                with lock:
                    counter["link_cuts"] += 1
                time.sleep(rng.uniform(0.5, 2.0))
                link.restore()

    t0 = time.monotonic()
    threads = []
    for k, (device, box, client) in enumerate(boxes):
        mine = [(doc, files) for (b, doc, files) in apps if b is box]
        t = threading.Thread(target=kiosk_loop, args=(device, box, client, mine), daemon=True)
        t.start()
        threads.append(t)
    chaos_t = threading.Thread(target=chaos, daemon=True)
    chaos_t.start()
    for t in threads:
        t.join(args.deadline_s)
    outboxes_empty_s = time.monotonic() - t0
    chaos_t.join(args.deadline_s)
    # Faults stop: platform, proxies, links, kills.
    done.set()
    for p in proxies:
        p.rates = {}
        p.kill_hook = None
    for link in links:
        link.restore()
    for hub in hubs:
        with hub.lock:
            if hub.proc is None or hub.proc.poll() is not None:
                hub.start()
    import requests

    requests.post(f"{sim.url}/sim/faults", json={"fail_rate": 0.0}, timeout=5)
    faults_stopped = time.monotonic()
    engine = make_engine(db_url)
    with engine.connect() as conn:
        from sqlalchemy import text as sql_text

        queued_at_hub = conn.execute(sql_text("SELECT count(*) FROM cases WHERE status = 'queued'")).scalar()
    engine.dispose()
    deadline = faults_stopped + args.deadline_s
    counts = platform_counts(sim_db, expected)
    while counts["cases_at_platform"] < len(expected) and time.monotonic() < deadline:
        time.sleep(0.25)
        counts = platform_counts(sim_db, expected)
    recovery_s = time.monotonic() - faults_stopped
    main_s = time.monotonic() - t0

    main_patch_bytes = counter["patch_bytes"]

    # A platform outage with cases waiting at the hub: how long after it is back do they arrive, and how hard is
    # a platform that is down pressed meanwhile?
    requests.post(f"{sim.url}/sim/faults", json={"fail_rate": 1.0}, timeout=5)
    outage: dict[str, dict[str, str]] = {}
    for i in range(args.outage_cases):
        device, box, client = boxes[i % args.kiosks]
        receipt_no = f"{device}-20261203-{i + 1:04d}"
        doc, files, want = make_application(random.Random(1000 + i), receipt_no, work, 0.0)
        box.enqueue(doc, files)
        for f in files:
            Path(f).unlink()
        outage[receipt_no] = want
    for _d, box, client in boxes:
        box.drain(client)
    time.sleep(3.0)  # the relays have failed a few times and switched to probing
    calls_before = sum(p.counts["forwarded"] for p in proxies)
    time.sleep(args.outage_s)
    calls_while_down = sum(p.counts["forwarded"] for p in proxies) - calls_before
    requests.post(f"{sim.url}/sim/faults", json={"fail_rate": 0.0}, timeout=5)
    back = time.monotonic()
    ocounts = platform_counts(sim_db, outage)
    while ocounts["cases_at_platform"] < len(outage) and time.monotonic() - back < args.deadline_s:
        time.sleep(0.1)
        ocounts = platform_counts(sim_db, outage)
    platform_recovery_s = time.monotonic() - back
    # A backlog queued while the kiosks' link is down, then drained.
    for link in links:
        link.cut()
    backlog: dict[str, dict[str, str]] = {}
    for i in range(args.backlog):
        device, box, client = boxes[i % args.kiosks]
        receipt_no = f"{device}-20261202-{i + 1:04d}"
        data = rng.randbytes(10_000)
        f = work / f"{receipt_no}.pdf"
        f.write_bytes(data)
        doc, _, _ = make_application(random.Random(i), receipt_no, work, 0.0)
        for p in work.glob(f"{receipt_no}-M*.pdf"):
            p.unlink()
        doc["materials"] = [{"code": "M01", "name": "材料1", "pages": 1}]
        box.enqueue(doc, [str(f)])
        f.unlink()
        backlog[receipt_no] = {"M01": hashlib.sha256(data).hexdigest()}
    for link in links:
        link.restore()
    t1 = time.monotonic()

    def drain_all(box, client):
        while time.monotonic() - t1 < args.deadline_s:
            result = box.drain(client)
            if result["pending"] == 0 and not result["busy"]:
                return
            if result["error"]:
                time.sleep(0.2)

    ts = [threading.Thread(target=drain_all, args=(box, client), daemon=True) for (_d, box, client) in boxes]
    for t in ts:
        t.start()
    for t in ts:
        t.join(args.deadline_s)
    bcounts = platform_counts(sim_db, backlog)
    while bcounts["cases_at_platform"] < len(backlog) and time.monotonic() - t1 < args.deadline_s:
        time.sleep(0.2)
        bcounts = platform_counts(sim_db, backlog)
    drain_s = time.monotonic() - t1

    for hub in hubs:
        hub.stop()
    for p in proxies:
        p.shutdown()
    for link in links:
        link.shutdown()
    sim.stop()
    leaks = 0
    for h in range(n_hubs):
        text_ = (work / f"hub{h + 1}.log").read_text(encoding="utf-8", errors="replace")
        leaks += sum(text_.count(n) for n in NAMES) + text_.count("610113199001016789")
    if schema:
        from sqlalchemy import create_engine, text

        admin = create_engine(pg_base)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    interruptions = counter["kills"] + counter["link_cuts"] + counter["interruptions"]
    resent = max(0, main_patch_bytes - counter["material_bytes"])
    proxy_counts = {k: sum(p.counts[k] for p in proxies) for k in proxies[0].counts}
    return {
        "mode": args.mode, "database": "postgresql" if schema else "sqlite", "hubs": n_hubs, "kiosks": args.kiosks,
        "cases_expected": len(expected), **counts,
        "files": sum(len(v) for v in expected.values()),
        "material_bytes": counter["material_bytes"],
        "bytes_resent_after_interruptions": resent,
        "interruptions": interruptions,
        "chunk_bytes": 1024 * 1024,
        "kills": counter["kills"], "kills_mid_relay_step": counter["kills_mid_step"], "link_cuts": counter["link_cuts"],
        "platform_fail_rate": 0.2, "proxy": proxy_counts,
        "outboxes_empty_s": round(outboxes_empty_s, 1),
        "queued_at_hub_when_faults_stopped": queued_at_hub,
        "last_case_after_faults_stopped_s": round(recovery_s, 1),
        "throughput_cases_per_s": round(counts["cases_at_platform"] / main_s, 2) if main_s else None,
        "outage_cases": len(outage), "outage_at_platform": ocounts["cases_at_platform"],
        "outage_duplicates": ocounts["duplicates"],
        "platform_calls_per_s_while_down": round(calls_while_down / args.outage_s, 2),
        "platform_recovery_s": round(platform_recovery_s, 1),
        "backlog_cases": len(backlog), "backlog_at_platform": bcounts["cases_at_platform"],
        "backlog_duplicates": bcounts["duplicates"], "backlog_missing": bcounts["missing"],
        "drain_s_after_outage": round(drain_s, 1),
        "backlog_throughput_cases_per_s": round(bcounts["cases_at_platform"] / drain_s, 1) if drain_s else None,
        "personal_data_in_hub_logs": leaks,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-hub":
        serve_hub(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--smoke", action="store_true", help="5 applications, one kill (seconds)")
    mode.add_argument("--quick", action="store_true", help="20 applications, two kills (under two minutes)")
    ap.add_argument("--pg", default=None, help="PostgreSQL URL (default $KIOSK_TEST_PG_URL); two hubs share it")
    ap.add_argument("--sqlite", action="store_true", help="use SQLite even if PostgreSQL is available")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: unwind, stop what it started
    args.mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    if args.smoke:
        args.apps, args.kiosks, args.kills, args.link_cuts, args.backlog, args.big_share = 5, 2, 1, 1, 20, 0.0
        args.kill_every_s, args.deadline_s = (0.5, 1.5), 60.0
        args.outage_cases, args.outage_s = 4, 5.0
    elif args.quick:
        args.apps, args.kiosks, args.kills, args.link_cuts, args.backlog, args.big_share = 20, 3, 2, 1, 100, 0.05
        args.kill_every_s, args.deadline_s = (1.0, 3.0), 90.0
        args.outage_cases, args.outage_s = 10, 10.0
    else:
        args.apps, args.kiosks, args.kills, args.link_cuts, args.backlog, args.big_share = 200, 6, 12, 6, 1000, 0.05
        args.kill_every_s, args.deadline_s = (2.0, 6.0), 900.0
        args.outage_cases, args.outage_s = 40, 60.0
    logging.basicConfig(level=logging.CRITICAL, stream=sys.stderr)
    print(json.dumps(run(args), ensure_ascii=False))


if __name__ == "__main__":
    main()
