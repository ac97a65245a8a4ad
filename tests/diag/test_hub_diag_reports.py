"""The hub's side of diagnostics: `GET /api/v1/diag/ping` (token, clock, platform), kiosks sending reports, and a
supervisor listing each kiosk's last report; on SQLite and PostgreSQL (migration 0007)."""
import datetime as dt

import pytest
import requests

from kiosk.hub.app import create_app
from kiosk.hub.auth import create_token
from kiosk.hub.serving import ServerThread
from kiosk.platform.http_adapter import ReferenceHttpAdapter
from kiosk.platform.simulator import create_app as create_sim_app


@pytest.fixture
def hub(db_url, tmp_path):
    sim = ServerThread(create_sim_app(tmp_path / "platform.db")).start()
    app = create_app(db_url, ReferenceHttpAdapter(sim.url, "govkiosk-demo", "demo-secret-change-me"),
                     upload_dir=tmp_path / "up", relay=False)
    tokens = {}
    with app.state.hub.sessions() as s, s.begin():
        for role, name in (("kiosk", "K0001"), ("kiosk", "K0002"), ("supervisor", "sup"), ("installer", "inst"),
                           ("clerk", "c1")):
            tokens[name] = create_token(s, role, name)
    srv = ServerThread(app).start()
    yield srv.url, tokens, sim
    srv.stop()
    sim.stop()


def call(method, url, token, headers=None, **kw):
    return requests.request(method, url, headers={"Authorization": f"Bearer {token}", **(headers or {})}, timeout=10,
                            **kw)


def report(overall, failing=()):
    checks = [{"check": "hub.token", "device": "hub", "status": "online", "severity": "ok", "level": "internal",
               "details": {}, "errors": []}]
    checks += [{"check": name, "device": name.split(".")[0], "status": "user_error", "severity": "warning",
                "level": "internal", "details": {}, "errors": [{"code": "x", "message": "m", "action": "a"}]}
               for name in failing]
    return {"overall": overall, "level": "internal", "config": "/etc/govkiosk/kiosk.toml", "checks": checks}


def test_ping_checks_the_token_and_reports_clock_and_platform(hub):
    url, tokens, sim = hub
    r = call("GET", url + "/api/v1/diag/ping", tokens["K0001"])
    assert r.status_code == 200
    body = r.json()
    assert body["caller"] == {"role": "kiosk", "name": "K0001"}
    hub_time = dt.datetime.fromisoformat(body["hub_time"])
    # Hub, platform and test share one clock: far below the 120 s at which diag calls a clock wrong.
    assert abs((hub_time - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 60
    assert body["platform"]["reachable"] is True and abs(body["platform"]["skew_s"]) < 60
    assert call("GET", url + "/api/v1/diag/ping", "gk_nope_wrong").status_code == 401
    sim.stop()
    assert call("GET", url + "/api/v1/diag/ping", tokens["K0001"]).json()["platform"]["reachable"] is False


def test_kiosks_send_reports_and_a_supervisor_lists_the_last_one_per_kiosk(hub):
    url, tokens, _ = hub
    assert call("POST", url + "/api/v1/diag/reports", tokens["K0001"], json=report("ok")).status_code == 201
    assert call("POST", url + "/api/v1/diag/reports", tokens["K0001"], json=report("warning", ["printer.paper"])).status_code == 201
    assert call("POST", url + "/api/v1/diag/reports", tokens["K0002"], json=report("ok")).status_code == 201
    listing = call("GET", url + "/api/v1/diag/reports", tokens["sup"]).json()["reports"]
    assert [(r["device_id"], r["overall"], r["failing"]) for r in listing] == [
        ("K0001", "warning", ["printer.paper"]), ("K0002", "ok", [])]
    one = call("GET", url + "/api/v1/diag/reports/K0001", tokens["inst"]).json()
    assert one["report"]["checks"][1]["check"] == "printer.paper"
    assert call("GET", url + "/api/v1/diag/reports/K0009", tokens["sup"]).status_code == 404


def test_who_may_do_what(hub):
    url, tokens, _ = hub
    assert call("GET", url + "/api/v1/diag/reports", tokens["K0001"]).status_code == 403  # kiosks do not read others
    assert call("POST", url + "/api/v1/diag/reports", tokens["c1"], json=report("ok")).status_code == 403
    bad = call("POST", url + "/api/v1/diag/reports", tokens["K0001"], json={"overall": "fine"})
    assert bad.status_code == 422 and "overall" in bad.json()["detail"]
    assert call("POST", url + "/api/v1/diag/reports", tokens["K0001"], data=b"x" * 300_000,
                headers={"Content-Type": "application/json"}).status_code == 413
