"""The supervisors' console at city scale: seeds 1,000,000 cases and 100,000 代办 requests (with their events,
people, kiosks and diag reports) into PostgreSQL with generate_series, then times every console view through
HTTP with a signed-in session (best of three after one warm-up).

Prints one JSON line: {"cases", "requests", "views_ms": {view: ms, ...}}. `--smoke` seeds 20,000 cases and 2,000
requests (a few seconds; CI keeps the script working). The data go into a schema of their own, dropped at the
end (`--keep` keeps it). `--db` defaults to $KIOSK_TEST_PG_URL (deploy/postgres-test.sh prints one).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from kiosk.hub.app import create_app  # noqa: E402
from kiosk.hub.auth import create_token  # noqa: E402
from kiosk.hub.serving import ServerThread  # noqa: E402

TOWNS, VILLAGES_PER_TOWN, KIOSKS = 20, 10, 300
DAYS = 365


def seed(conn, cases: int, reqs: int) -> None:
    """Everything in set-based SQL: an outlet tree, kiosks' tokens, staff, cases, requests, events, diag reports."""
    x = conn.execute
    x(text("INSERT INTO outlets (code, name, level, parent_code, items, hours, address, phone, active, created_at) "
           "VALUES ('C-0', '周至县政务服务中心', 'county', NULL, '[]', '', '', '', true, now())"))
    x(text("INSERT INTO outlets (code, name, level, parent_code, items, hours, address, phone, active, created_at) "
           "SELECT 'T-' || t, '第' || t || '镇便民服务中心', 'town', 'C-0', '[]', '', '', '', true, now() "
           "FROM generate_series(1, :towns) t"), {"towns": TOWNS})
    x(text("INSERT INTO outlets (code, name, level, parent_code, items, hours, address, phone, active, created_at) "
           "SELECT 'V-' || t || '-' || v, '第' || t || '镇' || v || '村代办点', 'village', 'T-' || t, '[]', '', '', '', true, now() "
           "FROM generate_series(1, :towns) t, generate_series(1, :v) v"), {"towns": TOWNS, "v": VILLAGES_PER_TOWN})
    # Kiosks: one token per device, bound to a village (the hash is never verified in the benchmark).
    x(text("INSERT INTO api_tokens (key_id, token_hash, role, name, created_at, revoked, outlet_code) "
           "SELECT 'bk' || k, 'x', 'kiosk', 'K' || lpad(k::text, 4, '0'), now(), false, "
           "'V-' || (1 + k % :towns) || '-' || (1 + (k / :towns) % :v) FROM generate_series(1, :kiosks) k"),
      {"towns": TOWNS, "v": VILLAGES_PER_TOWN, "kiosks": KIOSKS})
    x(text("INSERT INTO people (outlet_code, role, name, active, created_at) "
           "SELECT 'T-' || (1 + p % :towns), CASE WHEN p % 5 = 0 THEN 'runner' ELSE 'clerk' END, '代办员' || p, true, now() "
           "FROM generate_series(1, 400) p"), {"towns": TOWNS})
    x(text("INSERT INTO api_tokens (key_id, token_hash, role, name, created_at, revoked, outlet_code, person_id) "
           "SELECT 'bp' || id, 'x', role, name, now(), false, outlet_code, id FROM people"))
    x(text("""
        INSERT INTO cases (receipt_no, device_id, channel, item_code, item_name, applicant_name, applicant_id_number,
                           applicant_card_type, applicant_phone, applicant_address, form, materials, delivery, submitted_at,
                           status, case_no, platform_status, promised_by, attempts, next_attempt_at, created_by,
                           created_at, updated_at)
        SELECT 'B' || lpad(g::text, 8, '0'), k.dev, CASE WHEN g % 7 = 0 THEN 'counter' ELSE 'kiosk' END,
               'ITEM' || (g % 40), '事项' || (g % 40), '欧阳娜娜', '610113199001016789', '111', '13700009050', '', '{}', '[]',
               '自取', to_char(c.at, 'YYYY-MM-DD"T"HH24:MI:SS'), 'submitted', 'ZW' || g,
               CASE WHEN g % 10 < 8 THEN 'completed' ELSE 'accepted' END,
               to_char((c.at + interval '5 days') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), 1, c.at, 'kiosk:' || k.dev,
               c.at, c.at + make_interval(hours => ((g::bigint * 7919) % 200)::int)
        FROM generate_series(1, :n) g
        CROSS JOIN LATERAL (SELECT 'K' || lpad((1 + g % :kiosks)::text, 4, '0') AS dev) k
        CROSS JOIN LATERAL (SELECT now() - make_interval(secs => ((g::bigint * 104729) % (:days * 86400))::int) AS at) c
    """), {"n": cases, "kiosks": KIOSKS, "days": DAYS})
    x(text("""
        INSERT INTO proxy_requests (request_no, kind, channel, device_id, outlet_code, item_code, item_name, mode,
               applicant_type, applicant_enc, applicant_masked, phone_enc, phone_masked, priority, priority_rank, status,
               level, holder, claims, sla_days, sla_due_at, sla_budget_s, sla_paused_s, sla_stage, sla_stopped_at,
               materials, delivery, created_by, created_by_token, idem_client, idem_key, idem_fingerprint, created_at,
               updated_at, closed_at)
        SELECT 'R' || g, CASE WHEN g % 20 = 0 THEN 'complaint' ELSE 'proxy' END,
               (ARRAY['kiosk','counter','hotline','miniprogram','field'])[1 + g % 5], NULL,
               CASE WHEN g % 3 = 0 THEN 'T-' || (1 + g % :towns) ELSE 'V-' || (1 + g % :towns) || '-' || (1 + g % :v) END,
               'ITEM' || (g % 40), '事项' || (g % 40), (ARRAY['remote_guidance','home_visit','full_proxy'])[1 + g % 3],
               'person', '\\x00', '欧***', '\\x00', '137****9050', 'normal', 1,
               CASE WHEN o.open THEN (ARRAY['new','claimed','in_progress','waiting_citizen'])[1 + g % 4]
                    ELSE (ARRAY['done','done','done','cancelled','refused'])[1 + g % 5] END,
               CASE WHEN g % 11 = 0 THEN 1 + g % 3 ELSE 0 END,
               CASE WHEN o.open AND g % 4 <> 0 THEN 'clerk:代办员' || (1 + g % 400) END, 1, 5,
               c.at + interval '7 days', 144000, 0,
               CASE WHEN g % 13 = 0 THEN 100 WHEN g % 13 = 1 THEN 90 WHEN g % 13 = 2 THEN 80 WHEN g % 13 = 3 THEN 70 ELSE 0 END,
               CASE WHEN o.open THEN NULL ELSE c.at + make_interval(hours => ((g::bigint * 31) % 170)::int) END,
               '[]', '自取', 'kiosk:K0001', 1, 'bench', 'k' || g, repeat('0', 64), c.at, c.at,
               CASE WHEN o.open THEN NULL ELSE c.at + make_interval(hours => ((g::bigint * 31) % 170)::int) END
        FROM generate_series(1, :n) g
        CROSS JOIN LATERAL (SELECT now() - make_interval(secs => ((g::bigint * 7919) % (:days * 86400))::int) AS at) c
        CROSS JOIN LATERAL (SELECT (g % 20 = 0) AS open) o
    """), {"n": reqs, "towns": TOWNS, "v": VILLAGES_PER_TOWN, "days": DAYS})
    x(text("""
        INSERT INTO proxy_events (request_id, at, actor, action, from_status, to_status, level, note, detail)
        SELECT r.id, r.created_at + make_interval(mins => e), CASE e WHEN 0 THEN 'kiosk:K0001' ELSE 'clerk:代办员' || (1 + r.id % 400) END,
               (ARRAY['created','claimed','started','done'])[1 + e], NULL, NULL, r.level, '', '{}'
        FROM proxy_requests r, generate_series(0, 3) e
    """))
    # 好差评: three evaluations for every ten cases, one in 25 a 差评 (levels 1-2) with its rectification state.
    x(text("""
        INSERT INTO evaluations (idem_client, idem_key, receipt_no, item_code, item_name, outlet_code, level, detail_codes,
               channel, assess_number, proxied, device_id, created_by, created_at, upload_state, rectification_status,
               rectification_due, rectified_by, rectified_at, revisit_status, revisit_result, revisited_at)
        SELECT 'kiosk:K0001', 'e' || g, 'B' || lpad((g * 3)::text, 8, '0'), 'ITEM' || (g % 40), '事项' || (g % 40),
               'V-' || (1 + g % :towns) || '-' || (1 + g % :v),
               CASE WHEN g % 25 = 0 THEN 1 + g % 2 WHEN g % 7 = 0 THEN 3 WHEN g % 3 = 0 THEN 4 ELSE 5 END,
               CASE WHEN g % 25 = 0 THEN '["slow"]'::json ELSE '[]'::json END, '5', 1, false, 'K0001', 'kiosk:K0001', c.at,
               'uploaded',
               CASE WHEN g % 25 <> 0 THEN 'none' WHEN g % 50 = 0 THEN 'rectified' ELSE 'open' END,
               CASE WHEN g % 25 = 0 THEN c.at + interval '21 days' END,
               CASE WHEN g % 50 = 0 THEN 'window:w' END, CASE WHEN g % 50 = 0 THEN c.at + interval '3 days' END,
               CASE WHEN g % 25 <> 0 THEN 'none' WHEN g % 50 = 0 THEN 'done' ELSE 'pending' END,
               CASE WHEN g % 50 = 0 THEN 'satisfied' END, CASE WHEN g % 50 = 0 THEN c.at + interval '4 days' END
        FROM generate_series(1, :n) g
        CROSS JOIN LATERAL (SELECT now() - make_interval(secs => ((g::bigint * 15485863) % (:days * 86400))::int) AS at) c
    """), {"n": cases * 3 // 10, "towns": TOWNS, "v": VILLAGES_PER_TOWN, "days": DAYS})
    x(text("""
        INSERT INTO diag_reports (device_id, sent_by, overall, level, report, created_at)
        SELECT 'K' || lpad(k::text, 4, '0'), 'kiosk:K' || lpad(k::text, 4, '0'),
               CASE WHEN (k + d) % 17 = 0 THEN 'error' WHEN (k + d) % 5 = 0 THEN 'warning' ELSE 'ok' END, 'internal',
               CASE WHEN (k + d) % 17 = 0 THEN '{"overall": "error", "checks": [{"check": "printer", "severity": "error"}]}'::json
                    ELSE '{"overall": "ok", "checks": []}'::json END, now() - make_interval(days => d)
        FROM generate_series(1, :kiosks) k, generate_series(0, 29) d
    """), {"kiosks": KIOSKS})


def timed(http: requests.Session, url: str, runs: int) -> float:
    if url.endswith("/console/"):
        http = requests.Session()  # the login page, as somebody not signed in sees it
    r = http.get(url, allow_redirects=False)
    if r.status_code != 200:
        raise SystemExit(f"console_stats: {url} answered {r.status_code}: {r.text[:300]}")
    best = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = http.get(url, allow_redirects=False)
        best.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    return round(min(best), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=os.environ.get("KIOSK_TEST_PG_URL"), help="PostgreSQL URL (a schema of its own is made)")
    ap.add_argument("--smoke", action="store_true", help="20,000 cases and 2,000 requests, a few seconds")
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the benchmark schema")
    args = ap.parse_args()
    if not args.db or not args.db.startswith("postgresql"):
        raise SystemExit("console_stats: give --db postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB (or set KIOSK_TEST_PG_URL;"
                         " deploy/postgres-test.sh starts one)")
    if args.smoke:
        args.cases, args.requests, args.runs = 20_000, 2_000, 1
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    base = args.db.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    server = None
    try:
        with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
            os.environ.setdefault("KIOSK_HUB_KEY", "22" * 32)
            # The 代办 SLA sweeper would start escalating the seeded requests while the views are timed.
            (Path(tmp) / "hub").mkdir(parents=True, exist_ok=True)
            (Path(tmp) / "hub" / "proxy.toml").write_text("sweep_s = 86400\n", encoding="utf-8")
            app = create_app(url, None, relay=False, data_dir=tmp)
            t0 = time.perf_counter()
            with app.state.hub.engine.begin() as conn:
                seed(conn, args.cases, args.requests)
                # The citizen's words of the open 差评 the list shows, encrypted as the hub stores them.
                cipher = app.state.hub.cipher
                rows = conn.execute(text("SELECT id, idem_client, idem_key FROM evaluations WHERE rectification_status = 'open'"
                                         " ORDER BY rectification_due LIMIT 2000")).all()
                conn.execute(text("UPDATE evaluations SET text_enc = :t WHERE id = :id"),
                             [{"id": i, "t": cipher.encrypt("排队太久，窗口说系统坏了 <b>!</b>", f"evaluations.text:{c}:{k}")}
                              for i, c, k in rows])
            with app.state.hub.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            seed_s = time.perf_counter() - t0
            # The daily rollups that long periods read (a running hub keeps them fresh a few days per view).
            from kiosk.hub.console import rollup

            t0 = time.perf_counter()
            rollup.refresh_all(app.state.hub.sessions)
            rollup_s = time.perf_counter() - t0
            with app.state.hub.sessions() as s, s.begin():
                token = create_token(s, "supervisor", "bench")
            # The font the PDF report subsets: extracted from fonts-noto-cjk, and its kept common-character subset.
            from kiosk.fonts import ensure_ui_fonts
            from kiosk.hub.console.report import prepare_font

            app.state.console_fonts = ensure_ui_fonts(Path(tmp) / "hub")
            prepare_font(app.state.console_fonts)
            server = ServerThread(app).start()
            http = requests.Session()
            page = http.get(server.url + "/console/")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            http.post(server.url + "/console/login", data={"csrf": csrf, "token": token}).raise_for_status()
            with app.state.hub.engine.connect() as conn:
                n_cases = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
                n_reqs = conn.execute(text("SELECT count(*) FROM proxy_requests")).scalar_one()
            year = "from={}&to={}".format(*conn_dates())
            month = "from={}&to={}".format(*conn_dates(29))
            views = {
                "login": "/console/",
                "board": "/console/board",
                "board_town": "/console/board?outlet=T-3",
                "stats_30d": f"/console/stats?{month}",
                "stats_year": f"/console/stats?{year}",
                "stats_year_town": f"/console/stats?{year}&outlet=T-3",
                "evaluations": "/console/evaluations",
                "evaluations_year_all": f"/console/evaluations?{year}&state=all",
                "devices": "/console/devices",
                "export_board_csv": "/console/export/board/open_requests.csv",
                "export_outlets_xlsx": f"/console/export/stats/applications_by_outlet.xlsx?{year}",
                "report_pdf": "/console/report.pdf?month={}".format(conn_dates(31)[0].strftime("%Y-%m")),
            }
            views_ms = {name: timed(http, server.url + path, args.runs) for name, path in views.items()}
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    load = os.getloadavg()[0]
    print(json.dumps({"cases": n_cases, "requests": n_reqs, "views_ms": views_ms, "seed_s": round(seed_s, 1),
                      "rollup_build_s": round(rollup_s, 1),
                      "load_avg_1m": round(load, 1),
                      "max_view_ms": max(views_ms.values()), "median_view_ms": statistics.median(views_ms.values())},
                     ensure_ascii=False))


def conn_dates(back: int = 364):
    import datetime as dt

    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    return today - dt.timedelta(days=back), today


if __name__ == "__main__":
    main()
