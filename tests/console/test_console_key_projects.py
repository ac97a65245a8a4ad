"""The console's 重点项目 page: open key projects of the viewer's subtree with their 代办专员 and age; closed ones
leave the list; no session, no page (both engines)."""
from __future__ import annotations

import datetime as dt
import uuid

import requests

from kiosk.hub.models import KeyProject
from test_console_http import sign_in

USCC = "91350100M000100Y43"


def _create(hub, who: str, name: str, **extra) -> dict:
    body = {"name": name, "outlet": "T-LG", "organisation": {"org_name": "西安某某新材料有限公司", "uscc": USCC},
            **extra}
    r = requests.post(hub.url + "/api/v1/key-projects", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {hub.tokens[who]}", "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    return r.json()


def test_open_key_projects_with_their_specialist_and_age(console_hub):
    a = _create(console_hub, "window", "年产5万吨新材料项目", specialist="clerk:代办员张伟")
    b = _create(console_hub, "window", "冷链物流园项目")
    with console_hub.sessions() as s, s.begin():  # the first one was opened 40 days ago
        s.get(KeyProject, a["id"]).created_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40, hours=1)
    r = requests.post(console_hub.url + f"/api/v1/key-projects/{b['id']}/close", json={"note": "已投产"}, timeout=10,
                      headers={"Authorization": f"Bearer {console_hub.tokens['window']}"})
    assert r.status_code == 200, r.text
    page = sign_in(console_hub).get(console_hub.url + "/console/key-projects")
    assert page.status_code == 200
    assert a["project_no"] in page.text and "clerk:代办员张伟" in page.text and '<td class="num">40</td>' in page.text
    assert b["project_no"] not in page.text  # closed (销号): no longer listed
    csv = sign_in(console_hub).get(console_hub.url + "/console/export/key_projects/key_projects.csv")
    assert csv.status_code == 200 and a["project_no"] in csv.content.decode("utf-8-sig")
    # a window clerk of another town sees none of T-LG's projects; the page in Chinese by default
    other = sign_in(console_hub, "window_jz", lang="zh_CN").get(console_hub.url + "/console/key-projects")
    assert other.status_code == 200
    assert a["project_no"] not in other.text, other.text[other.text.find("<main>"):]
    assert "重点项目" in other.text
    # without a session: the sign-in page
    anon = requests.get(console_hub.url + "/console/key-projects", allow_redirects=False, timeout=10)
    assert anon.status_code == 303 and anon.headers["location"].startswith("/console/")
