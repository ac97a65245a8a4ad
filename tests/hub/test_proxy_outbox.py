"""我要代办 through the kiosk's action outbox: with the hub away the request is kept (sealed) with the number the
kiosk issued and the signature as a file; once the hub answers it arrives exactly once, the signature uploaded
with tus and attached, and the signed 委托书 after it names the request (SQLite + PostgreSQL hubs)."""
from __future__ import annotations

import hashlib
import uuid

from kiosk.citizen.proxy import ProxyService
from kiosk.hub.models import Upload
from kiosk.hub.serving import free_port
from kiosk.sync.action_outbox import ActionOutbox
from kiosk.sync.client import HubClient
from test_proxy_support import APPLICANT_ID, PENSION, png_bytes, proxy_hub  # noqa: F401  (fixture)

ITEM = {"item_code": PENSION, "name": "城乡居民养老保险参保登记"}
APPLICANT = {"name": "欧阳娜娜", "id_number": APPLICANT_ID, "card_type": "111"}


def _submit(service: ProxyService, box: ActionOutbox, key: str, data_dir) -> dict:
    return service.submit(box, key=key, data_dir=data_dir, item=ITEM, applicant=APPLICANT, phone="13700009050",
                          mode="full_proxy", signature=png_bytes())


def test_a_request_made_while_the_hub_is_away_arrives_once_with_its_signature(proxy_hub, tmp_path):
    data = tmp_path / "kiosk"
    box = ActionOutbox(data)
    token = proxy_hub.tokens["kiosk"]
    key = str(uuid.uuid4())
    away = ProxyService(HubClient(f"http://127.0.0.1:{free_port()}", token, timeout=1), "K0001", "TOWN1")
    slip = _submit(away, box, key, data)
    assert slip["pending"] is True and slip["request_no"].startswith("K0001-")
    assert slip["mandate"]["signed"] is True
    assert [p["kind"] for p in box.pending()] == ["proxy_request", "mandate"]
    raw = (data / "outbox" / "actions.db").read_bytes()
    assert APPLICANT_ID.encode() not in raw and b"13700009050" not in raw  # sealed at rest
    # The citizen's screen tries again (it came back after a crash): same number, nothing queued twice.
    assert _submit(away, box, key, data)["request_no"] == slip["request_no"] and len(box.pending()) == 2

    hub = HubClient(proxy_hub.url, token, timeout=10)
    assert box.drain(hub) == {"sent": 2, "failed": 0, "waiting": 0}
    assert box.drain(hub) == {"sent": 0, "failed": 0, "waiting": 0}
    assert box.result(key)["request_no"] == slip["request_no"]
    listed = proxy_hub.get("supervisor", "/api/v1/proxy-requests", params={"limit": 100}).json()["items"]
    [req] = [r for r in listed if r["request_no"] == slip["request_no"]]  # exactly once
    assert req["mode"] == "full_proxy" and req["device_id"] == "K0001"
    [material] = req["materials"]
    assert material["code"] == "mandate_signature"
    with proxy_hub.app.state.hub.sessions() as s:
        upload = s.get(Upload, material["upload_id"])
        assert upload.sha256 == hashlib.sha256(png_bytes()).hexdigest() and upload.offset == upload.length
    assert req["mandate"]["signed"] is True and req["mandate"]["status"] == "pending"
    assert not list((data / "outbox" / "files").iterdir())  # the kept signature is gone once delivered
    # Submitted again with the same key once delivered: the hub's answer, not a second request.
    again = _submit(ProxyService(hub, "K0001", "TOWN1"), box, key, data)
    assert again["request_no"] == slip["request_no"] and not again.get("pending")
    listed = proxy_hub.get("supervisor", "/api/v1/proxy-requests", params={"limit": 100}).json()["items"]
    assert sum(r["request_no"] == slip["request_no"] for r in listed) == 1


def test_online_the_citizen_gets_the_hubs_answer_at_once(proxy_hub, tmp_path):
    data = tmp_path / "kiosk"
    box = ActionOutbox(data)
    service = ProxyService(HubClient(proxy_hub.url, proxy_hub.tokens["kiosk"], timeout=10), "K0001", "TOWN1")
    got = _submit(service, box, str(uuid.uuid4()), data)
    assert not got.get("pending") and got["id"] and got["sla_due_at"] and got["mandate"]["signed"] is True
    assert box.pending() == []


def test_a_refused_request_is_said_so_again_never_shown_as_waiting(proxy_hub, tmp_path):
    import pytest

    from kiosk.sync.client import HubRejected
    from test_proxy_support import RESIDENCE

    data = tmp_path / "kiosk"
    box = ActionOutbox(data)
    service = ProxyService(HubClient(proxy_hub.url, proxy_hub.tokens["kiosk"], timeout=10), "K0001", "TOWN1")
    key = str(uuid.uuid4())
    reasons = []
    for _ in range(2):  # the screen tries again with the same key: still the refusal, not 待上传
        with pytest.raises(HubRejected) as refused:
            service.submit(box, key=key, data_dir=data, item={"item_code": RESIDENCE, "name": "户籍迁入"},
                           applicant=APPLICANT, phone="13700009050", mode="remote_guidance")
        assert refused.value.status in (409, 422)
        reasons.append(refused.value.reason)
    assert [p["state"] for p in box.pending()] == ["failed"]
    # The hub's code for why travels with the first refusal; the second is read back from the outbox (no code).
    assert reasons == ["in_person_required", None]


def test_the_citizen_is_told_a_refusal_in_plain_words_never_the_hubs_message():
    from kiosk.citizen.proxy import HUB_REFUSALS, REFUSED, refusal_words
    from kiosk.i18n import gettext
    from kiosk.sync.client import HubRejected

    def zh(message):
        return gettext(message, "zh_CN")

    technical = "the hub refused POST /api/v1/proxy-requests: HTTP 422: outlet YANTA is not entrusted with item X"
    for reason, words in HUB_REFUSALS.items():
        told = refusal_words(HubRejected(technical, "", 422, reason), zh, "12345")
        assert told == zh(words) and told != words and "YANTA" not in told  # translated, the citizen's words
    told = refusal_words(HubRejected(technical, "", 422), zh, "12345")
    assert told == zh(REFUSED).format(hotline="12345") and "12345" in told and "HTTP" not in told
