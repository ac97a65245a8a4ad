"""Request signing of the reference platform protocol (docs/platform-protocol.md §2).

Every request carries an app id, a Unix timestamp, a one-time nonce and a signature over a canonical
string; the algorithm is HMAC-SHA256, or HMAC-SM3 (GB/T 32905-2016 hash in the RFC 2104 construction)
where 国密 is required.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qsl, quote

from gmssl import func as _gm_func
from gmssl import sm3 as _gm_sm3

ALGORITHMS = ("hmac-sha256", "sm3")
HEADER_APP_ID = "X-App-Id"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_ALGORITHM = "X-Signature-Method"
HEADER_SIGNATURE = "X-Signature"
MAX_SKEW_S = 300  # a request older or newer than this is refused; nonces are kept this long

_SM3_BLOCK = 64  # GB/T 32905-2016: 512-bit message blocks


def _sm3(data: bytes) -> bytes:
    return bytes.fromhex(_gm_sm3.sm3_hash(_gm_func.bytes_to_list(data)))


def hmac_sm3(key: bytes, message: bytes) -> bytes:
    """HMAC (RFC 2104) over SM3; gmssl ships the hash but not the MAC."""
    if len(key) > _SM3_BLOCK:
        key = _sm3(key)
    key = key.ljust(_SM3_BLOCK, b"\0")
    inner = _sm3(bytes(k ^ 0x36 for k in key) + message)
    return _sm3(bytes(k ^ 0x5C for k in key) + inner)


def body_digest(body: bytes, algorithm: str) -> str:
    if algorithm == "sm3":
        return _sm3(body).hex()
    return hashlib.sha256(body).hexdigest()


def canonical_query(query: str) -> str:
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


def canonical_string(method: str, path: str, query: str, app_id: str, timestamp: str, nonce: str,
                     body: bytes, algorithm: str) -> str:
    """METHOD \\n PATH \\n sorted query \\n app id \\n timestamp \\n nonce \\n hex digest of the body."""
    return "\n".join([method.upper(), path, canonical_query(query), app_id, timestamp, nonce,
                      body_digest(body, algorithm)])


def signature(secret: str, canonical: str, algorithm: str) -> str:
    key, msg = secret.encode("utf-8"), canonical.encode("utf-8")
    if algorithm == "sm3":
        mac = hmac_sm3(key, msg)
    elif algorithm == "hmac-sha256":
        mac = hmac.new(key, msg, hashlib.sha256).digest()
    else:
        raise ValueError(f"unknown signing algorithm {algorithm!r}; use one of {ALGORITHMS}")
    return base64.b64encode(mac).decode("ascii")


def sign_headers(method: str, path: str, query: str, body: bytes, app_id: str, secret: str,
                 algorithm: str = "hmac-sha256", timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """The five headers that authenticate one request."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    canonical = canonical_string(method, path, query, app_id, ts, nonce, body, algorithm)
    return {
        HEADER_APP_ID: app_id,
        HEADER_TIMESTAMP: ts,
        HEADER_NONCE: nonce,
        HEADER_ALGORITHM: algorithm,
        HEADER_SIGNATURE: signature(secret, canonical, algorithm),
    }


class SignatureRejected(Exception):
    """Why a request's signature was refused (the reason goes back to the caller)."""


def verify(method: str, path: str, query: str, body: bytes, headers, secrets_by_app: dict[str, str],
           now: float | None = None) -> tuple[str, str, int]:
    """Check app id, timestamp window and signature; returns (app_id, nonce, timestamp).

    The nonce is not checked here: the caller keeps the seen-nonce store (it must be shared and persistent).
    """
    app_id = headers.get(HEADER_APP_ID)
    ts = headers.get(HEADER_TIMESTAMP)
    nonce = headers.get(HEADER_NONCE)
    algorithm = (headers.get(HEADER_ALGORITHM) or "hmac-sha256").lower()
    sig = headers.get(HEADER_SIGNATURE)
    if not (app_id and ts and nonce and sig):
        raise SignatureRejected("missing one of X-App-Id, X-Timestamp, X-Nonce, X-Signature")
    if algorithm not in ALGORITHMS:
        raise SignatureRejected(f"unsupported X-Signature-Method {algorithm!r}")
    secret = secrets_by_app.get(app_id)
    if secret is None:
        raise SignatureRejected(f"unknown app id {app_id!r}")
    try:
        ts_int = int(ts)
    except ValueError:
        raise SignatureRejected("X-Timestamp is not a Unix time in seconds") from None
    now = time.time() if now is None else now
    if abs(now - ts_int) > MAX_SKEW_S:
        raise SignatureRejected(f"stale timestamp (more than {MAX_SKEW_S} s from the platform clock)")
    if not 8 <= len(nonce) <= 64:
        raise SignatureRejected("X-Nonce must be 8-64 characters")
    expected = signature(secret, canonical_string(method, path, query, app_id, ts, nonce, body, algorithm), algorithm)
    if not hmac.compare_digest(expected, sig):
        raise SignatureRejected("bad signature")
    return app_id, nonce, ts_int
