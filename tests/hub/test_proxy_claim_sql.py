"""The claim and the create as one statement (PostgreSQL) and their SQLite counterparts: concurrent claimers never
share a request, green first then oldest, the lease, the `claimed` then `notified` events, the feed message and
(PostgreSQL) the NOTIFY payload; a new request's number, events, replays and conflicts; the long-poll claim wakes
one waiter per new request (kiosk.hub.proxy_feed.Feed.wake_one)."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from sqlalchemy import select, text

from kiosk.hub.auth import Caller
from kiosk.hub.models import ProxyEvent, ProxyRequest
from kiosk.hub.proxy_feed import Feed
from kiosk.hub.proxy_schemas import ClaimIn
from test_proxy_support import BUSINESS, proxy_hub  # noqa: F401  (fixture)


def clerk(i: int, outlet: str = "TOWN1") -> Caller:
    return Caller(token_id=9000 + i, role="clerk", name=f"bench{i}", outlet_code=outlet)


def copies(hub, source: int, n: int, **columns: str) -> None:
    """`n` copies of request `source` in one statement, each column as it is unless given as SQL in `columns`."""
    cols = [c.name for c in ProxyRequest.__table__.columns if c.name != "id"]
    made = {"request_no": "request_no || '-' || g.n", "idem_key": "idem_key || '-' || g.n", **columns}
    with hub.engine.begin() as conn:
        conn.execute(text(f"WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {n}) "
                          f"INSERT INTO proxy_requests ({', '.join(cols)}) "
                          f"SELECT {', '.join(made.get(c, c) for c in cols)} FROM proxy_requests, g WHERE id = :src"),
                     {"src": source})


def events_of(hub, rid: int) -> list[ProxyEvent]:
    with hub.app.state.hub.sessions() as s:
        return list(s.scalars(select(ProxyEvent).where(ProxyEvent.request_id == rid).order_by(ProxyEvent.id)))


def test_concurrent_claimers_each_get_a_different_request(proxy_hub):
    svc = proxy_hub.service
    ids = {proxy_hub.created(outlet="TOWN1" if n % 3 else "VIL1")["id"] for n in range(36)}
    start = threading.Barrier(9)

    def drain(i: int) -> list[int]:
        got = []
        start.wait()
        while (doc := svc.claim(clerk(i), ClaimIn(), None)) is not None:
            assert doc["status"] == "claimed" and doc["holder"] == f"clerk:bench{i}"
            got.append(doc["id"])
        return got

    with ThreadPoolExecutor(9) as pool:
        results = list(pool.map(drain, range(9)))
    claimed = [rid for got in results for rid in got]
    assert len(claimed) == len(set(claimed)) == len(ids) and set(claimed) == ids
    holder = {rid: f"clerk:bench{i}" for i, got in enumerate(results) for rid in got}
    with proxy_hub.app.state.hub.sessions() as s:
        rows = list(s.scalars(select(ProxyRequest).where(ProxyRequest.id.in_(ids))))
        claimed_events = list(s.scalars(select(ProxyEvent).where(ProxyEvent.action == "claimed")))
    assert all(r.status == "claimed" and r.claims == 1 and r.holder == holder[r.id] for r in rows)
    assert sorted(e.request_id for e in claimed_events) == sorted(ids)  # one claimed event each, no more
    assert all(e.actor == holder[e.request_id] for e in claimed_events)


def test_claim_order_lease_events_feed_and_gateway(proxy_hub, monkeypatch):
    svc = proxy_hub.service
    published: list[dict] = []
    real_publish = svc.feed.publish
    monkeypatch.setattr(svc.feed, "publish", lambda e: (published.append(e), real_publish(e)))
    a = proxy_hub.created()
    b = proxy_hub.created(mode="home_visit", address="西安市周至县二曲街道1号")
    green = proxy_hub.created(priority="green", green_reason="elderly")
    before = dt.datetime.now(dt.timezone.utc)
    first = svc.claim(clerk(1), ClaimIn(lease_s=600), "DEV-7")
    assert first["id"] == green["id"] and first["priority"] == "green"  # 绿色通道 first
    lease = dt.datetime.fromisoformat(first["lease_until"])
    assert before + dt.timedelta(seconds=590) < lease < before + dt.timedelta(seconds=700)
    assert "欧阳娜娜" not in json.dumps(first, ensure_ascii=False)  # personal fields masked in the answer
    assert first["contact_phone"] == "137****9050" and first["claims"] == 1
    only_visits = svc.claim(clerk(2), ClaimIn(mode="home_visit"), None)
    assert only_visits["id"] == b["id"] and only_visits["mode"] == "home_visit"  # the filter skips older a
    assert svc.claim(clerk(3), ClaimIn(kind="complaint"), None) is None
    assert svc.claim(clerk(3), ClaimIn(), None)["id"] == a["id"]  # then the oldest
    assert svc.claim(clerk(4), ClaimIn(), None) is None

    evs = events_of(proxy_hub, green["id"])
    assert [e.action for e in evs][-2:] == ["claimed", "notified"]
    claimed, notified = evs[-2:]
    assert claimed.actor == "clerk:bench1" and claimed.device == "DEV-7"
    assert (claimed.from_status, claimed.to_status, claimed.level) == ("new", "claimed", 0)
    assert claimed.detail == {"lease_until": first["lease_until"]}
    assert notified.actor == "hub:proxy" and notified.from_status is None
    assert notified.detail["template"] == "claimed" and notified.detail["phone"] == "137****9050"
    msgs = [m for m in published if m["action"] == "claimed" and m["request_id"] == green["id"]]
    assert len(msgs) == 1 and msgs[0]["event_id"] == claimed.id and msgs[0]["_holder"] == "clerk:bench1"
    assert msgs[0]["status"] == "claimed" and msgs[0]["outlet"] == "TOWN1"
    sent = [t for _, t, p in svc.gateway.sent if p["request_no"] == green["request_no"]]
    assert sent == ["received", "claimed"]


def test_outside_the_subtree_nothing_is_claimed(proxy_hub):
    svc = proxy_hub.service
    doc = proxy_hub.created(outlet="TOWN2", item_code=BUSINESS)
    assert svc.claim(clerk(1, "VIL1"), ClaimIn(), None) is None  # the village sees nothing of TOWN2 or TOWN1
    assert svc.claim(clerk(1, "TOWN1"), ClaimIn(), None) is None
    assert svc.claim(clerk(2, "COUNTY"), ClaimIn(), None)["id"] == doc["id"]


def test_lapsed_lease_is_taken_when_the_pool_is_empty(proxy_hub):
    svc = proxy_hub.service
    doc = proxy_hub.created()
    assert svc.claim(clerk(1), ClaimIn(), None)["id"] == doc["id"]
    with proxy_hub.app.state.hub.sessions() as s, s.begin():
        s.get(ProxyRequest, doc["id"]).lease_until = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    again = svc.claim(clerk(2), ClaimIn(), None)
    assert again["id"] == doc["id"] and again["holder"] == "clerk:bench2" and again["claims"] == 2
    actions = [e.action for e in events_of(proxy_hub, doc["id"])]
    assert actions[-3:] == ["lease_expired", "claimed", "notified"]


def test_claim_notifies_other_hub_processes(proxy_hub):
    if not proxy_hub.db_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    import psycopg

    svc = proxy_hub.service
    doc = proxy_hub.created()
    url = svc.hub.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'LISTEN "{svc.channel}"')
        got = svc.claim(clerk(1), ClaimIn(), None)
        payloads = [json.loads(n.payload) for n in conn.notifies(timeout=5, stop_after=1)]
    assert got["id"] == doc["id"] and len(payloads) == 1
    (msg,) = payloads[0]
    claimed = [e for e in events_of(proxy_hub, doc["id"]) if e.action == "claimed"][0]
    assert msg["action"] == "claimed" and msg["request_id"] == doc["id"] and msg["event_id"] == claimed.id
    assert msg["_origin"] == svc.feed.origin and msg["_holder"] == "clerk:bench1" and msg["level"] == 0
    assert msg["request_no"] == doc["request_no"] and msg["status"] == "claimed"


def test_one_waiter_is_woken_per_new_request():
    async def scenario():
        feed = Feed()
        town1 = lambda e: e.get("outlet") == "TOWN1"  # noqa: E731
        _, f1 = feed.wait_one(town1)
        w2, f2 = feed.wait_one(town1)
        _, f3 = feed.wait_one(lambda e: e.get("outlet") == "TOWN2")
        feed.publish({"action": "claimed", "outlet": "TOWN1"})  # takes a request out of the pool: wakes nobody
        feed.publish({"action": "created", "outlet": "TOWN1", "request_id": 1})
        await asyncio.sleep(0.05)
        assert f1.done() and f1.result()["request_id"] == 1 and not f2.done() and not f3.done()
        f2.cancel()  # the second waiter left before its wake arrived: the event goes on to the next
        _, f4 = feed.wait_one(town1)
        feed.wake_one({"action": "created", "outlet": "TOWN1", "request_id": 2})
        await asyncio.sleep(0.05)
        assert f4.done() and f4.result()["request_id"] == 2 and not f3.done()
        feed.cancel_wait(w2)
        _, f5 = feed.wait_one(town1)
        feed.publish({"action": "released", "outlet": "TOWN1", "request_id": 3})
        await asyncio.sleep(0.05)
        assert f5.result()["request_id"] == 3 and not f3.done()
        feed.publish({"action": "lease_expired", "outlet": "TOWN2", "request_id": 4})
        await asyncio.sleep(0.05)
        assert f3.result()["request_id"] == 4 and feed.waiters == 0
        assert not feed.wake_one({"action": "created", "outlet": "TOWN1"})  # nobody waits

    asyncio.run(scenario())


def test_create_statement_number_events_replays_and_conflicts(proxy_hub):
    import re
    import uuid

    svc = proxy_hub.service
    key = str(uuid.uuid4())
    r = proxy_hub.create(key=key, priority="green", green_reason="pregnant")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert re.fullmatch(r"HUB-\d{8}-\d{6,}", doc["request_no"]) and doc["request_no"].endswith(f"{doc['id']:06d}")
    assert doc["status"] == "new" and doc["priority"] == "green" and doc["contact_phone"] == "137****9050"
    created, notified = events_of(proxy_hub, doc["id"])[:2]
    assert (created.action, created.actor, created.from_status, created.to_status) == (
        "created", "kiosk:K0001", None, "new")
    assert created.detail == {"channel": "kiosk", "kind": "proxy", "mode": "remote_guidance", "priority": "green"}
    assert notified.action == "notified" and notified.detail["template"] == "received"
    assert notified.detail["phone"] == "137****9050" and notified.id > created.id
    with proxy_hub.app.state.hub.sessions() as s:
        row = s.get(ProxyRequest, doc["id"])
        assert row.priority_rank == 0 and row.claims == 0 and row.level == 0 and row.materials == []
        assert svc.cipher.decrypt_text(row.phone_enc, "proxy_requests.phone_enc") == "13700009050"
    again = proxy_hub.create(key=key, priority="green", green_reason="pregnant")
    assert again.status_code == 200 and again.json()["id"] == doc["id"]  # the replay
    assert proxy_hub.create(key=key).status_code == 422  # the same key with another body
    issued = proxy_hub.create(request_no="K0001-20261201-0042", device_id="K0001")
    assert issued.status_code == 201 and issued.json()["request_no"] == "K0001-20261201-0042"
    taken = proxy_hub.create(request_no="K0001-20261201-0042", device_id="K0001")
    assert taken.status_code == 409 and "already used" in taken.json()["detail"]
    with proxy_hub.app.state.hub.sessions() as s:
        assert len(list(s.scalars(select(ProxyRequest.id)))) == 2  # nothing half-written
    sent = [t for _, t, p in svc.gateway.sent if p["request_no"] == doc["request_no"]]
    assert sent == ["received"]  # once, not again for the replay


def test_start_and_complete_by_the_holder_events_feed_and_fallbacks(proxy_hub, monkeypatch):
    """The holder's start and complete (one statement on PostgreSQL) leave the same record as the general path;
    what the one statement does not decide (a lapsed lease, a paused clock, someone else) still answers 403/409."""
    from kiosk.hub.proxy_schemas import TransitionIn
    from kiosk.hub.proxy_service import Conflict, Forbidden

    svc = proxy_hub.service
    published: list[dict] = []
    real_publish = svc.feed.publish
    monkeypatch.setattr(svc.feed, "publish", lambda e: (published.append(e), real_publish(e)))
    one_statement: list[str] = []
    real_fast = svc._transition_pg
    monkeypatch.setattr(svc, "_transition_pg", lambda c, rid, body, dev: (
        lambda doc: (one_statement.append(body.action) if doc else None, doc)[1])(real_fast(c, rid, body, dev)))
    doc = proxy_hub.created()
    assert svc.claim(clerk(1), ClaimIn(), "DEV-1")["id"] == doc["id"]
    with pytest.raises(Forbidden):
        svc.transition(clerk(2), doc["id"], TransitionIn(action="start"), None)  # not the holder
    with pytest.raises(Conflict) as no:
        svc.transition(clerk(1), doc["id"], TransitionIn(action="complete"), None)  # not started yet
    assert no.value.extra["status"] == "claimed"
    started = svc.transition(clerk(1), doc["id"], TransitionIn(action="start", note="已电话联系"), "DEV-1")
    assert started["status"] == "in_progress" and started["holder"] == "clerk:bench1"
    assert started["applicant"]["name"] != "欧阳娜娜" and started["contact_phone"] == "137****9050"
    with pytest.raises(Conflict):
        svc.transition(clerk(1), doc["id"], TransitionIn(action="start"), None)  # twice: 409, not a second event
    done = svc.transition(clerk(1), doc["id"], TransitionIn(action="complete"), "DEV-1")
    assert done["status"] == "done" and done["closed_at"] and done["lease_until"] is None and done["sla"]["stopped"]
    evs = events_of(proxy_hub, doc["id"])
    assert [e.action for e in evs][-5:] == ["claimed", "notified", "started", "done", "notified"]
    started_ev, done_ev, notified = evs[-3:]
    assert (started_ev.actor, started_ev.device, started_ev.note) == ("clerk:bench1", "DEV-1", "已电话联系")
    assert (started_ev.from_status, started_ev.to_status) == ("claimed", "in_progress")
    assert (done_ev.from_status, done_ev.to_status) == ("in_progress", "done")
    assert notified.detail["template"] == "done" and notified.detail["phone"] == "137****9050"
    msgs = [(m["action"], m["status"], m["event_id"]) for m in published if m["request_id"] == doc["id"]]
    assert msgs[-2:] == [("started", "in_progress", started_ev.id), ("done", "done", done_ev.id)]
    sent = [t for _, t, p in svc.gateway.sent if p["request_no"] == doc["request_no"]]
    assert sent == ["received", "claimed", "done"]
    assert one_statement == (["start", "complete"] if svc.is_pg else [])  # the one statement answered both

    # A lapsed lease: 403 with what to do, nothing changed.
    other = proxy_hub.created()
    svc.claim(clerk(1), ClaimIn(), None)
    with proxy_hub.app.state.hub.sessions() as s, s.begin():
        s.get(ProxyRequest, other["id"]).lease_until = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    with pytest.raises(Forbidden) as lapsed:
        svc.transition(clerk(1), other["id"], TransitionIn(action="start"), None)
    assert "claim it again" in lapsed.value.detail
    # A paused clock takes the general path: resume, then complete.
    third = proxy_hub.created()
    svc.claim(clerk(3), ClaimIn(), None)
    svc.transition(clerk(3), third["id"], TransitionIn(action="start"), None)
    svc.transition(clerk(3), third["id"], TransitionIn(action="wait_citizen", note="等材料"), None)
    with pytest.raises(Conflict):
        svc.transition(clerk(3), third["id"], TransitionIn(action="complete"), None)
    svc.transition(clerk(3), third["id"], TransitionIn(action="resume"), None)
    assert svc.transition(clerk(3), third["id"], TransitionIn(action="complete"), None)["status"] == "done"


def test_a_claim_that_starts_leaves_the_record_of_a_claim_then_a_start(proxy_hub, monkeypatch):
    """`start` on a claim: the request is answered in_progress with its events `claimed`, `notified`, `started` in
    that order, on the feed as a claim then a start (and, on PostgreSQL, in one NOTIFY); a 全程代办 is answered
    claimed, its 委托书 still to be checked by its own start. Over HTTP (the event loop's statement on PostgreSQL),
    in the service (a thread's), and by id."""
    svc = proxy_hub.service
    published: list[dict] = []
    real_publish = svc.feed.publish
    monkeypatch.setattr(svc.feed, "publish", lambda e: (published.append(e), real_publish(e)))
    full = proxy_hub.created(mode="full_proxy")  # the oldest: taken first
    plain = proxy_hub.created()
    by_id = proxy_hub.created()
    listener = None
    if svc.is_pg:
        import psycopg

        url = svc.hub.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        listener = psycopg.connect(url, autocommit=True)
        listener.execute(f'LISTEN "{svc.channel}"')
    try:
        r = proxy_hub.claim("clerk", start=True)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == full["id"] and r.json()["status"] == "claimed"  # the 委托书 comes first
        r = proxy_hub.post("clerk", "/api/v1/proxy-requests/claim", {"start": True},
                           headers={"X-Device-Id": "CTR-01"})
        assert r.status_code == 200, r.text
        doc = r.json()
        payloads = ([json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=2)]
                    if listener is not None else [])
    finally:
        if listener is not None:
            listener.close()
    assert doc["id"] == plain["id"] and doc["status"] == "in_progress" and doc["holder"] == "clerk:zhang"
    assert doc["lease_until"] and doc["claims"] == 1 and doc["contact_phone"] == "137****9050"
    evs = events_of(proxy_hub, plain["id"])
    assert [e.action for e in evs][-3:] == ["claimed", "notified", "started"]
    claimed, _, started = evs[-3:]
    assert (claimed.from_status, claimed.to_status) == ("new", "claimed")
    assert (started.from_status, started.to_status, started.actor, started.device) == (
        "claimed", "in_progress", "clerk:zhang", "CTR-01")
    full_actions = [e.action for e in events_of(proxy_hub, full["id"])]
    assert full_actions[-2:] == ["claimed", "notified"] and "started" not in full_actions
    msgs = [(m["action"], m["status"], m["event_id"]) for m in published if m["request_id"] == plain["id"]]
    assert msgs[-2:] == [("claimed", "claimed", claimed.id), ("started", "in_progress", started.id)]
    if svc.is_pg:  # the claim of `plain` is the second NOTIFY: both of its messages in one payload
        assert [(m["action"], m["status"], m["event_id"]) for m in payloads[1]] == msgs[-2:]
    # the holder completes it at once; the start was not left to do
    done = proxy_hub.act("clerk", plain["id"], "complete")
    assert done.status_code == 200 and done.json()["status"] == "done"

    # the service on a thread (SQLite's path, PostgreSQL's threaded statement), and a claim by id
    threaded = svc.claim(clerk(5), ClaimIn(start=True), "DEV-5")
    assert threaded["id"] == by_id["id"] and threaded["status"] == "in_progress"
    again = proxy_hub.created()
    one = svc.claim(clerk(6), ClaimIn(id=again["id"], start=True), None)
    assert one["status"] == "in_progress" and one["holder"] == "clerk:bench6"
    assert [e.action for e in events_of(proxy_hub, again["id"])][-3:] == ["claimed", "notified", "started"]
    plain_claim = proxy_hub.created()
    assert svc.claim(clerk(7), ClaimIn(), None)["status"] == "claimed"  # without `start`, as before
    assert "started" not in [e.action for e in events_of(proxy_hub, plain_claim["id"])]


def test_a_new_outlet_joins_the_subtrees_above_it_when_the_tree_reloads(proxy_hub):
    """Subtrees are worked out once per load of the outlet tree: an outlet registered later is inside its county's
    and town's subtrees (and their clerks' claims) after the next reload, not only in a fresh process."""
    from kiosk.hub.outlets import add_outlet

    tree = proxy_hub.app.state.proxy.tree
    assert "VIL9" not in tree.subtree("COUNTY") and tree.subtree("TOWN1") == tree.subtree("TOWN1")
    with proxy_hub.app.state.hub.sessions() as s, s.begin():
        add_outlet(s, "VIL9", "西关村代办点", "village", parent="TOWN1")
    tree.invalidate()  # as after its 5 s
    assert "VIL9" in tree.subtree("COUNTY") and set(tree.subtree("TOWN1")) == {"TOWN1", "VIL1", "VIL9"}
    doc = proxy_hub.created(outlet="VIL9")
    claimed = proxy_hub.claim("clerk")  # a clerk of TOWN1
    assert claimed.status_code == 200 and claimed.json()["id"] == doc["id"]


def test_the_claim_walks_the_pool_index_in_order_with_or_without_statistics(proxy_hub):
    """The pick reads the pool index in claim order and stops at its first free row: no sort of the pool and no
    read of the outlets' past requests. On PostgreSQL before the table had statistics (a new installation, every
    benchmark run) the pick read the outlet or status index and sorted all it found: 1-7 ms a claim with 3,000
    waiting instead of 0.2-0.4 (docs/performance.md)."""
    svc, hub = proxy_hub.service, proxy_hub.app.state.hub
    green = {"priority": "green", "green_reason": "elderly"}
    ids = [proxy_hub.created(outlet="TOWN1" if n % 2 else "VIL1", **(green if n % 5 == 0 else {}))["id"]
           for n in range(12)]
    codes = svc.subtree(clerk(1))
    copies(hub, ids[-1], 3000)  # 3,000 more waiting, after those in claim order
    with hub.engine.connect() as conn:
        if svc.is_pg:
            sql, params, _ = svc._claim_statement(clerk(1), ClaimIn(), codes, 600, None)
            plans = {}
            for when in ("no statistics", "analysed"):
                if when == "analysed":
                    conn.exec_driver_sql("ANALYZE proxy_requests")
                plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + sql), params))
                pick = plan[plan.index("CTE pick"):plan.index("CTE taken")]
                plans[when] = pick
            # never the indexes of every request an outlet or a status ever had, statistics or not
            assert not any(ix in pick for pick in plans.values()
                           for ix in ("ix_proxy_requests_outlet_code", "ix_proxy_requests_status")), plans
            analysed = plans["analysed"]
            assert "Index Scan using ix_proxy_requests_pool_rank" in analysed and "Sort" not in analysed, analysed
        else:
            for body in (ClaimIn(), ClaimIn(mode="full_proxy")):
                q = svc.pool_pick(body, codes).compile(hub.engine, compile_kwargs={"literal_binds": True})
                steps = [r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {q}")]
                assert steps == ["SCAN proxy_requests USING INDEX ix_proxy_requests_pool_rank"], steps
    # and the walk's order is the claim order: green first, then oldest
    taken = [svc.claim(clerk(1), ClaimIn(), None)["id"] for _ in range(5)]
    assert taken == [ids[0], ids[5], ids[10], ids[1], ids[2]]


def test_lapsed_leases_are_found_from_the_held_requests_index(proxy_hub):
    """A claim that finds the pool empty asks whether a lease lapsed, and the sweeper returns such requests: both
    read the index of held requests (migration 0015), not every request the outlets ever had — on PostgreSQL
    before the table had statistics the question read the outlet's and status's indexes and every row they named
    (0.6 ms with 5,000 requests in one outlet, asked by most claims while clerks wait; docs/performance.md)."""
    svc, hub = proxy_hub.service, proxy_hub.app.state.hub
    held = [proxy_hub.created()["id"] for _ in range(3)]
    for i in range(3):
        svc.claim(clerk(i), ClaimIn(), None)
    codes = svc.subtree(clerk(1))
    copies(hub, held[0], 3000, status="'done'", holder="NULL", lease_until="NULL")  # closed, in the same outlet
    with hub.engine.connect() as conn:
        if svc.is_pg:
            sql, params, _ = svc._claim_statement(clerk(1), ClaimIn(), codes, 600, None)
            for when in ("no statistics", "analysed"):
                if when == "analysed":
                    conn.exec_driver_sql("ANALYZE proxy_requests")
                plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + sql), params))
                lapsed = plan[plan.index("CTE logged"):]  # the pick's and the take's parts come before it
                assert "ix_proxy_requests_held_lease" in lapsed, (when, plan)
                assert not any(ix in lapsed for ix in ("ix_proxy_requests_outlet_code", "ix_proxy_requests_status",
                                                       "Seq Scan on proxy_requests")), (when, plan)
        # the sweeper's (and SQLite's claim's) query
        q = svc.lapsed_pick(codes, dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc), 200)
        explain = "EXPLAIN " if svc.is_pg else "EXPLAIN QUERY PLAN "
        plan = [r[-1] for r in conn.execute(text(explain + str(q.compile(hub.engine,
                                                                         compile_kwargs={"literal_binds": True}))))]
        if svc.is_pg:
            assert "ix_proxy_requests_held_lease" in "\n".join(plan) and not any(
                ix in "\n".join(plan) for ix in ("ix_proxy_requests_outlet_code", "ix_proxy_requests_status")), plan
        else:
            assert plan == ["SEARCH proxy_requests USING INDEX ix_proxy_requests_held_lease (<expr><?)"], plan
    # the index finds what it should: a lapsed lease among the held, none of the closed
    with hub.sessions() as s, s.begin():
        s.get(ProxyRequest, held[1]).lease_until = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    assert svc.expire_leases(codes) == 1
    with hub.sessions() as s:
        assert s.get(ProxyRequest, held[1]).status == "released"
        assert {s.get(ProxyRequest, i).status for i in (held[0], held[2])} == {"claimed"}


