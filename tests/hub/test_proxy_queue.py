"""The 代办 queue's machinery: the business calendar, SLA warnings and auto-escalation, the paused clock,
concurrent claims, the live feed, long-poll claims, LISTEN/NOTIFY across hub processes, notifications."""
from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import text

from hub_support import start_hub
from kiosk.hub.business_calendar import CST, BusinessCalendar
from kiosk.hub.models import ProxyRequest
from kiosk.hub.proxy_feed import APPLICATION_NAME
from kiosk.hub.proxy_service import aware
from test_proxy_support import BUSINESS, proxy_hub  # noqa: F401


# -- the calendar -------------------------------------------------------------------------------

def test_calendar_follows_official_holidays_and_make_up_days():
    cal = BusinessCalendar()
    at = lambda *a: dt.datetime(*a, tzinfo=CST)  # noqa: E731
    # 2026 National Day: Oct 1-7 off; the first working day after Sep 30 is Thursday Oct 8
    assert cal.due(at(2026, 9, 30, 10), 1) == at(2026, 10, 9, 0).astimezone(dt.timezone.utc)
    # Saturday Oct 10 2026 is a 调休 make-up working day
    assert cal.is_workday(dt.date(2026, 10, 10)) and not cal.is_workday(dt.date(2026, 10, 5))
    assert cal.due(at(2026, 10, 9, 15), 1) == at(2026, 10, 11, 0).astimezone(dt.timezone.utc)
    # working time: a holiday week counts nothing
    assert cal.working_seconds(at(2026, 10, 1), at(2026, 10, 8)) == 0
    assert cal.working_seconds(at(2026, 10, 8, 12), at(2026, 10, 9, 12)) == 86400
    assert cal.add_working_seconds(at(2026, 9, 30, 12), 86400) == at(2026, 10, 8, 12).astimezone(dt.timezone.utc)


def test_calendar_configuration_adds_local_days_and_unknown_years(caplog):
    cal = BusinessCalendar.from_config({"holidays": ["2026-12-15"], "workdays": ["2026-12-19"],
                                        "years": {"2030": {"holidays": ["2030-01-01"], "workdays": ["2030-01-05"]}}})
    assert not cal.is_workday(dt.date(2026, 12, 15)) and cal.is_workday(dt.date(2026, 12, 19))
    assert not cal.is_workday(dt.date(2030, 1, 1)) and cal.is_workday(dt.date(2030, 1, 5))
    assert cal.is_workday(dt.date(2030, 1, 2)) and not cal.is_workday(dt.date(2030, 1, 6))
    with caplog.at_level(logging.WARNING):
        assert BusinessCalendar().is_workday(dt.date(2031, 3, 3))  # unknown: Monday is a working day
        assert not BusinessCalendar().is_workday(dt.date(2031, 3, 1))
    assert any("2031" in r.getMessage() for r in caplog.records)


# -- SLA -----------------------------------------------------------------------------------------

def test_sla_thresholds_are_events_and_escalate(proxy_hub):
    doc = proxy_hub.created()
    svc = proxy_hub.service
    sweeper = proxy_hub.app.state.proxy_runtime.sweeper
    with proxy_hub.app.state.hub.sessions() as s:
        req = s.get(ProxyRequest, doc["id"])
        created, budget = aware(req.created_at), req.sla_budget_s
    at = lambda share: svc.calendar.add_working_seconds(created, int(budget * share))  # noqa: E731
    assert sweeper.sla(now=at(0.5)) == 0
    assert sweeper.sla(now=at(0.75)) == 1
    assert sweeper.sla(now=at(0.75)) == 0  # each threshold once
    assert sweeper.sla(now=at(0.95)) == 2  # 80 and 90; 90 escalates
    assert sweeper.sla(now=at(1.2)) == 1  # the breach escalates again
    events = proxy_hub.events("leader", doc["id"])
    marks = [(e["action"], e["detail"].get("threshold")) for e in events if e["action"].startswith("sla_")]
    assert marks == [("sla_warning", 70), ("sla_warning", 80), ("sla_warning", 90), ("sla_breached", 100)]
    ups = [e for e in events if e["action"] == "escalated"]
    assert [(e["actor"], e["detail"]["to_level"]) for e in ups] == [("hub:proxy", 1), ("hub:proxy", 2)]
    assert proxy_hub.get("chief", f"/api/v1/proxy-requests/{doc['id']}").json()["level"] == 2
    assert sweeper.sla(now=at(3)) == 0


