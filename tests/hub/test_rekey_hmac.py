"""`kiosk hub rekey` carries the HMAC key over (kiosk.hub.rekey.carry_mac_key): a clerk registered before a key
rotation still signs in with the card, a pickup code bound before it still finds its case, after one rotation and
after two; a rotation interrupted and run again loses nothing; a hub or a rotation with the wrong key stops with
words instead of hashing with another key (SQLite + PostgreSQL)."""
from __future__ import annotations

import json
import os

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from fastapi.testclient import TestClient

import kiosk.hub.counter as counter
from hub_support import case_payload
from kiosk.counter import sample_card
from kiosk.hub.case_fields import field_cipher
from kiosk.hub.app import create_app
from kiosk.hub.auth import create_token
from kiosk.hub.crypto import MAC_KEY_SETTING, HubKeyMismatch
from kiosk.hub.models import HubSetting, Outlet

counter._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # light PIN hashes in tests

CLERK = sample_card("clerk")
RUNNER = sample_card("agent")
OUTLET = "O-POST-1"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def _app(db_url, tmp_path, monkeypatch, key: bytes):
    monkeypatch.setenv("KIOSK_HUB_KEY", key.hex())
    return create_app(db_url, None, relay=False, upload_dir=tmp_path / "uploads")


def _key_file(tmp_path, key: bytes):
    path = tmp_path / f"{key.hex()[:8]}.key"
    path.write_text(key.hex() + "\n", encoding="ascii")
    return str(path)


def _rekey(db_url, tmp_path, monkeypatch, old: bytes, new: bytes):
    from kiosk.cli import cli

    monkeypatch.setenv("KIOSK_HUB_KEY", new.hex())
    return CliRunner().invoke(cli, ["hub", "rekey", "--old-key-file", _key_file(tmp_path, old), "--db", db_url,
                                    "--json"])


def _rekeyed(db_url, tmp_path, monkeypatch, old: bytes, new: bytes) -> dict:
    r = _rekey(db_url, tmp_path, monkeypatch, old, new)
    assert r.exit_code == 0, r.output
    return json.loads(r.output.strip().splitlines()[-1])


def _seed(app) -> dict:
    """An outlet with one clerk (registered with the hub's cipher, as the counter does), a counter device and a
    kiosk token."""
    hub = app.state.hub
    with hub.sessions() as s, s.begin():
        s.add(Outlet(code=OUTLET, name="雁塔邮政政务服务专区", level="partner", items=[]))
        s.flush()
        counter.register_staff(s, field_cipher(hub), outlet_code=OUTLET, role="clerk", name=CLERK["name"],
                               id_number=CLERK["id_number"], pin="246810")
        return {"device": create_token(s, "kiosk", "C0001", outlet_code=OUTLET),
                "kiosk": create_token(s, "kiosk", "K0001")}


def _file_case(app, tokens, receipt_no: str, code: str) -> None:
    with TestClient(app) as client:
        r = client.post("/api/v1/cases", json=case_payload(receipt_no, pickup_code=code),
                        headers={"Authorization": f"Bearer {tokens['kiosk']}", "Idempotency-Key": receipt_no})
        assert r.status_code == 201, r.text


def _sign_in(client, tokens, card, pin):
    return client.post("/api/v1/counter/sign-in", headers={"Authorization": f"Bearer {tokens['device']}"},
                       json={"id_number": card["id_number"], "pin": pin})


def _check(app, tokens, staff: list[tuple[dict, str]], codes: dict[str, str]) -> None:
    """Each of `staff` signs in with the card; each pickup code of `codes` (receipt → code) finds its case."""
    with TestClient(app) as client:
        clerk_token = None
        for card, pin in staff:
            r = _sign_in(client, tokens, card, pin)
            assert r.status_code == 200, (card["name"], r.text)
            assert r.json()["person"]["name"] == card["name"]
            clerk_token = clerk_token or r.json()["token"]
        for receipt_no, code in codes.items():
            r = client.post("/api/v1/counter/lookup", headers={"Authorization": f"Bearer {clerk_token}"},
                            json={"pickup_code": code})
            assert r.status_code == 200, r.text
            assert [c["receipt_no"] for c in r.json()["results"]] == [receipt_no], code