def test_the_hot_statements_walk_the_pool_index_on_a_table_never_analysed(proxy_hub):
    """On the connections of the event loop's statements (kiosk.hub.pg_statements.AsyncPgStatements) the claim's
    plan walks the pool index even when PostgreSQL made it before the table had statistics. psycopg prepares a
    statement after a few uses, and the plan PostgreSQL keeps for it, made on a new installation's (or a
    benchmark's) still unanalysed queue, read the whole table and sorted it at every claim: the database's CPU per
    request was 1.7-3.9 ms from run to run instead of 1.6 (docs/performance.md)."""
    svc = proxy_hub.service
    if not svc.is_pg:
        pytest.skip("the statements on the event loop are PostgreSQL's")
    from psycopg import sql as psql

    from kiosk.hub.pg_statements import AsyncPgStatements

    proxy_hub.created(outlet="TOWN1")
    sql, params, _ = svc._claim_statement(clerk(1), ClaimIn(), svc.subtree(clerk(1)), 600, None)
    query, names = svc._pg._query(sql)
    values = psql.SQL(", ").join(psql.Literal(params[n]) for n in names)

    async def plan() -> str:
        statements = AsyncPgStatements(svc._pg, size=1)  # one connection: the one the hub's calls would get
        try:
            # the plan kept for a prepared statement, made now, before any statistics
            await statements.one("SET plan_cache_mode = force_generic_plan", {})
            await statements.one("PREPARE claim_probe AS " + query.decode(), {})
            explain = psql.SQL("EXPLAIN (FORMAT JSON) EXECUTE claim_probe({})").format(values)
            async with await psycopg.AsyncConnection.connect(statements._conninfo) as conn:
                explain = explain.as_string(conn)
            return json.dumps((await statements.one(explain, {}))["QUERY PLAN"])
        finally:
            await statements.close()

    walked = asyncio.run(plan())
    assert "ix_proxy_requests_pool_rank" in walked and '"Seq Scan"' not in walked, walked
