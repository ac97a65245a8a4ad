"""The reference platform protocol and its simulator: signing, replay protection, persistence, faults."""
from __future__ import annotations

import datetime as dt
import hashlib
import time

import pytest
import requests

from hub_support import APP_ID, SECRET, set_faults
from kiosk.hub.serving import ServerThread
from kiosk.platform import signing
from kiosk.platform.adapter import Applicant, CaseSubmission, MaterialFile, PlatformRejected, PlatformUnavailable
from kiosk.platform.http_adapter import ReferenceHttpAdapter
from kiosk.platform.simulator import add_working_days, create_app


def _signed_get(url: str, path: str, secret: str = SECRET, algorithm: str = "hmac-sha256", **kw) -> requests.Response:
    headers = signing.sign_headers("GET", path, "", b"", APP_ID, secret, algorithm, **kw)
    return requests.get(url + path, headers=headers, timeout=5)


def _submission(ref: str, content: bytes = b"%PDF-1.4 scan") -> CaseSubmission:
    return CaseSubmission(
        client_ref=ref, item_code="11610113MB2968340W4000119021000", item_name="个体工商户设立登记",
        applicant=Applicant("张三", "610113199001011234", "111", "13700009050", "陕西省西安市雁塔区小寨东路1号"),
        form={"business_scope": "餐饮", "premises_address": "雁塔区小寨东路1号", "capital": "10"}, delivery="邮寄", channel="counter", submitted_at="2026-11-22T10:00:00+08:00",
        materials=[MaterialFile("M01", "居民身份证", hashlib.sha256(content).hexdigest(), content),
                   MaterialFile("M02", "经营场所使用证明", hashlib.sha256(content + b"2").hexdigest(), content + b"2")])


def test_sm3_known_answer_and_hmac_sm3_shape():
    # GB/T 32905-2016 Appendix A, example 1: SM3("abc")
    assert signing._sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    mac = signing.hmac_sm3(b"key", b"message")
    assert len(mac) == 32 and mac != signing.hmac_sm3(b"key2", b"message")
    assert signing.hmac_sm3(b"k" * 100, b"m") == signing.hmac_sm3(signing._sm3(b"k" * 100), b"m")


def test_canonical_string_is_fixed():
    canonical = signing.canonical_string("post", "/api/v1/applications", "b=2&a=1", "app", "1700000000", "n0nce123",
                                         b"{}", "hmac-sha256")
    assert canonical == ("POST\n/api/v1/applications\na=1&b=2\napp\n1700000000\nn0nce123\n"
                         "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")


