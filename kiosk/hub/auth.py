"""Bearer tokens: creation (only the argon2 hash is stored) and the FastAPI dependencies that check them.

A token reads `gk_<key id>_<secret>`: the key id finds the row, argon2 verifies the whole token. Verified
tokens are remembered in memory (keyed by their SHA-256) for `PROOF_S`, a working day, so argon2 runs once per
client and hub process, not once per request or per minute; whether a token is revoked or expired is read from
the database at most `RECHECK_S` before a request is let through, so a revocation (`kiosk hub token revoke`, in
any process) takes effect in every hub process within that second, and a busy client's requests skip both the
database and a worker thread. The tokens in use are re-read together, in one statement, on a thread of its own
started before their second runs out.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kiosk.hub.db import READ_ONLY, read_only
from kiosk.hub.logs_throttle import Throttle
from kiosk.hub.models import ApiToken

# kiosk: a self-service terminal; channel: another intake (12345 hotline 专席, the provincial mini-program, …);
# clerk (counter 代办员), runner (代办员/跑手), window (窗口人员), chief (审批科长), leader (中心领导): people of an outlet,
# each acting at its escalation level; supervisor: reads everything (the console); installer: read-only, diag reports.
ROLES = ("kiosk", "channel", "clerk", "runner", "window", "chief", "leader", "supervisor", "installer")
# The escalation ladder (四层协调): the level each outlet role acts at.
LEVELS = {"clerk": 0, "runner": 0, "window": 1, "chief": 2, "leader": 3}
LEVEL_NAMES = {0: "代办员", 1: "窗口人员", 2: "审批科长", 3: "中心领导"}
OUTLET_ROLES = tuple(LEVELS)  # roles that need a token bound to an outlet to act on 代办 requests
# How long an argon2 verification is remembered. The proof only says that these bytes are the token whose hash the
# row holds, which stays true; revocation and expiry are read from the database every RECHECK_S regardless. Each
# verification with the library's parameters costs 64 MiB and 0.1–0.35 s of CPU on a 2-core hub: proving a token
# again every minute cost a fifth of a core with 36 clients.
PROOF_S = 12 * 3600.0
RECHECK_S = 1.0  # how long a database check that the token is neither revoked nor expired holds
ACTIVE_S = 10.0  # a token used within this long is re-read with the others (one statement for all of them)
_hasher = PasswordHasher()
log = logging.getLogger("kiosk.hub.auth")


@dataclass(frozen=True)
class Caller:
    token_id: int
    role: str
    name: str
    outlet_code: str | None = None
    person_id: int | None = None

    @property
    def level(self) -> int | None:
        """The escalation level this caller acts at (None for kiosk, channel, supervisor, installer)."""
        return LEVELS.get(self.role)

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


def create_token(session: Session, role: str, name: str, outlet_code: str | None = None,
                 person_id: int | None = None, expires_at=None) -> str:
    """Store a new token's hash and return the token itself (shown once, never stored).

    `outlet_code` binds the token to an outlet (clerks and the escalation levels act only on their outlet's
    subtree); `person_id` names the person holding it (a `people` row)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if not name.strip():
        raise ValueError("name must not be empty")
    key_id = secrets.token_hex(6)
    token = f"gk_{key_id}_{secrets.token_urlsafe(24)}"
    session.add(ApiToken(key_id=key_id, token_hash=_hasher.hash(token), role=role, name=name.strip(),
                         outlet_code=outlet_code, person_id=person_id, expires_at=expires_at))
    return token


class _Entry:
    """A token this process has verified: until when argon2's proof and the database's word hold, and when the
    token was last used (the batched re-read covers the tokens in use)."""
    __slots__ = ("proof_until", "checked_until", "caller", "expires", "used_at")

    def __init__(self, proof_until: float, checked_until: float, caller: Caller, expires: float | None,
                 used_at: float) -> None:
        self.proof_until, self.checked_until, self.caller = proof_until, checked_until, caller
        self.expires, self.used_at = expires, used_at