def test_waiting_citizen_pauses_the_clock(proxy_hub):
    doc = proxy_hub.created(mode="home_visit", address="陕西省西安市周至县二曲街道东关村3组")
    proxy_hub.claim("clerk", id=doc["id"])
    proxy_hub.act("clerk", doc["id"], "start")
    waiting = proxy_hub.act("clerk", doc["id"], "wait_citizen", note="等本人回来").json()
    assert waiting["sla"]["paused"] and not waiting["overdue"]
    assert proxy_hub.app.state.proxy_runtime.sweeper.sla(now=aware(dt.datetime(2099, 1, 1))) == 0  # paused: no marks
    with proxy_hub.app.state.hub.sessions() as s, s.begin():
        req = s.get(ProxyRequest, doc["id"])
        req.sla_paused_at = aware(req.sla_paused_at) - dt.timedelta(days=10)
        due_before = aware(req.sla_due_at)
    resumed = proxy_hub.act("clerk", doc["id"], "resume").json()
    with proxy_hub.app.state.hub.sessions() as s:
        req = s.get(ProxyRequest, doc["id"])
        assert req.sla_paused_s > 0 and req.sla_paused_at is None
        assert aware(req.sla_due_at) == proxy_hub.service.calendar.add_working_seconds(due_before, req.sla_paused_s)
    assert resumed["sla_due_at"] > doc["sla_due_at"]
    home = proxy_hub.get("clerk", f"/api/v1/proxy-requests/{doc['id']}").json()
    assert home["address"].startswith("陕西省西安市周至县") and "东关村3组" not in home["address"]


def test_overdue_filter(proxy_hub):
    late = proxy_hub.created()
    proxy_hub.created()
    with proxy_hub.app.state.hub.sessions() as s, s.begin():
        s.get(ProxyRequest, late["id"]).sla_due_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    over = proxy_hub.get("clerk", "/api/v1/proxy-requests?overdue=true").json()
    assert [x["id"] for x in over["items"]] == [late["id"]] and over["items"][0]["overdue"]
    assert proxy_hub.get("clerk", "/api/v1/proxy-requests?overdue=false").json()["total"] == 1


# -- claims under concurrency -------------------------------------------------------------------

def test_concurrent_clerks_never_claim_the_same_request(proxy_hub):
    ids = {proxy_hub.created()["id"] for _ in range(30)}
    clerks = ["clerk", "clerk2", "window", "chief", "leader", "vclerk"]

    def drain(who):
        got = []
        while True:
            r = proxy_hub.claim(who)
            if r.status_code == 204:
                return got
            assert r.status_code == 200, r.text
            got.append(r.json()["id"])

    with ThreadPoolExecutor(len(clerks)) as pool:
        results = list(pool.map(drain, clerks))
    claimed = [i for got in results for i in got]
    village = [i for i in results[clerks.index("vclerk")]]
    assert village == []  # the village clerk sees none of the town's requests
    assert len(claimed) == len(set(claimed)) == len(ids) and set(claimed) == ids


# -- the live feed ------------------------------------------------------------------------------

