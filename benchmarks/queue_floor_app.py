"""The floor for `queue_load.py --floor`: FastAPI with the 代办 routes' shape (an async token dependency, a pydantic
body, a path and a header parameter, a JSONResponse of a request-sized document) and no work behind them: no
database, no token check, no events. What the hub's HTTP stack alone costs on this machine.

With `QUEUE_FLOOR_DB` set to a PostgreSQL URL each call also runs one statement that does nothing (`SELECT 1`)
through the hub's own statement path (`kiosk.hub.pg_statements.AsyncPgStatements`: psycopg's async connections in
autocommit, a prepared statement): what one HTTP call and one database round trip per step cost before any of the
hub's work."""
import os
import sys
from pathlib import Path as FsPath

from fastapi import Depends, FastAPI, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

app = FastAPI()
STATEMENTS = None
if os.environ.get("QUEUE_FLOOR_DB"):
    sys.path.insert(0, str(FsPath(__file__).resolve().parents[1]))
    from sqlalchemy import create_engine

    from kiosk.hub.pg_statements import AsyncPgStatements, PgStatements

    STATEMENTS = AsyncPgStatements(PgStatements(create_engine(os.environ["QUEUE_FLOOR_DB"])))


async def step() -> None:
    """One call's database round trip, when asked for."""
    if STATEMENTS is not None:
        await STATEMENTS.one("SELECT 1 AS one", {})


DOC = {"id": 1, "request_no": "HUB-20261202-000001", "kind": "proxy", "status": "claimed", "level": 0,
       "outlet": "BENCH-T", "item_code": "11610113MB2951836X4000127003000", "item_name": "城乡居民养老保险参保登记",
       "mode": "remote_guidance", "priority": "normal", "channel": "hotline", "holder": "clerk:bench",
       "applicant": {"type": "person", "name": "压***", "id_number": "1*************002X"},
       "contact_phone": "137****9050", "created_at": "2026-12-02T06:00:00+00:00",
       "lease_until": "2026-12-02T06:10:00+00:00", "sla_due_at": "2026-12-03T09:00:00+00:00",
       "sla": {"days": 1, "percent": 0.0, "paused": False}, "overdue": False, "proxy_fee": 0}


class Body(BaseModel):
    model_config = ConfigDict(extra="allow")
    action: str | None = None


async def caller(request: Request) -> str:
    return request.headers.get("authorization", "")


@app.get("/healthz")
async def healthz():
    return {"ok": True, "statement_per_call": STATEMENTS is not None}


@app.post("/api/v1/proxy-requests", status_code=201)
async def create(body: Body, who: str = Depends(caller), idempotency_key: str | None = Header(default=None)):
    await step()
    return JSONResponse(DOC, status_code=201)


@app.post("/api/v1/proxy-requests/claim")
async def claim(body: Body, who: str = Depends(caller), x_device_id: str | None = Header(default=None)):
    await step()
    return JSONResponse(DOC)


@app.post("/api/v1/proxy-requests/{rid}/transitions")
async def transition(body: Body, rid: int = Path(ge=1), who: str = Depends(caller),
                     x_device_id: str | None = Header(default=None)):
    await step()
    return JSONResponse(DOC)
