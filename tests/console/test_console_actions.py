"""Actions from the console over HTTP: reassign and escalate through the 代办 service (its rules, its events),
差评 rectification and 回访 through the evaluation routes, refusals that change nothing, the audit trail."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from console_seed import add_evaluation, add_request
from kiosk.hub.evaluations import Evaluation
from kiosk.hub.models import AuditEvent, ProxyEvent, ProxyRequest
from test_console_http import error_of, page_csrf, sign_in

pytestmark = pytest.mark.timeout(120)


def state(hub, no):
    with hub.sessions() as s:
        r = s.scalar(select(ProxyRequest).where(ProxyRequest.request_no == no))
        events = s.execute(select(ProxyEvent.actor, ProxyEvent.action, ProxyEvent.device).where(
            ProxyEvent.request_id == r.id, ProxyEvent.action != "notified").order_by(ProxyEvent.id)).all()
        return r.level, r.holder, r.status, events


def post(http, hub, path, **data):
    page = http.get(hub.url + "/console/board")
    data.setdefault("csrf", page_csrf(page.text))
    return http.post(hub.url + path, data=data, allow_redirects=False)


def test_reassign_and_escalate_go_through_the_proxy_service(console_hub):
    with console_hub.sessions() as s, s.begin():
        req = add_request(s, "T-LG", status="in_progress", level=1, holder="clerk:代办员张伟")
        no = req.request_no
    http = sign_in(console_hub, "window")
    board = http.get(console_hub.url + "/console/board").text
    assert f'action="/console/requests/{no}/reassign"' in board and "窗口孙丽" in board
    r = post(http, console_hub, f"/console/requests/{no}/reassign", person=str(console_hub.people["window2"]), reason="张伟请假")
    assert r.status_code == 303, error_of(r.text)
    level, holder, status, events = state(console_hub, no)
    assert (level, holder, status) == (1, "window:窗口孙丽", "claimed")
    assert [(a, act) for a, act, _ in events][-2:] == [("window:窗口王芳", "released"), ("window:窗口孙丽", "claimed")]
    assert all(d == "console:window:窗口王芳" for _, _, d in events[-2:])
    flash = http.get(console_hub.url + "/console/board").text
    assert "窗口孙丽" in flash and 'class="flash ok"' in flash
    r = post(http, console_hub, f"/console/requests/{no}/escalate", reason="需要科长协调", direction="up")
    assert r.status_code == 303, error_of(r.text)
    level, holder, status, events = state(console_hub, no)
    assert level == 2 and holder == "window:窗口孙丽" and events[-1][:2] == ("window:窗口王芳", "escalated")
    with console_hub.sessions() as s:
        actions = [a for a, in s.execute(select(AuditEvent.action).where(AuditEvent.actor == "window:窗口王芳",
                                                                            AuditEvent.entity == "proxy_request"))]
    assert actions == ["console_reassign", "console_escalate"]


@pytest.mark.parametrize("case", ["supervisor_escalates", "not_the_owner", "no_reason", "target_below_level",
                                  "unknown_request", "unknown_person"])
def test_refused_actions_change_nothing(console_hub, case):
    with console_hub.sessions() as s, s.begin():
        req = add_request(s, "T-LG", status="in_progress", level=0 if case == "not_the_owner" else 1,
                          holder="clerk:代办员张伟")
        no = req.request_no
    before = state(console_hub, no)
    who = "supervisor" if case == "supervisor_escalates" else "window"
    http = sign_in(console_hub, who)
    if case == "supervisor_escalates":
        r = post(http, console_hub, f"/console/requests/{no}/escalate", reason="x")
        expected, pattern = 403, "changes nothing"
    elif case == "not_the_owner":
        r = post(http, console_hub, f"/console/requests/{no}/reassign", person=str(console_hub.people["window2"]), reason="x")
        expected, pattern = 403, "level"
    elif case == "no_reason":
        r = post(http, console_hub, f"/console/requests/{no}/escalate", reason="  ")
        expected, pattern = 422, "reason"
    elif case == "target_below_level":
        r = post(http, console_hub, f"/console/requests/{no}/reassign", person=str(console_hub.people["clerk2"]), reason="x")
        expected, pattern = 403, "level"
    elif case == "unknown_request":
        r = post(http, console_hub, "/console/requests/NOPE-1/escalate", reason="x")
        expected, pattern = 404, "NOPE-1"
    else:
        r = post(http, console_hub, f"/console/requests/{no}/reassign", person="99999", reason="x")
        expected, pattern = 422, "cannot take"
    assert r.status_code == expected, error_of(r.text)
    assert re.search(pattern, error_of(r.text), re.I), error_of(r.text)
    assert state(console_hub, no) == before


def test_bad_review_list_escapes_text_and_records_rectification(console_hub):
    hub_state = console_hub.app.state.hub
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)> 态度差 13700009050"
    with console_hub.sessions() as s, s.begin():
        e = add_evaluation(hub_state, s, "T-LG", 1, evil)
        other = add_evaluation(hub_state, s, "T-JZ", 2, "等太久")
        add_evaluation(hub_state, s, "T-LG", 5)
        eid, other_id = e.id, other.id
    http = sign_in(console_hub, "window")
    page = http.get(console_hub.url + "/console/evaluations")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;" in page.text and "态度差" in page.text
    assert "13700009050" not in page.text  # the personal-data filter masks what a citizen typed
    assert "等太久" not in page.text  # another town's 差评
    r = http.post(console_hub.url + f"/console/evaluations/{eid}/rectification",
                  data={"csrf": page_csrf(page.text), "status": "rectified", "note": "已约谈窗口人员"}, allow_redirects=False)
    assert r.status_code == 303, error_of(r.text)
    r = http.post(console_hub.url + f"/console/evaluations/{eid}/revisit",
                  data={"csrf": page_csrf(page.text), "result": "satisfied", "note": "电话回访"}, allow_redirects=False)
    assert r.status_code == 303, error_of(r.text)
    with console_hub.sessions() as s:
        row = s.get(Evaluation, eid)
        assert (row.rectification_status, row.rectified_by, row.revisit_status, row.revisit_result) == \
            ("rectified", "window:窗口王芳", "done", "satisfied")
        audit = [a for a, in s.execute(select(AuditEvent.action).where(AuditEvent.entity == "evaluation",
                                                                       AuditEvent.entity_id == str(eid)))]
    assert audit == ["rectification", "console_rectification", "revisit", "console_revisit"]
    # outside the subtree, without a CSRF token, or by a supervisor: refused, nothing changes
    r = http.post(console_hub.url + f"/console/evaluations/{other_id}/rectification",
                  data={"csrf": page_csrf(page.text), "status": "rectified", "note": "x"}, allow_redirects=False)
    assert r.status_code == 403
    r = http.post(console_hub.url + f"/console/evaluations/{other_id}/revisit", data={"result": "satisfied"}, allow_redirects=False)
    assert r.status_code == 403
    sup = sign_in(console_hub, "supervisor")
    sp = sup.get(console_hub.url + "/console/evaluations?state=all")
    assert "等太久" in sp.text and 'class="rectify"' not in sp.text
    r = sup.post(console_hub.url + f"/console/evaluations/{other_id}/rectification",
                 data={"csrf": page_csrf(sp.text), "status": "rectified", "note": "x"}, allow_redirects=False)
    assert r.status_code == 403
    with console_hub.sessions() as s:
        assert s.get(Evaluation, other_id).rectification_status == "open"
    levels = list(csv.reader(io.StringIO(sup.get(console_hub.url + "/console/export/stats/evaluation_levels.csv").content.decode("utf-8-sig"))))
    assert [r[1] for r in levels[1:]] == ["1", "0", "0", "1", "1"]
    handling = list(csv.reader(io.StringIO(sup.get(console_hub.url + "/console/export/stats/evaluation_handling.csv").content.decode("utf-8-sig"))))
    assert handling[2][1:] == ["2", "66.7"] and handling[3][1:] == ["1", "50.0"]
