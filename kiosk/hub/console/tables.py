"""A table of a console view: the one shape that the page, the CSV/XLSX exports and the PDF report all render."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    key: str  # stable, used in export URLs: /console/export/<view>/<key>.csv
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    chart: str | None = None  # "bar" | "line" | None: draw the first column against the numeric ones
    chart_columns: tuple[int, ...] = (1,)  # which columns the chart plots
    label_column: int = 0  # which column names the bars / points
    note: str = ""

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]


def pct(part: int | float | None, whole: int | float | None) -> float | None:
    """A share in percent with one decimal, or None when there is nothing to divide."""
    if not whole or part is None:
        return None
    return round(100.0 * float(part) / float(whole), 1)


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600.0, 1)
