"""Receipt numbers issued by the kiosk itself, so a receipt prints even while the hub is down (DESIGN §2).

`<device id>-<yyyymmdd>-<sequence>`: the sequence restarts at 0001 each day, never repeats, and survives
restarts (it lives in a small SQLite file in the data directory, incremented in one write transaction).
"""
from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

from kiosk import china_time
from kiosk.errors import InvalidInput

_DEVICE_ID = re.compile(r"^[A-Za-z0-9]{1,16}$")


def next_receipt_no(data_dir, device_id: str, today: dt.date | None = None) -> str:
    if not _DEVICE_ID.match(device_id or ""):
        raise InvalidInput(f"device id {device_id!r} cannot go into a receipt number",
                           "set kiosk.device_id to 1-16 letters or digits")
    day = (today or china_time.today()).strftime("%Y%m%d")
    path = Path(data_dir) / "receipt_numbers.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a number once printed must never be handed out again
        db.execute("CREATE TABLE IF NOT EXISTS receipt_sequence (device_id TEXT NOT NULL, day TEXT NOT NULL,"
                   " last INTEGER NOT NULL, PRIMARY KEY (device_id, day))")
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("SELECT last FROM receipt_sequence WHERE device_id = ? AND day = ?", (device_id, day)).fetchone()
        seq = (row[0] if row else 0) + 1
        db.execute("INSERT INTO receipt_sequence (device_id, day, last) VALUES (?, ?, ?)"
                   " ON CONFLICT(device_id, day) DO UPDATE SET last = excluded.last", (device_id, day, seq))
        db.execute("COMMIT")
    finally:
        db.close()
    return f"{device_id}-{day}-{seq:04d}"
