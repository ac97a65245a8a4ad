"""Bearer tokens: creation (only the argon2 hash is stored) and the FastAPI dependencies that check them.

A token reads `gk_<key id>_<secret>`: the key id finds the row, argon2 verifies the whole token. Verified
tokens are remembered in memory for a minute (keyed by their SHA-256) so argon2 runs once per client, not
once per request; revocation and expiry are checked against the database on every request.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from kiosk.hub.db import READ_ONLY, read_only
from kiosk.hub.models import ApiToken

# kiosk: a self-service terminal; channel: another intake (12345 hotline 专席, the provincial mini-program, …);
# clerk (counter 代办员), runner (代办员/跑手), window (窗口人员), chief (审批科长), leader (中心领导): people of an outlet,
# each acting at its escalation level; supervisor: reads everything (the console); installer: read-only, diag reports.
ROLES = ("kiosk", "channel", "clerk", "runner", "window", "chief", "leader", "supervisor", "installer")
# The escalation ladder (四层协调): the level each outlet role acts at.
LEVELS = {"clerk": 0, "runner": 0, "window": 1, "chief": 2, "leader": 3}
LEVEL_NAMES = {0: "代办员", 1: "窗口人员", 2: "审批科长", 3: "中心领导"}
OUTLET_ROLES = tuple(LEVELS)  # roles that need a token bound to an outlet to act on 代办 requests
CACHE_S = 60.0
_hasher = PasswordHasher()


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


class TokenVerifier:
    def __init__(self, sessions) -> None:
        self.sessions = sessions
        self._cache: dict[str, tuple[float, Caller]] = {}
        self._lock = threading.Lock()
        # The validity check runs on every request: a Core statement on a connection of its own, in autocommit
        # on PostgreSQL (one round trip, no BEGIN/ROLLBACK), a deferred read on SQLite (no write lock).
        engine = sessions.kw["bind"]
        self._reader = engine.execution_options(
            **({"isolation_level": "AUTOCOMMIT"} if engine.dialect.name == "postgresql" else {READ_ONLY: True}))
        self._validity = select(ApiToken.revoked, ApiToken.expires_at).where(ApiToken.id == bindparam("token_id"))

    def verify(self, token: str) -> Caller | None:
        """The caller a token stands for, or None (unknown, wrong secret, revoked or expired).

        Only the argon2 check is cached: whether the token is still valid (not revoked, not expired) is read
        from the database on every request, so `kiosk hub token revoke` takes effect at once in every hub
        process, at the price of one primary-key lookup."""
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit and hit[0] > now:
            return hit[1] if self._still_valid(hit[1].token_id) else None
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
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + CACHE_S, caller)
        return caller

    def _still_valid(self, token_id: int) -> bool:
        with self._reader.connect() as conn:
            row = conn.execute(self._validity, {"token_id": token_id}).first()
        return row is not None and not row.revoked and not _expired(row.expires_at)


def _expired(expires_at) -> bool:
    if expires_at is None:
        return False
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
    return expires_at <= dt.datetime.now(dt.timezone.utc)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def authenticated(request: Request) -> Caller:
    """Every router of the API is mounted with this dependency, so no route can forget it."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>' (kiosk hub token create)")
    caller = request.app.state.tokens.verify(token.strip())
    if caller is None:
        raise _unauthorized("unknown or revoked token")
    request.state.caller = caller
    return caller


def require_roles(*roles: str):
    def check(caller: Caller = Depends(authenticated)) -> Caller:
        if caller.role not in roles:
            raise HTTPException(status_code=403, detail=f"role {caller.role!r} may not do this; needs one of {list(roles)}")
        return caller

    return check
