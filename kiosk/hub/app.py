"""The hub's ASGI app: `create_app(db_url, platform=...)` builds it; `kiosk hub serve` runs it on uvicorn."""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine

from kiosk.hub import callbacks, catalog, cases, proxy_api, receipts, tus
from kiosk.hub import db_errors, diag_reports
from kiosk.hub import console
from kiosk.hub.auth import TokenVerifier
from kiosk.hub.case_fields import seal_plaintext_cases
from kiosk.hub.crypto import hub_cipher, load_hub_key
from kiosk.hub.db import (check_url, make_engine, migrate as run_migrations, not_the_database, owns_audit_log,
                         session_factory)
from kiosk.hub.group_commit import GroupCommit
from kiosk.hub.storage import DEFAULT_RESERVE_BYTES, Volume, check_shared_volume
from kiosk.hub.relay import Relay
from kiosk.hub.threads import PLATFORM_THREADS
from kiosk.platform.adapter import PlatformAdapter

log = logging.getLogger("kiosk.hub")

HUB_WORKERS = 6


@dataclass
class HubState:
    engine: Engine
    sessions: object
    upload_dir: Path
    platform: PlatformAdapter | None
    catalog_ttl_s: float = 300.0
    upload_ttl_s: float = 24 * 3600.0
    max_upload_bytes: int = 50 * 1024 * 1024
    relay: Relay | None = field(default=None)
    volume: Volume | None = field(default=None)  # free space, reserve and stray files of upload_dir
    supplements: object | None = field(default=None)  # 代收 collections to the platform (supplements_relay.py)
    cipher: object | None = field(default=None)  # the FieldCipher of this database (kiosk.hub.crypto.hub_cipher)
    # Kiosks' whole uploads and cases that arrive together are written together (kiosk/hub/group_commit.py)
    upload_intake: GroupCommit | None = field(default=None)
    case_intake: GroupCommit | None = field(default=None)


def default_upload_dir(db_url: str, data_dir: str | Path | None) -> Path:
    if db_url.startswith("sqlite:///") and db_url != "sqlite:///:memory:":
        return Path(db_url[len("sqlite:///"):]).parent / "uploads"
    if data_dir is None:
        from kiosk.config import default_data_dir

        data_dir = default_data_dir()
    return Path(data_dir) / "hub" / "uploads"


