"""`kiosk counter staff add|list`: a clerk registered from the command line signs in at the counter with that PIN;
bad numbers and PINs are refused in words; the list is masked."""
from __future__ import annotations

import json
import subprocess
import sys

from kiosk.counter import sample_card

KIOSK = [sys.executable, "-m", "kiosk"]
CLERK = sample_card("clerk")


def _run(*args, stdin: str = "", env=None):
    return subprocess.run([*KIOSK, *args], input=stdin, capture_output=True, text=True, timeout=120, env=env)


def test_staff_add_then_sign_in(tmp_path):
    import os

    db = f"sqlite:///{tmp_path}/hub.db"
    env = dict(os.environ, KIOSK_KIOSK_DATA_DIR=str(tmp_path / "data"))
    assert _run("hub", "outlet", "add", "PX-1", "--name", "测试网点", "--level", "partner", "--db", db, env=env).returncode == 0
    bad = _run("counter", "staff", "add", "--outlet", "PX-1", "--name", "x", "--id-number", "610113198806121028",
               "--pin-stdin", "--db", db, stdin="1234\n", env=env)
    assert bad.returncode == 5 and "check digit" in bad.stderr
    short = _run("counter", "staff", "add", "--outlet", "PX-1", "--name", CLERK["name"], "--id-number",
                 CLERK["id_number"], "--pin-stdin", "--db", db, stdin="12\n", env=env)
    assert short.returncode == 5 and "4 to 8 digits" in short.stderr
    ok = _run("counter", "staff", "add", "--outlet", "PX-1", "--name", CLERK["name"], "--id-number", CLERK["id_number"],
              "--pin-stdin", "--db", db, stdin="246810\n", env=env)
    assert ok.returncode == 0, ok.stderr
    assert CLERK["id_number"] not in ok.stdout + ok.stderr
    listed = json.loads(_run("counter", "staff", "list", "--db", db, env=env).stdout)
    assert listed[0]["pin_set"] is True and listed[0]["name"] != CLERK["name"]
    # The hub (same database and key) lets this clerk sign in with that PIN.
    from fastapi.testclient import TestClient

    from kiosk.hub.app import create_app
    from kiosk.hub.auth import create_token

    app = create_app(db, None, relay=False)
    with app.state.hub.sessions() as s, s.begin():
        device = create_token(s, "kiosk", "C0001", outlet_code="PX-1")
    with TestClient(app) as client:
        r = client.post("/api/v1/counter/sign-in", headers={"Authorization": f"Bearer {device}"},
                        json={"id_number": CLERK["id_number"], "pin": "246810"})
        assert r.status_code == 200, r.text
        assert r.json()["person"]["name"] == CLERK["name"]