class FeedReader:
    """Reads a server-sent-event stream on a thread; `next()` returns the next `proxy` event."""

    def __init__(self, url: str, token: str) -> None:
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.events: queue.Queue = queue.Queue()
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.conn.request("GET", "/api/v1/proxy-requests/feed",
                          headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.read()
        assert self.response.getheader("content-type").startswith("text/event-stream")
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "no ready event"

    def _read(self) -> None:
        kind, data = None, None
        try:
            while True:
                raw = self.response.readline()
                if not raw:
                    return
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                elif line == "" and kind:
                    if kind == "ready":
                        self.ready.set()
                    else:
                        self.events.put((time.monotonic(), data))
                    kind, data = None, None
        except Exception:
            pass

    def next(self, timeout: float = 10.0) -> tuple[float, dict]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        import socket

        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()
        self.thread.join(5)


def test_feed_shows_new_requests_to_the_clerks_who_may_see_them(proxy_hub):
    town1 = FeedReader(proxy_hub.url, proxy_hub.tokens["clerk"])
    town2 = FeedReader(proxy_hub.url, proxy_hub.tokens["clerk_t2"])
    kiosk = FeedReader(proxy_hub.url, proxy_hub.tokens["kiosk2"])
    try:
        doc = proxy_hub.created()
        _, ev = town1.next()
        assert ev["request_id"] == doc["id"] and ev["action"] == "created" and ev["status"] == "new"
        assert "applicant" not in ev and "_created_by" not in ev and ev["outlet"] == "TOWN1"
        other = proxy_hub.created(outlet="TOWN2", item_code=BUSINESS)
        _, ev2 = town2.next()
        assert ev2["request_id"] == other["id"]  # TOWN2's clerk never got TOWN1's event
        proxy_hub.claim("clerk", id=doc["id"])
        _, ev3 = town1.next()
        assert ev3["action"] == "claimed" and ev3["status"] == "claimed"
        with pytest.raises(queue.Empty):
            kiosk.next(timeout=0.5)  # another device's requests stay invisible
    finally:
        for f in (town1, town2, kiosk):
            f.close()


def test_long_poll_claim_wakes_when_a_request_arrives(proxy_hub):
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(proxy_hub.claim, "clerk", wait_s=20, timeout=40)
        time.sleep(0.5)
        doc = proxy_hub.created()
        r = waiting.result(timeout=30)
    assert r.status_code == 200 and r.json()["id"] == doc["id"]
    started = time.monotonic()
    assert proxy_hub.claim("clerk", wait_s=0.3).status_code == 204
    assert time.monotonic() - started < 20  # returned after its wait, not hanging


@pytest.mark.postgres
def test_listen_notify_reaches_clerks_of_another_hub_process(db_url, sim, tmp_path, proxy_hub):
    if not db_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    server2, app2 = start_hub(proxy_hub.db_url, sim.url, tmp_path)  # a second hub process on the same database
    try:
        assert app2.state.proxy_runtime.listener.ready.wait(10)
        feed = FeedReader(server2.url, proxy_hub.tokens["clerk"])
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(requests.post, f"{server2.url}/api/v1/proxy-requests/claim",
                                  json={"wait_s": 20}, headers=proxy_hub.h("clerk2"), timeout=40)
            time.sleep(0.5)
            doc = proxy_hub.created()  # created through the first hub
            _, ev = feed.next()
            assert ev["request_id"] == doc["id"] and ev["action"] == "created"
            r = waiting.result(timeout=30)
        assert r.status_code == 200 and r.json()["id"] == doc["id"]
        # the LISTEN connection dropped (a database restart, a killed backend): it comes back by itself
        engine = proxy_hub.app.state.hub.engine
        listening = (f"SELECT pid FROM pg_stat_activity WHERE application_name = '{APPLICATION_NAME}'"
                     " AND datname = current_database()")
        with engine.connect() as conn:
            before = set(conn.execute(text(listening)).scalars())
            assert len(before) >= 2, "a LISTEN connection for each hub process"
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM ({listening}) AS l"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                after = set(conn.execute(text(listening)).scalars())
            if after and not after & before:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the LISTEN connection did not come back")
        assert app2.state.proxy_runtime.listener.ready.wait(10)
        again = proxy_hub.created()
        seen = []
        while not seen or seen[-1] != (again["id"], "created"):
            _, ev = feed.next()  # queue.Empty when it never comes
            seen.append((ev["request_id"], ev["action"]))
        feed.close()
    finally:
        server2.stop()


def test_the_listener_drops_only_its_own_processs_messages():
    from kiosk.hub.proxy_feed import Feed, PgListener

    feed = Feed()
    got: list[dict] = []
    feed.publish = got.append
    listener = PgListener("", "proxy_events", feed)
    mine = feed.origin
    # as CREATE_PG's json_build_object writes a message, and as ProxyService.tx's json.dumps does
    listener._deliver(f'[{{"event_id" : 1, "request_no" : "HUB-1", "_origin" : "{mine}"}}]')
    listener._deliver(json.dumps([{"event_id": 2, "_origin": mine}, {"event_id": 3, "_origin": mine}]))
    assert got == []
    listener._deliver(f'[{{"event_id" : 4, "_origin" : "other"}}]')
    # another process's request whose number holds this one's marker is not taken for this one's
    listener._deliver(json.dumps([{"event_id": 5, "request_no": f'"_origin": "{mine}"', "_origin": "other"}]))
    listener._deliver("not json")
    assert [e["event_id"] for e in got] == [4, 5]


# -- notifications --------------------------------------------------------------------------------

def test_notifications_go_through_the_gateway_with_the_phone_masked(proxy_hub, caplog):
    gateway = proxy_hub.service.gateway
    with caplog.at_level(logging.INFO):
        doc = proxy_hub.created()
        proxy_hub.claim("clerk", id=doc["id"])
        proxy_hub.act("clerk", doc["id"], "start")
        proxy_hub.act("clerk", doc["id"], "wait_citizen", note="请带户口簿")
        proxy_hub.post("clerk", f"/api/v1/proxy-requests/{doc['id']}/escalations", {"direction": "up", "reason": "x"})
        proxy_hub.act("clerk", doc["id"], "resume")
        proxy_hub.act("clerk", doc["id"], "complete")
    sent = [(phone, template) for phone, template, params in gateway.sent if params["request_no"] == doc["request_no"]]
    assert sent == [("137****9050", t) for t in ("received", "claimed", "waiting_for_you", "escalated", "done")]
    notified = [e["detail"]["template"] for e in proxy_hub.events("clerk", doc["id"]) if e["action"] == "notified"]
    assert notified == ["received", "claimed", "waiting_for_you", "escalated", "done"]
    text = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "13700009050" not in text and "欧阳娜娜" not in text


# -- filed requests follow their case ------------------------------------------------------------

def test_filed_request_follows_its_case_on_the_platform(proxy_hub, tmp_path):
    import uuid as _uuid

    from hub_support import case_payload, upload_material, wait_for
    from kiosk.hub.models import Case, Upload
    from kiosk.sync.client import HubClient

    sweeper = proxy_hub.app.state.proxy_runtime.sweeper
    docs = []
    for n in (1, 2):
        receipt = f"K0001-20261201-000{n}"
        r = proxy_hub.post("kiosk", "/api/v1/cases", case_payload(receipt), headers={"Idempotency-Key": str(_uuid.uuid4())})
        assert r.status_code == 201, r.text
        scan = upload_material(HubClient(proxy_hub.url, proxy_hub.tokens["kiosk"]), tmp_path, b"%PDF-1.4 hukou")
        doc = proxy_hub.created(materials=[{"code": "M01", "name": "户口簿", "upload_url": scan["upload_url"]}])
        proxy_hub.claim("clerk", id=doc["id"])
        proxy_hub.act("clerk", doc["id"], "start")
        filed = proxy_hub.act("clerk", doc["id"], "file", receipt_no=receipt).json()
        assert filed["status"] == "filed"
        docs.append((doc, receipt))
    wait_for(lambda: all(proxy_hub.get("clerk", f"/api/v1/cases/{r}").json()["status"] == "submitted" for _, r in docs))
    assert sweeper.cases() == 0  # the platform has not decided yet
    with proxy_hub.app.state.hub.sessions() as s, s.begin():
        for (doc, receipt), verdict in zip(docs, ("completed", "rejected")):
            s.query(Case).filter_by(receipt_no=receipt).one().platform_status = verdict
    assert sweeper.cases() == 2
    done = proxy_hub.get("clerk", f"/api/v1/proxy-requests/{docs[0][0]['id']}").json()
    assert done["status"] == "done" and done["events"][-2]["action"] == "done"
    back = proxy_hub.get("clerk", f"/api/v1/proxy-requests/{docs[1][0]['id']}").json()
    assert back["status"] == "in_progress" and back["holder"] == "clerk:zhang" and not back["sla"]["stopped"]
    assert "case_rejected" in [e["action"] for e in back["events"]]
    assert sweeper.cases() == 0
    # the closed request's scan is deleted with it; the reopened one keeps its own
    with proxy_hub.app.state.hub.sessions() as s:
        purged = [s.get(Upload, d["materials"][0]["upload_id"]).purged for d, _ in docs]
    assert purged == [True, False]
