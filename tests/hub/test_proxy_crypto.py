"""kiosk.hub.crypto: the hub key (file 0600, environment, key file), AES-GCM bound to a column, ID-number HMAC."""
from __future__ import annotations

import os

import pytest

from kiosk.errors import InvalidInput
from kiosk.hub.crypto import DecryptionError, FieldCipher, load_hub_key


def test_key_file_is_created_once_and_private(tmp_path):
    key = load_hub_key(tmp_path, env={})
    assert len(key) == 32 and (tmp_path / "hub.key").stat().st_mode & 0o777 == 0o600
    assert load_hub_key(tmp_path, env={}) == key
    assert [p.name for p in tmp_path.iterdir()] == ["hub.key"]  # no temporary file left behind


def test_key_from_environment_or_key_file(tmp_path):
    hexkey = "11" * 32
    assert load_hub_key(None, env={"KIOSK_HUB_KEY": hexkey}) == bytes.fromhex(hexkey)
    (tmp_path / "k").write_text(hexkey + "\n")
    assert load_hub_key(None, env={"KIOSK_HUB_KEY_FILE": str(tmp_path / "k")}) == bytes.fromhex(hexkey)
    with pytest.raises(InvalidInput):
        load_hub_key(None, env={"KIOSK_HUB_KEY": "too-short"})
    with pytest.raises(InvalidInput):
        load_hub_key(None, env={"KIOSK_HUB_KEY_FILE": str(tmp_path / "missing")})
    with pytest.raises(InvalidInput):
        load_hub_key(None, env={})


def test_ciphertexts_open_only_with_their_key_and_column():
    c = FieldCipher(os.urandom(32))
    blob = c.encrypt_json({"name": "欧阳娜娜", "id_number": "610113199001016787"}, "proxy_requests.applicant_enc")
    assert "欧阳娜娜".encode() not in blob
    assert c.decrypt_json(blob, "proxy_requests.applicant_enc")["name"] == "欧阳娜娜"
    assert c.decrypt_json(blob, "proxy_requests.applicant")["name"] == "欧阳娜娜"  # the column name without _enc
    with pytest.raises(DecryptionError):
        c.decrypt(blob, "proxy_requests.phone_enc")  # moved to another column
    with pytest.raises(DecryptionError):
        FieldCipher(os.urandom(32)).decrypt(blob, "proxy_requests.applicant_enc")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DecryptionError):
        c.decrypt(tampered, "proxy_requests.applicant_enc")
    assert c.encrypt("x", "t.c") != c.encrypt("x", "t.c")  # a fresh nonce each time
    assert c.id_hash("11010519491231002x") == c.id_hash(" 11010519491231002X") != FieldCipher(os.urandom(32)).id_hash("1")
