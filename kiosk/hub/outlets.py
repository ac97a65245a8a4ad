"""The outlet network: county 政务服务中心 → town 便民服务中心 → village 代办点, plus partner outlets (post office,
China Mobile). Registration (for the CLI), subtrees (who may act where) and the read-only API."""
from __future__ import annotations

import re
import threading
import time

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.errors import InvalidInput
from kiosk.hub import audit
from kiosk.hub.auth import authenticated
from kiosk.hub.models import Outlet
from kiosk.hub.proxy_schemas import OutletOut

LEVELS = ("county", "town", "village", "partner")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


def outlet_out(o: Outlet) -> dict:
    return OutletOut(code=o.code, name=o.name, level=o.level, parent=o.parent_code, items=list(o.items or []),
                     hours=o.hours, address=o.address, phone=o.phone, active=o.active).model_dump()


def add_outlet(s: Session, code: str, name: str, level: str, parent: str | None = None,
               items: list[str] | None = None, hours: str | None = None, address: str | None = None,
               phone: str | None = None, actor: str = "cli") -> tuple[Outlet, bool]:
    """Register an outlet, or update the one with this code; (outlet, created). Raises InvalidInput."""
    if not CODE.match(code or ""):
        raise InvalidInput(f"outlet code {code!r} is not 1-32 letters, digits, '-' or '_'",
                           "use a short code such as O-TOWN-1")
    if level not in LEVELS:
        raise InvalidInput(f"outlet level {level!r} is not one of {', '.join(LEVELS)}", "choose one of them")
    if not name or not name.strip() or len(name) > 100:
        raise InvalidInput("outlet name must be 1-100 characters", "give the outlet's name, e.g. 城关镇便民服务中心")
    for label, value, cap in (("hours", hours, 200), ("address", address, 300), ("phone", phone, 32)):
        if value is not None and len(value) > cap:
            raise InvalidInput(f"--{label} is longer than {cap} characters", "shorten it")
    items = [i.strip() for i in (items or []) if i.strip()]
    if any(len(i) > 64 for i in items):
        raise InvalidInput("item codes are at most 64 characters", "check --items")
    parents = dict(s.execute(select(Outlet.code, Outlet.parent_code)).all())
    if parent is not None:
        if parent not in parents:
            raise InvalidInput(f"parent outlet {parent} is not registered", "add the parent outlet first")
        walk, seen = parent, set()
        while walk is not None and walk not in seen:  # the new parent must not sit below this outlet
            if walk == code:
                raise InvalidInput(f"outlet {parent} is below {code}: that parent would make a cycle",
                                   "choose a parent above this outlet")
            seen.add(walk)
            walk = parents.get(walk)
    row = s.get(Outlet, code)
    created = row is None
    if created:
        row = Outlet(code=code, name=name.strip(), level=level, parent_code=parent, items=items,
                     hours=hours or "", address=address or "", phone=phone or "", active=True)
        s.add(row)
    else:
        row.name, row.level, row.parent_code, row.active = name.strip(), level, parent, True
        if items:
            row.items = items
        for attr, value in (("hours", hours), ("address", address), ("phone", phone)):
            if value is not None:
                setattr(row, attr, value)
    audit.record(s, actor, "outlet", code, "created" if created else "updated", level=level, parent=parent,
                 items=len(items))
    return row, created