class TokenVerifier:
    def __init__(self, sessions, clock=time.monotonic) -> None:
        self.sessions = sessions
        self._clock = clock
        # SHA-256 of the token -> its entry; a token past its expiry (a Unix time) is refused at once, not at the
        # next re-read
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._recheck_lock = threading.Lock()  # one re-read at a time; the others wait for its answer
        self._refresher: threading.Thread | None = None  # the re-read started ahead of the deadline, if running
        self._ahead_after = 0.0  # no re-read ahead of time before this (one just failed)
        self._throttle = Throttle(log)
        # The validity re-read: a Core statement on a connection of its own, in autocommit on PostgreSQL (one round
        # trip, no BEGIN/ROLLBACK), a deferred read on SQLite (no write lock).
        engine = sessions.kw["bind"]
        self._reader = engine.execution_options(
            **({"isolation_level": "AUTOCOMMIT"} if engine.dialect.name == "postgresql" else {READ_ONLY: True}))
        self._validity = select(ApiToken.id, ApiToken.revoked, ApiToken.expires_at).where(
            ApiToken.id.in_(bindparam("ids", expanding=True)))

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def cached(self, token: str) -> Caller | None:
        """The caller, if argon2 verified this token within `PROOF_S` and the database said it valid within
        `RECHECK_S`; else None (then `verify`). No I/O: the event loop calls it for every request."""
        entry = self._cache.get(self._digest(token))
        if entry is None:
            return None
        now = self._clock()
        entry.used_at = now
        if entry.proof_until > now and entry.checked_until > now and (entry.expires is None
                                                                        or entry.expires > time.time()):
            if entry.checked_until - now < RECHECK_S / 2:
                self._refresh_ahead()
            return entry.caller
        return None

    def _refresh_ahead(self) -> None:
        """Start the re-read on a thread of its own before the tokens' last read runs out, so that no request
        waits for it: with every token in use sharing one deadline, all their requests in that moment would
        otherwise wait for a request thread and for the one re-read."""
        with self._lock:
            if self._refresher is not None or self._clock() < self._ahead_after:
                return
            self._refresher = refresher = threading.Thread(target=self._refresh, name="token-recheck", daemon=True)
        refresher.start()

    def _refresh(self) -> None:
        try:
            self._recheck()
        except Exception as exc:
            # The database is away: not again ahead of time for a second (each request in the window would start
            # one); requests past the deadline re-read it themselves, and fail as they would have.
            self._ahead_after = self._clock() + RECHECK_S
            self._throttle.warning(f"re-reading the tokens in use failed: {exc}", key="token-recheck")
        finally:
            with self._lock:
                self._refresher = None

    def verify(self, token: str) -> Caller | None:
        """The caller a token stands for, or None (unknown, wrong secret, revoked or expired).

        argon2 runs once per token and `PROOF_S`. Whether the tokens in use are still valid (not revoked, not
        expired) is read from the database in one statement for all of them when the last read is more than
        `RECHECK_S` old: one read a second however many clients a hub serves."""
        digest = self._digest(token)
        now = self._clock()
        entry = self._cache.get(digest)
        if entry is not None and entry.proof_until > now:
            entry.used_at = now
            if entry.checked_until <= now:
                self._recheck()
            if entry.expires is not None and entry.expires <= time.time():
                return None
            if self._cache.get(digest) is entry:
                return entry.caller
            # dropped by the re-read (revoked, expired, deleted: the row says so below, before any argon2) or by a
            # full cache's clearing (proved again)
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "gk" or len(parts[1]) > 16:
            return None
        with self.sessions() as s:
            read_only(s)
            row = s.scalar(select(ApiToken).where(ApiToken.key_id == parts[1]))
            if row is None or row.revoked or _expired(row.expires_at):
                return None
            try:
                _hasher.verify(row.token_hash, token)
            except (VerificationError, InvalidHashError):
                return None
            caller = Caller(row.id, row.role, row.name, row.outlet_code, row.person_id)
            expires = _unix(row.expires_at)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = _Entry(now + PROOF_S, self._clock() + RECHECK_S, caller, expires, now)
        return caller

    def forget(self, token: str) -> None:
        """Drop a token from this process's memory (revoked here: refused from the next request on)."""
        with self._lock:
            self._cache.pop(self._digest(token), None)

    def _recheck(self) -> None:
        """Re-read revocation and expiry of every token used within the last `ACTIVE_S`, in one statement, and drop
        those no longer valid. A token idle longer keeps its old word and is re-read at its next use."""
        with self._recheck_lock:
            now = self._clock()
            with self._lock:
                due = {digest: e for digest, e in self._cache.items()
                       if e.used_at > now - ACTIVE_S and e.checked_until <= now + RECHECK_S / 2}
            if not due:
                return  # another thread's re-read, which this one waited for, covered them
            until = self._clock() + RECHECK_S  # what the database says now holds a second from now
            with self._reader.connect() as conn:
                rows = {row.id: row for row in conn.execute(
                    self._validity, {"ids": sorted({e.caller.token_id for e in due.values()})})}
            with self._lock:
                for digest, e in due.items():
                    row = rows.get(e.caller.token_id)
                    if row is None or row.revoked or _expired(row.expires_at):
                        if self._cache.get(digest) is e:
                            del self._cache[digest]
                        continue
                    e.expires, e.checked_until = _unix(row.expires_at), until


def _unix(expires_at) -> float | None:
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
    return expires_at.timestamp()


def _expired(expires_at) -> bool:
    unix = _unix(expires_at)
    return unix is not None and unix <= time.time()


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


async def authenticated(request: Request) -> Caller:
    """Every router of the API is mounted with this dependency, so no route can forget it.

    A token checked within the last `RECHECK_S` is answered from memory on the event loop; otherwise the
    check (argon2, the database) runs on a worker thread."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>' (kiosk hub token create)")
    verifier = request.app.state.tokens
    caller = verifier.cached(token)
    if caller is None:
        caller = await run_in_threadpool(verifier.verify, token)
    if caller is None:
        raise _unauthorized("unknown or revoked token")
    request.state.caller = caller
    return caller


def require_roles(*roles: str):
    # async: FastAPI runs a plain `def` dependency on a worker thread, a hand-off per request for a comparison
    async def check(caller: Caller = Depends(authenticated)) -> Caller:
        if caller.role not in roles:
            raise HTTPException(status_code=403, detail=f"role {caller.role!r} may not do this; needs one of {list(roles)}")
        return caller

    return check
