"""Encryption at rest for the hub's personal fields (AES-256-GCM) and keyed hashes of ID numbers (HMAC-SHA256).

One 32-byte master key, held by the hub, found in this order:

1. the `key=` argument of `create_app` / `load_hub_key` (tests, embedding);
2. `KIOSK_HUB_KEY`: the key itself, 64 hex digits or URL-safe base64 of 32 bytes;
3. `KIOSK_HUB_KEY_FILE`: a file holding the key in either form (a secret mounted by systemd or the orchestrator);
4. `<hub data dir>/hub.key` (beside the SQLite database, or `<data dir>/hub/hub.key` for PostgreSQL), created on
   first start with mode 0600 — readable by the service user only.

Several hub processes on one PostgreSQL must share the key: give each the same `KIOSK_HUB_KEY_FILE`. A lost key
makes the encrypted fields unreadable (by design); back it up apart from the database.

Two sub-keys are derived with HKDF-SHA256 so the cipher key and the hashing key differ. Each ciphertext is
`0x01 || 12-byte random nonce || AES-GCM(ciphertext + tag)`, with a context string (table.column) as associated
data, so a value copied into another column fails to decrypt.

The hashing (HMAC) key outlives a key rotation: an HMAC cannot be recomputed without the value it was made of, so
`kiosk hub rekey` keeps the HMAC key in use in `hub_settings` (row `id_hmac_key`), sealed under the new master key
(kiosk/hub/rekey.py). `hub_cipher` builds a database's cipher with that carried key when the row is there, and
derives it from the master key otherwise; a master key that does not open the row raises `HubKeyMismatch`.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kiosk.errors import InvalidInput

log = logging.getLogger("kiosk.hub.crypto")

KEY_FILE_NAME = "hub.key"
_VERSION = b"\x01"
MAC_KEY_SETTING = "id_hmac_key"  # hub_settings row: the HMAC key carried across key rotations
MAC_KEY_CONTEXT = "hub_settings.id_hmac_key"


class DecryptionError(Exception):
    """A ciphertext that does not open with this key and context (wrong key, tampered, or moved)."""


class HubKeyMismatch(InvalidInput):
    """The hub key does not open the HMAC key a rotation left in hub_settings: the hub runs with the wrong key."""


def _parse_key(text: str, origin: str) -> bytes:
    text = text.strip()
    raw: bytes | None = None
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise InvalidInput(f"the hub key from {origin} is not 32 bytes (64 hex digits or base64)",
                           "generate one with: python -c 'import secrets; print(secrets.token_hex(32))'")
    return raw


def load_hub_key(hub_dir: str | Path | None, key: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    """The hub's master key (see the module docstring for where it comes from); creates the key file if needed."""
    if key is not None:
        if len(key) != 32:
            raise InvalidInput("the hub key must be 32 bytes", "pass 32 random bytes (secrets.token_bytes(32))")
        return key
    env = os.environ if env is None else env
    if env.get("KIOSK_HUB_KEY"):
        return _parse_key(env["KIOSK_HUB_KEY"], "KIOSK_HUB_KEY")
    if env.get("KIOSK_HUB_KEY_FILE"):
        path = Path(env["KIOSK_HUB_KEY_FILE"])
        try:
            return _parse_key(path.read_text(encoding="ascii"), str(path))
        except OSError as exc:
            raise InvalidInput(f"cannot read the hub key file {path}: {exc.strerror}",
                               "check KIOSK_HUB_KEY_FILE and that the service user may read the file") from None
    if hub_dir is None:
        raise InvalidInput("no hub key: no data directory, KIOSK_HUB_KEY or KIOSK_HUB_KEY_FILE",
                           "set KIOSK_HUB_KEY_FILE to a file holding 64 hex digits")
    path = Path(hub_dir) / KEY_FILE_NAME
    try:
        return _parse_key(path.read_text(encoding="ascii"), str(path))
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_hex(32)
    # Written whole to a private temporary file, then linked into place: link() refuses to replace a key
    # another hub process created a moment ago, and no reader ever sees half a key.
    fd, tmp = tempfile.mkstemp(prefix=".hub.key.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(fresh + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _parse_key(path.read_text(encoding="ascii"), str(path))
    finally:
        os.unlink(tmp)
    log.warning("created a new hub key; back it up apart from the database", extra={"path": str(path)})
    return bytes.fromhex(fresh)


class FieldCipher:
    """AES-256-GCM for personal fields; HMAC-SHA256 for lookups by ID number without storing it."""

    def __init__(self, master_key: bytes, mac_key: bytes | None = None) -> None:
        """`mac_key`: the HMAC key carried over from before a key rotation (see `hub_cipher`); by default the
        one derived from `master_key`."""
        if len(master_key) != 32:
            raise ValueError("master key must be 32 bytes")
        if mac_key is not None and len(mac_key) != 32:
            raise ValueError("HMAC key must be 32 bytes")
        self._aead = AESGCM(self._derive(master_key, b"govkiosk hub field encryption v1"))
        self._mac_key = mac_key if mac_key is not None else self._derive(master_key, b"govkiosk hub id-number hmac v1")

    @staticmethod
    def _derive(master: bytes, info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)

    def encrypt(self, plaintext: str | bytes, context: str) -> bytes:
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else bytes(plaintext)
        nonce = secrets.token_bytes(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, data, context.encode("utf-8"))

    def decrypt(self, blob: bytes, context: str) -> bytes:
        if not blob or blob[:1] != _VERSION or len(blob) < 1 + 12 + 16:
            raise DecryptionError(f"{context}: not a hub ciphertext")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], context.encode("utf-8"))
        except InvalidTag:
            pass
        # A column's context is its `table.column` name; readers spell it with or without the `_enc` suffix
        # (proxy_mandates.agent_enc / proxy_mandates.agent), so both open the same value.
        alias = context[:-4] if context.endswith("_enc") else context + "_enc"
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], alias.encode("utf-8"))
        except InvalidTag:
            raise DecryptionError(f"{context}: does not open with this hub key") from None

    def decrypt_text(self, blob: bytes, context: str) -> str:
        return self.decrypt(blob, context).decode("utf-8")

    def encrypt_json(self, value: Any, context: str) -> bytes:
        return self.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")), context)

    def decrypt_json(self, blob: bytes, context: str) -> Any:
        return json.loads(self.decrypt(blob, context))

    @property
    def mac_key(self) -> bytes:
        """The HMAC key of `id_hash` (kept across rotations by kiosk.hub.rekey; never stored in the clear)."""
        return self._mac_key

    def id_hash(self, id_number: str) -> str:
        """HMAC-SHA256 (hex) of a normalised ID number: match a clerk's own card without storing the number."""
        norm = id_number.strip().upper().encode("utf-8")
        return hmac.new(self._mac_key, norm, hashlib.sha256).hexdigest()