class OutletTree:
    """Parent links of every outlet, reloaded at most every `ttl_s` seconds (outlets change rarely)."""

    def __init__(self, sessions, ttl_s: float = 5.0) -> None:
        self.sessions = sessions
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._loaded = 0.0
        self._children: dict[str | None, list[str]] = {}
        self._parent: dict[str, str | None] = {}
        self._active: set[str] = set()
        self._names: dict[str, str] = {}
        # each outlet's subtree, with the children map it was worked out from (a reload makes a new map)
        self._subtrees: dict[str, tuple[dict, tuple[str, ...]]] = {}

    def _refresh(self, session=None) -> None:
        """Reload when stale. Inside a transaction pass its `session`: on SQLite a second connection would wait
        for the write lock that transaction holds. The query runs outside this object's lock, so a thread waiting
        for the database never holds up a thread that holds the database and asks for names."""
        now = time.monotonic()
        with self._lock:
            if now - self._loaded < self.ttl_s:
                return
        query = select(Outlet.code, Outlet.parent_code, Outlet.active, Outlet.name)
        if session is not None:
            rows = session.execute(query).all()
        else:
            with self.sessions() as s:
                rows = s.execute(query).all()
        children: dict[str | None, list[str]] = {}
        for code, parent, _active, _name in rows:
            children.setdefault(parent, []).append(code)
        with self._lock:
            self._children = children
            self._parent = {code: parent for code, parent, _, _ in rows}
            self._active = {code for code, _, active, _ in rows if active}
            self._names = {code: name for code, _, _, name in rows}
            self._loaded = now

    def invalidate(self) -> None:
        with self._lock:
            self._loaded = 0.0

    def fresh(self) -> bool:
        """Loaded within `ttl_s`: a lookup now answers from memory, without the database."""
        return time.monotonic() - self._loaded < self.ttl_s

    def knows(self, code: str) -> bool:
        """Fresh and `code` is an active outlet in it: `active(code)` answers True from memory."""
        return self.fresh() and code in self._active

    def exists(self, code: str) -> bool:
        self._refresh()
        if code not in self._parent:
            self.invalidate()  # registered a moment ago by the CLI?
            self._refresh()
        return code in self._parent

    def name(self, code: str, session=None) -> str:
        self._refresh(session)
        return self._names.get(code, code)

    def active(self, code: str) -> bool:
        return self.exists(code) and code in self._active

    def subtree(self, code: str, session=None) -> tuple[str, ...]:
        """`code` and every outlet below it (worked out once per load of the tree: every claim, transition and
        feed event asks)."""
        self._refresh(session)
        children, cache = self._children, self._subtrees
        done = cache.get(code)
        if done is not None and done[0] is children:
            return done[1]
        out, stack, seen = [], [code], set()
        while stack:
            c = stack.pop()
            if c in seen:
                continue
            seen.add(c)
            out.append(c)
            stack.extend(children.get(c, ()))
        if len(cache) > 10_000:  # codes asked about that are no outlet (they are cached too): keep it bounded
            cache.clear()
        done = cache[code] = (children, tuple(out))
        return done[1]

    def ancestors(self, code: str, session=None) -> list[str]:
        self._refresh(session)
        out, walk = [], self._parent.get(code)
        while walk is not None and walk not in out:
            out.append(walk)
            walk = self._parent.get(walk)
        return out


router = APIRouter(prefix="/api/v1/outlets", tags=["outlets"], dependencies=[Depends(authenticated)],
                   responses={404: {"description": "no such outlet"}})


@router.get("", response_model=list[OutletOut])
def list_outlets(request: Request, under: str | None = Query(default=None, pattern=CODE.pattern)):
    hub = request.app.state.hub
    with hub.sessions() as s:
        rows = list(s.scalars(select(Outlet).where(Outlet.active.is_(True)).order_by(Outlet.code)))
        if under is not None:
            if s.get(Outlet, under) is None:
                raise HTTPException(404, f"no outlet {under}; GET /api/v1/outlets lists them")
            keep = set(request.app.state.proxy.tree.subtree(under))
            rows = [r for r in rows if r.code in keep]
        return [outlet_out(r) for r in rows]


@router.get("/{code}", response_model=OutletOut)
def get_outlet(request: Request, code: str = Path(pattern=CODE.pattern)):
    with request.app.state.hub.sessions() as s:
        row = s.get(Outlet, code)
        if row is None:
            raise HTTPException(404, f"no outlet {code}; GET /api/v1/outlets lists them")
        return outlet_out(row)
