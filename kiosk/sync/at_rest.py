"""AES-GCM encryption of personal data at rest on the kiosk (DESIGN §6); the key file is 0600."""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.errors import KioskError

NONCE_BYTES = 12  # NIST SP 800-38D: 96-bit IVs


def load_or_create_key(path: Path) -> bytes:
    """The 256-bit key in `path`, created with mode 0600 on first use (atomically, so two processes agree)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, AESGCM.generate_key(bit_length=256))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if another process won the race: then its key is the key
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        key = path.read_bytes()
    if len(key) != 32:
        raise KioskError(f"the outbox key {path} is damaged ({len(key)} bytes, expected 32)",
                         "restore it from backup; without it the queued cases cannot be read")
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, 0o600)
    return key


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: bytes = b"") -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes = b"") -> bytes:
        return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