def create_app(db_url: str, platform: PlatformAdapter | None = None, *, upload_dir: str | Path | None = None,
               data_dir: str | Path | None = None, migrate: bool = True, relay: bool = True,
               relay_poll_s: float = 1.0, retry_base_s: float = 2.0, retry_max_s: float = 60.0,
               lease_s: float = 15.0, probe_max_s: float = 10.0, reserve_bytes: int = DEFAULT_RESERVE_BYTES,
               relay_concurrency: int = 16, request_threads: int = 8,
               catalog_ttl_s: float = 300.0, upload_ttl_s: float = 24 * 3600.0,
               max_upload_bytes: int = 50 * 1024 * 1024) -> FastAPI:
    """The hub as an ASGI app. The relay worker runs while the app is served (lifespan) when `relay`."""
    db_url = check_url(db_url)
    if migrate:
        run_migrations(db_url)
    # Threads that may hold a connection at once: request handlers, handlers waiting on the platform (each may
    # keep its session across the call), and the hub's own workers (relay and 代收 passes, leases, the SLA sweep,
    # the tokens' re-read, the event loop's reads). The relay's deliveries hold one only between platform calls.
    engine = make_engine(db_url, connections=request_threads + PLATFORM_THREADS + HUB_WORKERS)
    up_dir = Path(upload_dir) if upload_dir else default_upload_dir(db_url, data_dir)
    up_dir.mkdir(parents=True, exist_ok=True)
    hub = HubState(engine=engine, sessions=session_factory(engine), upload_dir=up_dir, platform=platform,
                   catalog_ttl_s=catalog_ttl_s, upload_ttl_s=upload_ttl_s, max_upload_bytes=max_upload_bytes)
    # The hub key, with the HMAC key a rotation carried over: one cipher for cases, 代办, counter and evaluations.
    hub.cipher = hub_cipher(load_hub_key(up_dir.parent), hub.sessions)
    # A shared write that fails is written again item by item (a lost insert race fails only its own item),
    # unless the database itself failed.
    hub.upload_intake = GroupCommit(lambda items: tus.write_uploads(hub, items), alone=not_the_database)
    hub.case_intake = GroupCommit(lambda items: cases.write_cases(hub, items), alone=not_the_database)
    hub.volume = Volume(up_dir, reserve_bytes)
    check_shared_volume(hub.sessions, up_dir)  # refuses a private upload dir beside other hubs (issue 13)
    hub.volume.ensure_reserve()
    seal_plaintext_cases(hub)
    if owns_audit_log(engine):
        log.warning("the hub's database role owns its audit table and could alter it; run the hub as a separate"
                    " role (kiosk hub migrate --app-role, docs/reliability.md)")
    if relay:
        hub.relay = Relay(hub, poll_s=relay_poll_s, retry_base_s=retry_base_s, retry_max_s=retry_max_s,
                          lease_s=lease_s, probe_max_s=probe_max_s, concurrency=relay_concurrency)
        from kiosk.hub.supplements_relay import SupplementsRelay

        hub.supplements = SupplementsRelay(hub, poll_s=relay_poll_s, retry_base_s=retry_base_s,
                                           retry_max_s=retry_max_s)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        import anyio.to_thread

        # The request handlers run on anyio's worker threads (40 by default). This many at once, the others wait
        # in order for a thread: 28 clients' requests all on threads at once fought over the GIL and the claim p95
        # of 20 clerks was 107-133 ms; 16 threads gave 82 ms, 8 gave 69-72 ms (docs/performance.md). Handlers that
        # may wait on the platform run on threads of their own (kiosk/hub/threads.py), so a hanging platform does
        # not hold these.
        anyio.to_thread.current_default_thread_limiter().total_tokens = request_threads
        if hub.relay is not None:
            hub.relay.start()
        if hub.supplements is not None:
            hub.supplements.start()
        proxy_api.start(_app)  # the 代办 SLA sweeper (and LISTEN on PostgreSQL)
        try:
            yield
        finally:
            proxy_api.stop(_app)
            await proxy_api.close_connections(_app)
            if hub.supplements is not None:
                hub.supplements.stop()
            if hub.relay is not None:
                hub.relay.stop()
            if hub.platform is not None:
                hub.platform.close()
            engine.dispose()

    app = FastAPI(title="govkiosk hub", version="1.0", lifespan=lifespan)
    app.state.hub = hub
    app.state.tokens = TokenVerifier(hub.sessions)
    db_errors.install(app)  # the database away or saturated: 503 in words with Retry-After, one log line a minute

    @app.get("/healthz", tags=["health"])
    def healthz():
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            db_ok = True
        except Exception:
            db_ok = False
        disk_ok = not hub.volume.low()  # below the reserve: uploads are refused until space is freed
        doc = {"ok": db_ok and disk_ok, "service": "hub", "database": engine.dialect.name, "database_ok": db_ok,
               "disk_ok": disk_ok}
        # 503 when not ok, so a health check that reads only the status (Docker's HEALTHCHECK) sees it too
        return doc if doc["ok"] else JSONResponse(doc, status_code=503)

    app.include_router(tus.open_router)
    app.include_router(tus.router)
    app.include_router(catalog.router)
    app.include_router(cases.router)
    app.include_router(receipts.router)
    app.include_router(callbacks.router)
    proxy_api.install(app, hub)  # 代办: outlets, proxy requests, 委托书 (docs/proxy-api.md)
    from kiosk.hub import key_projects_api  # 重点项目: one 代办专员, one 档案, until 销号

    key_projects_api.install(app, hub)
    from kiosk.hub import counter  # the outlet counter: clerk sign-in, 代发, 代收 (issue 10)

    app.include_router(counter.router)
    app.include_router(diag_reports.router)
    app.include_router(console.router)
    from kiosk.hub import evaluations  # 好差评 and the citizen's lookup at a kiosk (issue 11)

    app.include_router(evaluations.router)
    return app