def test_card_sign_in_and_pickup_codes_survive_two_rotations(db_url, env, monkeypatch):
    from kiosk.cli import cli

    a, b, c = (os.urandom(32) for _ in range(3))
    app = _app(db_url, env, monkeypatch, a)
    tokens = _seed(app)
    _file_case(app, tokens, "K0001-20261201-0001", "135246")
    codes = {"K0001-20261201-0001": "135246"}
    _check(app, tokens, [(CLERK, "246810")], codes)

    doc = _rekeyed(db_url, env, monkeypatch, a, b)
    assert doc["hmac_key"] == "carried" and doc["cases_reencrypted"] == 1
    assert doc["hmac_bound"] == {"people.id_number_hash": 1, "counter_pickup_hashes": 1}
    app = _app(db_url, env, monkeypatch, b)
    _check(app, tokens, [(CLERK, "246810")], codes)
    # Registered after the rotation (the command line, the hub): hashed with the same carried key.
    r = CliRunner().invoke(cli, ["counter", "staff", "add", "--outlet", OUTLET, "--role", "runner", "--name",
                                 RUNNER["name"], "--id-number", RUNNER["id_number"], "--pin-stdin", "--db", db_url],
                           input="112233\n")
    assert r.exit_code == 0, r.output
    _file_case(app, tokens, "K0001-20261201-0002", "864209")
    codes["K0001-20261201-0002"] = "864209"
    _check(app, tokens, [(CLERK, "246810"), (RUNNER, "112233")], codes)

    doc = _rekeyed(db_url, env, monkeypatch, b, c)
    assert doc["hmac_key"] == "carried" and doc["cases_reencrypted"] == 2
    assert doc["hmac_bound"] == {"people.id_number_hash": 2, "counter_pickup_hashes": 2}
    app = _app(db_url, env, monkeypatch, c)
    _check(app, tokens, [(CLERK, "246810"), (RUNNER, "112233")], codes)
    with TestClient(app) as client:  # a citizen's card is still not taken for a clerk's
        assert _sign_in(client, tokens, sample_card("stranger"), "246810").json()["detail"]["code"] == "not_staff"

    again = _rekeyed(db_url, env, monkeypatch, b, c)  # run again: nothing left to do, the key stays
    assert again["hmac_key"] == "kept" and again["cases_reencrypted"] == 0
    _check(_app(db_url, env, monkeypatch, c), tokens, [(CLERK, "246810"), (RUNNER, "112233")], codes)

    # The operator's words say the values keep matching.
    r = CliRunner().invoke(cli, ["hub", "rekey", "--old-key-file", _key_file(env, b), "--db", db_url])
    assert r.exit_code == 0, r.output
    assert "2 person(s)' card sign-in and 2 pickup code(s) keep matching" in r.output
    assert "register" not in r.output


def test_an_interrupted_rotation_run_again_loses_nothing(db_url, env, monkeypatch):
    import kiosk.hub.case_fields as case_fields

    a, b = os.urandom(32), os.urandom(32)
    app = _app(db_url, env, monkeypatch, a)
    tokens = _seed(app)
    _file_case(app, tokens, "K0001-20261201-0001", "135246")

    def power_cut(*_args, **_kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(case_fields, "reseal_all", power_cut)
    r = _rekey(db_url, env, monkeypatch, a, b)
    assert r.exit_code == 1 and "power cut" in r.output
    monkeypatch.undo()
    monkeypatch.setenv("KIOSK_DATA_DIR", str(env / "data"))
    # The HMAC key is already under the new key: a hub with it matches cards; the old key is refused in words.
    with TestClient(_app(db_url, env, monkeypatch, b)) as client:
        assert _sign_in(client, tokens, CLERK, "246810").status_code == 200
    with pytest.raises(HubKeyMismatch, match="does not open the HMAC key"):
        _app(db_url, env, monkeypatch, a)

    doc = _rekeyed(db_url, env, monkeypatch, a, b)
    assert doc["hmac_key"] == "kept" and doc["cases_reencrypted"] == 1
    _check(_app(db_url, env, monkeypatch, b), tokens, [(CLERK, "246810")], {"K0001-20261201-0001": "135246"})


def test_a_wrong_key_stops_with_words(db_url, env, monkeypatch):
    a, b, c, wrong = (os.urandom(32) for _ in range(4))
    app = _app(db_url, env, monkeypatch, a)
    tokens = _seed(app)
    _file_case(app, tokens, "K0001-20261201-0001", "135246")

    def setting():
        with app.state.hub.sessions() as s:
            row = s.get(HubSetting, MAC_KEY_SETTING)
            return row.value if row is not None else None

    # First rotation with the wrong old key: refused before anything is stored, so the right one still works.
    r = _rekey(db_url, env, monkeypatch, wrong, b)
    assert r.exit_code == 1 and "opens with neither the old nor the current key" in r.output
    assert setting() is None
    assert _rekeyed(db_url, env, monkeypatch, a, b)["hmac_key"] == "carried"
    carried = setting()

    # A hub started with a key that does not open the carried HMAC key refuses to start, saying what to do.
    with pytest.raises(HubKeyMismatch) as err:
        _app(db_url, env, monkeypatch, wrong)
    assert "kiosk hub rekey" in err.value.message and "start the hub with the key" in err.value.action
    with pytest.raises(HubKeyMismatch):
        _app(db_url, env, monkeypatch, a)  # the key from before the rotation too
    # The commands that hash ID numbers refuse the same way instead of hashing with another key.
    from kiosk.cli import cli

    monkeypatch.setenv("KIOSK_HUB_KEY", wrong.hex())
    r = CliRunner().invoke(cli, ["counter", "staff", "add", "--outlet", OUTLET, "--name", RUNNER["name"],
                                 "--id-number", RUNNER["id_number"], "--pin-stdin", "--db", db_url],
                           input="112233\n")
    assert r.exit_code == 5 and "does not open the HMAC key" in r.output

    # Second rotation with the wrong old key: refused, nothing changed.
    r = _rekey(db_url, env, monkeypatch, wrong, c)
    assert r.exit_code == 1 and "hub_settings.id_hmac_key" in r.output and "what to do" in r.output
    assert setting() == carried
    _check(_app(db_url, env, monkeypatch, b), tokens, [(CLERK, "246810")], {"K0001-20261201-0001": "135246"})
    app.state.hub.engine.dispose()
