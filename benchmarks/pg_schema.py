"""A PostgreSQL schema of a benchmark run's own, so a run may share a database: created empty, reached through the
URL's `search_path`, and dropped with everything in it afterwards."""
from __future__ import annotations

import uuid


class Schema:
    def __init__(self, base_url: str, prefix: str = "bench") -> None:
        from sqlalchemy import create_engine, text

        from kiosk.hub.db import check_url

        self.base = check_url(base_url)
        self.name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.engine = create_engine(self.base)
        with self.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        sep = "&" if "?" in self.base else "?"
        self.url = f"{self.base}{sep}options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.engine.dispose()
