"""Every console table as CSV (UTF-8 with BOM, so Excel opens Chinese correctly) or XLSX (openpyxl)."""
from __future__ import annotations

import csv
import io
import re

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from kiosk.hub.console.tables import Table

# A cell starting with one of these is a formula to a spreadsheet: citizen text must never become one (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if v is None else _safe(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(table: Table, subtitle: str = "") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\[\]:*?/\\]", " ", table.title)[:31] or "table"
    start = 1
    if subtitle:
        ws.cell(row=1, column=1, value=subtitle).font = Font(italic=True)
        start = 3
    for c, name in enumerate(table.columns, 1):
        ws.cell(row=start, column=c, value=name).font = Font(bold=True)
    for r, row in enumerate(table.rows, start + 1):
        for c, value in enumerate(row, 1):
            ws.cell(row=r, column=c, value=_safe(value))
    for c, name in enumerate(table.columns, 1):
        longest = max([len(str(name))] + [len(str(row[c - 1])) for row in table.rows[:500] if row[c - 1] is not None])
        ws.column_dimensions[get_column_letter(c)].width = min(60, max(8, longest * 1.6 + 2))
    ws.freeze_panes = ws.cell(row=start + 1, column=1)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def filename(view: str, table: Table, suffix: str, extra: str = "") -> str:
    stem = f"{view}-{table.key}{('-' + extra) if extra else ''}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem) + "." + suffix
