"""`kiosk hub outlet add`, `kiosk hub token create --outlet/--person` and `kiosk proxy …` as real processes."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from test_proxy_support import CLERK_ID, proxy_hub  # noqa: F401

KIOSK = [sys.executable, "-c", "from kiosk.cli import main; main()"]


def _run(args, tmp_path, timeout=60, **env_extra) -> subprocess.CompletedProcess:
    env = dict(os.environ, KIOSK_DATA_DIR=str(tmp_path / "data"))
    env.pop("KIOSK_CONFIG", None)
    env.pop("KIOSK_PROXY_TOKEN", None)
    env.update(env_extra)
    return subprocess.run(KIOSK + args, capture_output=True, text=True, env=env, timeout=timeout)


def test_outlet_add_and_bound_tokens(tmp_path):
    db = f"sqlite:///{tmp_path}/hub.db"
    out = _run(["hub", "outlet", "add", "C1", "--name", "周至县政务服务中心", "--level", "county", "--db", db,
                "--json"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) | {} == {"code": "C1", "name": "周至县政务服务中心", "level": "county", "parent": None,
                                          "items": [], "hours": "", "address": "", "phone": "", "active": True,
                                          "created": True}
    out = _run(["hub", "outlet", "add", "T1", "--name", "城关镇", "--level", "town", "--parent", "C1",
                "--items", "A1,B2", "--db", db], tmp_path)
    assert out.returncode == 0 and "registered outlet T1" in out.stdout
    bad = _run(["hub", "outlet", "add", "X", "--name", "x", "--level", "town", "--parent", "NOPE", "--db", db], tmp_path)
    assert bad.returncode == 5 and bad.stdout == "" and "not registered" in bad.stderr
    cycle = _run(["hub", "outlet", "add", "C1", "--name", "c", "--level", "county", "--parent", "T1", "--db", db],
                 tmp_path)
    assert cycle.returncode == 5 and "cycle" in cycle.stderr
    assert _run(["hub", "outlet", "add", "X", "--name", "x", "--level", "city", "--db", db], tmp_path).returncode == 2
    listed = json.loads(_run(["hub", "outlet", "list", "--json", "--db", db], tmp_path).stdout)
    assert [o["code"] for o in listed] == ["C1", "T1"] and listed[1]["items"] == ["A1", "B2"]

    tok = _run(["hub", "token", "create", "--role", "window", "--name", "w1", "--outlet", "T1", "--person", "李四",
                "--person-id-number", CLERK_ID, "--json", "--db", db], tmp_path)
    assert tok.returncode == 0, tok.stderr
    doc = json.loads(tok.stdout)
    assert doc["outlet"] == "T1" and doc["person_id"] == 1 and doc["token"].startswith("gk_")
    con = sqlite3.connect(f"{tmp_path}/hub.db")
    (id_hash,) = con.execute("SELECT id_number_hash FROM people").fetchone()
    assert len(id_hash) == 64 and CLERK_ID not in id_hash
    assert con.execute("SELECT outlet_code, person_id FROM api_tokens").fetchone() == ("T1", 1)
    assert (tmp_path / "hub.key").stat().st_mode & 0o777 == 0o600  # the hub key, beside the database
    need = _run(["hub", "token", "create", "--role", "chief", "--name", "c", "--db", db], tmp_path)
    assert need.returncode == 5 and "--outlet" in need.stderr and need.stdout == ""
    unknown = _run(["hub", "token", "create", "--role", "runner", "--name", "r", "--outlet", "ZZ", "--db", db], tmp_path)
    assert unknown.returncode == 5 and "not registered" in unknown.stderr


@pytest.mark.slow
def test_proxy_commands_against_a_running_hub(proxy_hub, tmp_path):
    created = proxy_hub.created(priority="green", green_reason="elderly")
    base = ["proxy", "--hub", proxy_hub.url]

    def run(*args, who="clerk", lang=None):
        return _run(base + (["--lang", lang] if lang else []) + list(args), tmp_path,
                    KIOSK_PROXY_TOKEN=proxy_hub.tokens[who])

    out = run("list", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["total"] == 1 and doc["items"][0]["applicant"]["name"] == "欧***"
    assert "欧阳娜娜" not in out.stdout and "13700009050" not in out.stdout
    text = run("list", "--status", "new")  # lines for a person: in Chinese unless --lang en
    assert text.returncode == 0 and created["request_no"] in text.stdout and "137" not in text.stdout
    assert "新建" in text.stdout and "代办员" in text.stdout and "绿色通道" in text.stdout and "远程指导" in text.stdout
    assert "共 1 件，显示 1 件" in text.stderr
    text = run("list", "--status", "new", lang="en")
    assert "New" in text.stdout and "Green channel" in text.stdout and "1 of 1 shown" in text.stderr
    claimed = json.loads(run("claim", "--json").stdout)
    assert claimed["id"] == created["id"] and claimed["status"] == "claimed"
    empty = run("claim", "--json")
    assert empty.returncode == 0 and empty.stdout.strip() == "null" and "队列中暂无待领办事项" in empty.stderr
    assert "Nothing is waiting" in run("claim", lang="en").stderr
    moved = run("transition", str(created["id"]), "start", "--json")
    assert moved.returncode == 0 and json.loads(moved.stdout)["status"] == "in_progress"
    conflict = run("transition", str(created["id"]), "resume", "--json")
    assert conflict.returncode == 5 and conflict.stdout == "" and "状态：办理中 [in_progress]" in conflict.stderr
    other = run("transition", str(created["id"]), "complete", who="clerk2")
    assert other.returncode == 1 and "held by" in other.stderr
    up = json.loads(run("escalate", str(created["id"]), "up", "--reason", "材料争议", "--json").stdout)
    assert up["level"] == 1
    shown = run("show", str(created["id"]))
    assert shown.returncode == 0 and "上报 — 材料争议" in shown.stdout and "代办费：0 元（免费）" in shown.stdout
    assert "escalated — 材料争议" in run("show", str(created["id"]), lang="en").stdout
    assert run("show", "99999").returncode == 5
    unreachable = _run(["proxy", "--hub", "http://127.0.0.1:9", "list"], tmp_path, KIOSK_PROXY_TOKEN="gk_x_y")
    assert unreachable.returncode == 3 and unreachable.stdout == ""
    no_token = _run(["proxy", "--hub", proxy_hub.url, "list"], tmp_path)
    assert no_token.returncode == 5 and "没有中心服务令牌" in no_token.stderr
    no_token = _run(["proxy", "--hub", proxy_hub.url, "--lang", "en", "list"], tmp_path)
    assert no_token.returncode == 5 and "no hub token" in no_token.stderr
    second = proxy_hub.created()
    taken = run("claim", "--start", "--json")  # taken and started in one call
    assert taken.returncode == 0 and json.loads(taken.stdout)["id"] == second["id"]
    assert json.loads(taken.stdout)["status"] == "in_progress"
    full = proxy_hub.created(mode="full_proxy")
    held = run("claim", "--start")  # a 全程代办 is claimed, not started: the operator is told why and what next
    assert held.returncode == 0 and full["request_no"] in held.stdout and "已领取" in held.stdout
    assert f"全程代办须先核验委托书，再用 `kiosk proxy transition {full['id']} start`" in held.stderr
