"""The counter's live feed follower (kiosk.counter.client.FeedFollower) against a real hub: a new request arrives
as an event, the follower notices the hub going away (so the queue polls) and reconnects by itself when the hub
is back on the same address."""
from __future__ import annotations

import threading

from hub_support import start_hub, wait_for
from kiosk.counter.client import CounterClient, FeedFollower
from kiosk.hub import proxy_api
from test_proxy_support import proxy_hub  # noqa: F401 - fixture


def test_follower_gets_new_requests_and_reconnects_after_the_hub_is_back(proxy_hub, sim, db_url, tmp_path):  # noqa: F811
    events: list[dict] = []
    states: list[bool] = []
    got = threading.Event()

    def on_event(doc):
        events.append(doc)
        got.set()

    follower = FeedFollower(lambda: CounterClient(proxy_hub.url, proxy_hub.tokens["clerk"], timeout=5),
                            on_event, states.append, backoff_s=(0.1, 0.5)).start()
    try:
        wait_for(lambda: follower.live, timeout=30)
        assert events[0]["event"] == "ready" and events[0]["data"]["outlet"] == "TOWN1"
        created = proxy_hub.created()
        wait_for(lambda: any(e["data"].get("request_id") == created["id"] for e in events), timeout=30)
        [mine] = [e for e in events if e["data"].get("request_id") == created["id"]]
        assert mine["event"] == "proxy" and mine["data"]["action"] == "created"
        assert "欧阳娜娜" not in str(events)  # no personal data in the feed

        # The hub goes away: the follower says so (the queue falls back to polling) and keeps trying. (A hub
        # waits for open event streams before a graceful stop: this one is stopped as by a second Ctrl+C.)
        port = int(proxy_hub.url.rsplit(":", 1)[1])
        proxy_hub.server.server.force_exit = True
        proxy_hub.server.stop()
        state = proxy_hub.app.state.hub
        proxy_api.stop(proxy_hub.app)
        state.relay.stop()
        state.supplements.stop()
        wait_for(lambda: states and states[-1] is False, timeout=60)
        assert follower.live is False
        server, _app = start_hub(db_url, sim.url, tmp_path, port=port)
        try:
            wait_for(lambda: follower.connections >= 2 and follower.live, timeout=60)
            assert states[-1] is True
        finally:
            server.stop()
    finally:
        follower.stop()
