"""The console over plain HTTP: sign-in and its refusals, CSRF, sessions, statistics figures, exports, the PDF
report, masking and the audit log — on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import select

from console_seed import add_case, add_diag, add_request
from kiosk.hub.models import ApiToken, AuditEvent, ProxyRequest, utcnow

pytestmark = pytest.mark.timeout(120)


def login_csrf(http: requests.Session, url: str) -> str:
    page = http.get(url + "/console/")
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def sign_in(hub, who: str = "supervisor", lang: str = "en") -> requests.Session:
    """A signed-in session; English, so the assertions can name the messages (zh_CN is the default)."""
    http = requests.Session()
    csrf = login_csrf(http, hub.url)
    r = http.post(hub.url + "/console/login", data={"csrf": csrf, "token": hub.tokens[who], "lang": lang},
                  allow_redirects=False)
    assert r.status_code == 303, r.text
    return http


def page_csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def error_of(html: str) -> str:
    m = re.search(r'id="(?:error-message|login-error)">\s*(?:<p>)?(.*?)<', html, re.S)
    return m.group(1) if m else ""


def audit_rows(hub, **where):
    with hub.sessions() as s:
        q = select(AuditEvent)
        for k, v in where.items():
            q = q.where(getattr(AuditEvent, k) == v)
        return s.scalars(q.order_by(AuditEvent.id)).all()


def test_login_page_cookies_and_headers(console_hub):
    r = requests.get(console_hub.url + "/console/")
    assert r.status_code == 200 and 'name="token"' in r.text
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert 'href="http' not in r.text and 'src="http' not in r.text  # nothing from elsewhere (no CDN)
    css = requests.get(console_hub.url + "/console/static/console.css")
    assert css.status_code == 200 and "/console/fonts/regular.otf" in css.text
    font = requests.get(console_hub.url + "/console/fonts/regular.otf")
    assert font.status_code == 200 and font.content[:4] == b"OTTO"


def test_sign_in_sets_an_httponly_strict_session(console_hub):
    http = requests.Session()
    csrf = login_csrf(http, console_hub.url)
    r = http.post(console_hub.url + "/console/login", data={"csrf": csrf, "token": console_hub.tokens["supervisor"]},
                  allow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/board"
    cookie = r.headers["set-cookie"].lower()
    assert "gk_console=" in cookie and "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    board = http.get(console_hub.url + "/console/board")
    assert board.status_code == 200 and "督查李明" in board.text
    assert [e.action for e in audit_rows(console_hub, actor="supervisor:督查李明", entity="console")][:2] == ["login", "view"]


@pytest.mark.parametrize("case", ["wrong", "garbage", "expired", "revoked", "clerk", "kiosk", "no_csrf", "empty"])
def test_refused_sign_ins_change_nothing(console_hub, case):
    http = requests.Session()
    csrf = login_csrf(http, console_hub.url)
    token = console_hub.tokens["supervisor"]
    data = {"csrf": csrf, "token": token, "lang": "en"}
    if case == "wrong":
        data["token"] = token[:-4] + "AAAA"
    elif case == "garbage":
        data["token"] = "<script>alert(1)</script>"
    elif case in ("expired", "revoked"):
        with console_hub.sessions() as s, s.begin():
            row = s.scalar(select(ApiToken).where(ApiToken.name == "督查李明"))
            if case == "expired":
                row.expires_at = utcnow() - dt.timedelta(minutes=1)
            else:
                row.revoked = True
    elif case == "clerk":
        data["token"] = console_hub.tokens["clerk"]
    elif case == "kiosk":
        data["token"] = console_hub.tokens["kiosk"]
    elif case == "no_csrf":
        del data["csrf"]
    elif case == "empty":
        data["token"] = ""
    r = http.post(console_hub.url + "/console/login", data=data, allow_redirects=False)
    expected = {"wrong": 401, "garbage": 401, "expired": 401, "revoked": 401, "clerk": 403, "kiosk": 403,
                "no_csrf": 403, "empty": 400}[case]
    assert r.status_code == expected
    assert "gk_console=" not in r.headers.get("set-cookie", "")
    message = error_of(r.text)
    assert message, r.text
    if case == "clerk":
        assert "Proxy clerk may not sign in" in message
    if case == "garbage":
        assert "<script>alert" not in r.text
    assert http.get(console_hub.url + "/console/board", allow_redirects=False).status_code == 303
    assert not [e for e in audit_rows(console_hub, entity="console") if e.action == "login"]


def test_repeated_failures_lock_the_form_for_a_while(console_hub):
    http = requests.Session()
    csrf = login_csrf(http, console_hub.url)
    for _ in range(8):
        r = http.post(console_hub.url + "/console/login", data={"csrf": csrf, "token": "gk_x_wrong", "lang": "en"})
        assert r.status_code == 401
    r = http.post(console_hub.url + "/console/login", data={"csrf": csrf, "token": console_hub.tokens["supervisor"], "lang": "en"},
                  allow_redirects=False)
    assert r.status_code == 429 and "Too many failed sign-ins" in error_of(r.text)
    assert "gk_console=" not in r.headers.get("set-cookie", "")


def test_sign_in_with_staff_number_and_pin(console_hub):
    from kiosk.hub.console import auth as console_auth
    from kiosk.hub.models import Person

    with console_hub.sessions() as s, s.begin():
        person = s.get(Person, console_hub.people["chief"])
        person.pin_hash = console_auth._pins.hash("246810")
        clerk = s.get(Person, console_hub.people["clerk"])
        clerk.pin_hash = console_auth._pins.hash("135790")
    for person, pin, status in [(console_hub.people["chief"], "000000", 401), (console_hub.people["clerk"], "135790", 403),
                                ("x", "246810", 401), (console_hub.people["chief"], "246810", 303)]:
        http = requests.Session()
        csrf = login_csrf(http, console_hub.url)
        r = http.post(console_hub.url + "/console/login", data={"csrf": csrf, "person": str(person), "pin": pin, "lang": "en"},
                      allow_redirects=False)
        assert r.status_code == status, (person, pin, r.text[:300])
    board = http.get(console_hub.url + "/console/board")
    assert "科长赵强" in board.text


def test_pages_need_a_session_and_an_expired_one_says_so(console_hub):
    r = requests.get(console_hub.url + "/console/stats", allow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/?next=%2Fconsole%2Fstats")
    bearer = requests.get(console_hub.url + "/console/board", headers={"Authorization": f"Bearer {console_hub.tokens['clerk']}"},
                          allow_redirects=False)
    assert bearer.status_code == 303  # a bearer token is no console session
    http = sign_in(console_hub)
    store = console_hub.app.state.console_sessions
    for sess in store._sessions.values():
        sess.seen -= 3600
    r = http.get(console_hub.url + "/console/board")
    assert r.status_code == 200 and 'name="token"' in r.text and "expired" in r.url


def test_forged_form_without_csrf_changes_nothing(console_hub):
    with console_hub.sessions() as s, s.begin():
        req = add_request(s, "T-LG", status="claimed", level=1, holder="clerk:代办员张伟")
        no = req.request_no
    http = sign_in(console_hub, "window")
    before = len(audit_rows(console_hub))
    for action in ("escalate", "reassign"):
        r = http.post(console_hub.url + f"/console/requests/{no}/{action}", data={"reason": "x", "person": "1"},
                      allow_redirects=False)
        assert r.status_code == 403 and "CSRF" in error_of(r.text)
        r = http.post(console_hub.url + f"/console/requests/{no}/{action}", data={"reason": "x", "csrf": "forged"},
                      allow_redirects=False)
        assert r.status_code == 403
    r = http.post(console_hub.url + "/console/logout", data={}, allow_redirects=False)
    assert r.status_code == 403
    with console_hub.sessions() as s:
        row = s.scalar(select(ProxyRequest).where(ProxyRequest.request_no == no))
        assert (row.level, row.holder, row.status) == (1, "clerk:代办员张伟", "claimed")
    assert len(audit_rows(console_hub)) == before


def test_bad_periods_and_outlets_are_answered_clearly(console_hub):
    http = sign_in(console_hub)
    cases = {"/console/stats?from=2016-01-01&to=2025-12-31": (400, "3,653 days|3653 days"),
             "/console/stats?from=2026-11-30&to=2026-11-01": (400, "before it starts"),
             "/console/stats?from=yesterday": (400, "not a date"),
             "/console/stats?outlet=NOPE-1": (404, "NOPE-1"),
             "/console/evaluations?from=2000-01-01&to=2010-01-01": (400, "days long"),
             "/console/export/stats/timeliness.csv?from=2016-01-01&to=2025-12-31": (400, "days long"),
             "/console/report.pdf?month=2026-13": (400, "not a month"),
             "/console/export/stats/nope.csv": (404, "no such export")}
    for path, (status, pattern) in cases.items():
        r = http.get(console_hub.url + path)
        assert r.status_code == status, path
        assert re.search(pattern, error_of(r.text)), (path, error_of(r.text))
    window = sign_in(console_hub, "window_jz")  # 集贤镇 may not look at 楼观镇
    r = window.get(console_hub.url + "/console/stats?outlet=T-LG")
    assert r.status_code == 403 and "outside" in error_of(r.text)


def test_statistics_figures_come_from_the_data(console_hub):
    now = utcnow()
    with console_hub.sessions() as s, s.begin():
        # Kiosk K0001 belongs to V-LG1 (under T-LG): three finished cases, two within their promised day, one open.
        add_case(s, "K0001", created=now - dt.timedelta(hours=30), finished_after_h=2)
        add_case(s, "K0001", created=now - dt.timedelta(hours=30), finished_after_h=4)
        add_case(s, "K0001", created=now - dt.timedelta(days=20), finished_after_h=24 * 9, promised_days=5)
        add_case(s, "K0001", created=now - dt.timedelta(hours=1))
        add_case(s, "K9999", created=now - dt.timedelta(hours=1), channel="counter")  # a kiosk with no outlet
        add_request(s, "T-LG", status="done", created=now - dt.timedelta(hours=10), closed_after_h=5)
        add_request(s, "T-LG", status="done", created=now - dt.timedelta(hours=10), closed_after_h=8, due_in_h=-6)
        add_request(s, "T-JZ", status="new", mode="home_visit", channel="hotline")
    http = sign_in(console_hub)
    start = (now - dt.timedelta(days=40)).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    end = now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    q = f"from={start}&to={end}"
    rows = list(csv.reader(io.StringIO(http.get(console_hub.url + f"/console/export/stats/timeliness.csv?{q}").content.decode("utf-8-sig"))))
    assert rows[1][1:5] == ["5", "3", "2", "66.7"]
    assert rows[2][1:5] == ["3", "2", "1", "50.0"]
    # median of 2 h, 4 h, 216 h is 4 h; p90 (nearest rank on SQLite, interpolated on PostgreSQL) is far above it
    assert float(rows[1][5]) == pytest.approx(4.0, abs=0.11) and float(rows[1][6]) > 100
    assert float(rows[2][5]) == pytest.approx(6.5, abs=1.6)
    by_outlet = list(csv.reader(io.StringIO(http.get(console_hub.url + f"/console/export/stats/applications_by_outlet.csv?{q}").content.decode("utf-8-sig"))))
    assert by_outlet[1][:4] == ["V-LG1", "楼观镇周一村代办点", "Village point", "4"] or by_outlet[1][3] == "4"
    # the subtree of 集贤镇 has one request and no applications
    sub = list(csv.reader(io.StringIO(http.get(console_hub.url + f"/console/export/stats/timeliness.csv?{q}&outlet=T-JZ").content.decode("utf-8-sig"))))
    assert sub[1][1] == "0" and sub[2][1] == "1"
    modes = load_workbook(io.BytesIO(http.get(console_hub.url + f"/console/export/stats/requests_by_mode.xlsx?{q}").content)).active
    values = {r[0]: r[1] for r in modes.iter_rows(min_row=4, values_only=True)}
    assert sum(values.values()) == 3 and len(values) == 2
    page = http.get(console_hub.url + f"/console/stats?{q}")
    assert page.status_code == 200 and page.text.count('<img class="chart"') >= 5
    assert "data:image/svg+xml;base64," in page.text


def test_board_is_masked_and_every_view_audited(console_hub):
    with console_hub.sessions() as s, s.begin():
        add_request(s, "T-LG", status="claimed", level=0, holder="clerk:代办员张伟", stage=90, applicant_masked="欧***")
        add_request(s, "V-LG1", status="new", due_in_h=-2, applicant_masked="张*")
        add_request(s, "T-JZ", status="new", applicant_masked="王**")
    http = sign_in(console_hub)
    page = http.get(console_hub.url + "/console/board")
    assert page.status_code == 200
    assert "欧***" in page.text and "欧阳娜娜" not in page.text and "13700009050" not in page.text
    assert "<script" not in page.text and "http://" not in page.text.replace(console_hub.url, "")  # no script, no CDN
    views = [e for e in audit_rows(console_hub, actor="supervisor:督查李明") if e.action == "view" and e.entity_id == "board"]
    assert len(views) == 1 and len(views[0].detail["records"]) == 3
    deadline = list(csv.reader(io.StringIO(http.get(console_hub.url + "/console/export/board/open_by_deadline.csv").content.decode("utf-8-sig"))))
    assert deadline[1][1] == "1" and deadline[2][1] == "1"  # one breached, one past 90 %
    window = sign_in(console_hub, "window")  # 楼观镇: its own subtree only
    text = window.get(console_hub.url + "/console/board").text
    assert "欧***" in text and "张*" in text and "王**" not in text
    exports = [e for e in audit_rows(console_hub, actor="supervisor:督查李明") if e.action == "export"]
    assert exports and exports[-1].detail["table"] == "open_by_deadline"


def test_device_health_and_monthly_pdf(console_hub):
    with console_hub.sessions() as s, s.begin():
        add_diag(s, "K0001", "ok", at=utcnow() - dt.timedelta(days=3))
        add_diag(s, "K0001", "error", ["printer"])
        add_case(s, "K0001", finished_after_h=3)
    http = sign_in(console_hub)
    page = http.get(console_hub.url + "/console/devices")
    assert page.status_code == 200 and "printer" in page.text
    rows = list(csv.reader(io.StringIO(http.get(console_hub.url + "/console/export/devices/device_health.csv").content.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][0] == "K0001" and rows[1][3] == "printer"
    pdf = http.get(console_hub.url + "/console/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert b"NotoSansCJKSC" in pdf.content and b"/FontFile3" in pdf.content  # the Chinese face is embedded
    assert "attachment" in pdf.headers["content-disposition"]
    future = http.get(console_hub.url + "/console/report.pdf?month=2099-01")
    assert future.status_code == 400


def test_csv_and_xlsx_neutralise_formulas(console_hub):
    with console_hub.sessions() as s, s.begin():
        add_request(s, "T-LG", status="new", applicant_masked="=HYPERLINK(\"x\")")
    http = sign_in(console_hub)
    body = http.get(console_hub.url + "/console/export/board/open_requests.csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in body
    ws = load_workbook(io.BytesIO(http.get(console_hub.url + "/console/export/board/open_requests.xlsx").content)).active
    cells = [c for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str) and "HYPERLINK" in c]
    assert cells == ["'=HYPERLINK(\"x\")"]
