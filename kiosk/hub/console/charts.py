"""Bar and line charts drawn on the server as SVG with pygal, shown as `<img src="data:image/svg+xml;base64,…">`.

An SVG loaded as an image runs no script and fetches nothing, so the page's strict Content-Security-Policy holds;
pygal's own tooltip script (fetched from the web by default) is switched off with `js=[]`.
"""
from __future__ import annotations

import base64

import pygal
from pygal.style import Style

from kiosk.hub.console.tables import Table

FONT = "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif"
STYLE = Style(background="white", plot_background="white", foreground="#333", foreground_strong="#111",
              foreground_subtle="#ddd", colors=("#1f5fa8", "#d9822b", "#3b8f4e", "#b03a48"), font_family=FONT,
              label_font_family=FONT, major_label_font_family=FONT, value_font_family=FONT, title_font_family=FONT,
              legend_font_family=FONT, label_font_size=11, major_label_font_size=11, legend_font_size=12,
              title_font_size=14)
MAX_BARS = 20


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    return float(value) if isinstance(value, (int, float)) else None


def chart_svg(table: Table, width: int = 560, height: int = 260) -> bytes | None:
    """The table's chart as SVG bytes, or None when it has no chart or too little to draw (one bar says nothing
    its table does not)."""
    if not table.chart or len(table.rows) < 2:
        return None
    rows = table.rows if table.chart == "line" else table.rows[:MAX_BARS]
    common = dict(style=STYLE, width=width, height=height, js=[], disable_xml_declaration=False, show_legend=len(table.chart_columns) > 1,
                  legend_at_bottom=True, truncate_label=14, print_values=False, margin=8, explicit_size=True)
    if table.chart == "line":
        chart = pygal.Line(x_label_rotation=30, show_minor_x_labels=False, x_labels_major_every=max(1, len(rows) // 12),
                           dots_size=2, **common)
    else:
        chart = pygal.Bar(x_label_rotation=30 if len(rows) > 6 else 0, **common)
    labels = [str(r[table.label_column]) for r in rows]
    chart.x_labels = [x if len(x) <= 14 else x[:13] + "…" for x in labels]
    drawn, top = False, 0.0
    for col in table.chart_columns:
        values = [_number(r[col]) for r in rows]
        if any(v for v in values):
            drawn = True
        top = max([top] + [v for v in values if v is not None])
        chart.add(table.columns[col], values)
    if not drawn:
        return None
    if top <= 10 and all(float(v).is_integer() for col in table.chart_columns for v in (_number(r[col]) or 0 for r in rows)):
        chart.y_labels = list(range(0, int(top) + 1))  # counts: whole numbers on the axis
    return chart.render(is_unicode=False)


def chart_data_uri(table: Table) -> str | None:
    svg = chart_svg(table)
    if svg is None:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