def seal_mac_key(cipher: FieldCipher, mac_key: bytes) -> str:
    """`mac_key` sealed with `cipher`, as the `id_hmac_key` row of hub_settings holds it (base64 text)."""
    return base64.b64encode(cipher.encrypt(mac_key, MAC_KEY_CONTEXT)).decode("ascii")


def unseal_mac_key(cipher: FieldCipher, value: str) -> bytes:
    """The HMAC key in the `id_hmac_key` row; DecryptionError when `cipher`'s key does not open it."""
    try:
        blob = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise DecryptionError(f"{MAC_KEY_CONTEXT}: not a hub ciphertext") from None
    key = cipher.decrypt(blob, MAC_KEY_CONTEXT)
    if len(key) != 32:
        raise DecryptionError(f"{MAC_KEY_CONTEXT}: not a 32-byte key")
    return key


def hub_cipher(master_key: bytes, sessions) -> FieldCipher:
    """The field cipher of the hub database behind `sessions` (a session factory, or an open session to read
    with): encryption with `master_key`,
    HMACs with the key a rotation carried over (hub_settings), else with the one derived from `master_key`.

    Raises HubKeyMismatch when the database holds a carried key that `master_key` does not open: deriving
    another HMAC key then would quietly stop every card sign-in and pickup code from matching."""
    from sqlalchemy.orm import Session

    from kiosk.hub.models import HubSetting

    cipher = FieldCipher(master_key)
    if isinstance(sessions, Session):
        row = sessions.get(HubSetting, MAC_KEY_SETTING)
        value = row.value if row is not None else None
    else:
        with sessions() as s:
            row = s.get(HubSetting, MAC_KEY_SETTING)
            value = row.value if row is not None else None
    if value is None:
        return cipher
    try:
        return FieldCipher(master_key, mac_key=unseal_mac_key(cipher, value))
    except DecryptionError:
        raise HubKeyMismatch(
            "the hub key does not open the HMAC key kept in the database (hub_settings.id_hmac_key): the database"
            " was rotated to another key with kiosk hub rekey, so this hub has the wrong key",
            "start the hub with the key the last kiosk hub rekey ran with (KIOSK_HUB_KEY, KIOSK_HUB_KEY_FILE or"
            " hub.key); if that rotation was interrupted, install its new key and run kiosk hub rekey"
            " --old-key-file OLD again (docs/reliability.md)") from None