def test_signed_requests_pass_and_forged_ones_are_refused(sim):
    assert _signed_get(sim.url, "/api/v1/catalog").status_code == 200
    assert _signed_get(sim.url, "/api/v1/catalog", algorithm="sm3").status_code == 200
    bad = _signed_get(sim.url, "/api/v1/catalog", secret="wrong")
    assert bad.status_code == 401 and bad.json()["message"] == "bad signature"
    stale = _signed_get(sim.url, "/api/v1/catalog", timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401 and "stale" in stale.json()["message"]
    assert requests.get(sim.url + "/api/v1/catalog", timeout=5).status_code == 401
    headers = signing.sign_headers("GET", "/api/v1/catalog", "", b"", APP_ID, SECRET)
    assert requests.get(sim.url + "/api/v1/catalog", headers=headers, timeout=5).status_code == 200
    replay = requests.get(sim.url + "/api/v1/catalog", headers=headers, timeout=5)
    assert replay.status_code == 401 and "replayed nonce" in replay.json()["message"]
    # A body changed after signing is refused.
    body = b'{"client_ref": "X-1", "item_code": "x"}'
    headers = signing.sign_headers("POST", "/api/v1/applications", "", body, APP_ID, SECRET)
    r = requests.post(sim.url + "/api/v1/applications", data=body.replace(b"X-1", b"X-2"), headers=headers, timeout=5)
    assert r.status_code == 401


def test_five_step_flow_is_idempotent_and_stores_material_hashes(sim):
    adapter = ReferenceHttpAdapter(sim.url, APP_ID, SECRET, algorithm="sm3")
    sub = _submission("C0001-20261122-0001")
    first = adapter.submit(sub)
    again = adapter.submit(sub)  # e.g. the hub lost the first answer
    assert first.case_no == again.case_no and first.status == again.status == "accepted"
    case = requests.get(f"{sim.url}/sim/cases/{first.case_no}", timeout=5).json()
    assert {m["code"]: m["sha256"] for m in case["materials"]} == {m.code: m.sha256 for m in sub.materials}
    assert case["delivery"] == "邮寄" and case["delivery_address"].startswith("陕西省西安市")
    assert case["applicant"]["id_number"] == "6*************1234"  # the inspection view is masked
    status = adapter.query_status(first.case_no)
    assert [h["status"] for h in status["history"]] == ["draft", "accepted"]
    ev = adapter.upload_evaluation(first.case_no, {"level": 5, "channel": "5"})
    assert ev["case_no"] == first.case_no
    with pytest.raises(PlatformRejected):
        adapter.upload_evaluation(first.case_no, {"level": 1})  # a 差评 needs a reason


def test_wrong_material_hash_and_unknown_item_are_rejected(sim):
    adapter = ReferenceHttpAdapter(sim.url, APP_ID, SECRET)
    sub = _submission("C0001-20261122-0002")
    sub.materials[0].sha256 = "0" * 64
    with pytest.raises(PlatformRejected, match="sha256"):
        adapter.submit(sub)
    sub = _submission("C0001-20261122-0003")
    sub.item_code = "nope"
    with pytest.raises(PlatformRejected, match="unknown item code"):
        adapter.submit(sub)


def test_a_case_lacking_a_required_form_field_is_refused(sim):
    adapter = ReferenceHttpAdapter(sim.url, APP_ID, SECRET)
    sub = _submission("C0001-20261122-0004")
    del sub.form["premises_address"]
    sub.form["capital"] = "  "
    with pytest.raises(PlatformRejected, match="premises_address, capital"):
        adapter.submit(sub)


def test_fault_injection_and_unreachable_platform(sim):
    adapter = ReferenceHttpAdapter(sim.url, APP_ID, SECRET)
    set_faults(sim.url, fail_rate=1.0)
    with pytest.raises(PlatformUnavailable, match="503"):
        adapter.fetch_catalog()
    set_faults(sim.url, fail_rate=0.0, latency_ms=50)
    assert requests.get(f"{sim.url}/sim/faults", timeout=5).json() == {"fail_rate": 0.0, "latency_ms": 50}
    assert len(adapter.fetch_catalog()) >= 150
    with pytest.raises(PlatformUnavailable, match="unreachable"):
        ReferenceHttpAdapter("http://127.0.0.1:9", APP_ID, SECRET, timeout=2).fetch_catalog()


def test_a_redirect_or_a_page_that_is_not_json_gets_a_clear_error():
    """A platform URL given as http:// for an https:// platform answers with a redirect: the case waits with a hint
    to check the URL instead of following it unsigned; an HTML error page is quoted, not a JSON traceback."""
    import http.server
    import threading

    class Odd(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/moved"):
                self.send_response(301)
                self.send_header("Location", "https://platform.example/api/v1/catalog")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            page = "<html>404 页面不存在</html>".encode()
            self.send_response(404)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Odd)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}"
        with pytest.raises(PlatformUnavailable, match="redirected .*platform.example.*check platform.url"):
            ReferenceHttpAdapter(url + "/moved", APP_ID, SECRET, timeout=5).fetch_catalog()
        with pytest.raises(PlatformRejected, match="404 <html>404 页面不存在"):
            ReferenceHttpAdapter(url, APP_ID, SECRET, timeout=5).fetch_catalog()
    finally:
        srv.shutdown()
        srv.server_close()


def test_simulator_persists_cases_and_sequence_across_restarts(tmp_path):
    db = tmp_path / "platform.db"
    with ServerThread(create_app(db)) as srv:
        first = ReferenceHttpAdapter(srv.url, APP_ID, SECRET).submit(_submission("C0001-20261122-0010"))
    with ServerThread(create_app(db)) as srv:
        adapter = ReferenceHttpAdapter(srv.url, APP_ID, SECRET)
        assert adapter.query_status(first.case_no)["status"] == "accepted"
        second = adapter.submit(_submission("C0001-20261122-0011"))
    assert int(second.case_no[-6:]) == int(first.case_no[-6:]) + 1
    assert second.case_no[:14] == first.case_no[:14]


def test_callbacks_are_verified():
    adapter = ReferenceHttpAdapter("http://127.0.0.1:9", APP_ID, SECRET)
    body = b'{"case_no": "61011320261122000001", "status": "completed"}'
    headers = signing.sign_headers("POST", "/callbacks/platform", "", body, APP_ID, SECRET)
    assert adapter.receive_callback(headers, body)["status"] == "completed"
    with pytest.raises(PlatformRejected):
        adapter.receive_callback(headers, body.replace(b"completed", b"rejected"))


def test_promised_date_skips_weekends():
    friday = dt.date(2026, 11, 20)
    assert add_working_days(friday, 1) == dt.date(2026, 11, 23)
    assert add_working_days(friday, 5) == dt.date(2026, 11, 27)
