"""The month's 考核 report as a PDF (fpdf2), in Chinese: the Simplified Chinese Noto face that the kiosk uses
(kiosk.fonts extracts it from fonts-noto-cjk) is embedded as a subset."""
from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import threading
from pathlib import Path

from fontTools import subset as ft_subset
from fontTools.ttLib import TTFont
from fpdf import FPDF

from kiosk.china_time import CST
from kiosk.fonts import UiFonts
from kiosk.hub.console.tables import Table
from kiosk.i18n import gettext as _

log = logging.getLogger("kiosk.hub.console.report")
MAX_ROWS = 40  # per table in the PDF; the full tables are in the XLSX exports


_BASE_NAME = "console-report-base.otf"
_base_lock = threading.Lock()
_base_cmaps: dict[str, set[int]] = {}


def _common_text() -> str:
    """GB 2312 level-1 hanzi (the 3,755 most common), ASCII and Chinese punctuation: nearly every report's text."""
    chars = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.append(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(chars) + "".join(map(chr, range(32, 127))) + "，。：；（）《》、—％…·“”‘’"


def _build_base(source: Path, target: Path) -> None:
    with _base_lock:
        if target.exists():
            return
        tmp = target.with_suffix(".tmp")
        try:
            _subset_font(source, _common_text(), str(tmp))
            os.replace(tmp, target)
        except OSError:
            log.warning("could not keep the report font's common subset in %s", target.parent)
        finally:
            if tmp.exists():
                tmp.unlink()


def prepare_font(fonts: UiFonts) -> None:
    """Build the kept common-character subset now (a hub may call this at start; it takes some seconds once)."""
    _build_base(Path(fonts.regular), Path(fonts.regular).parent / _BASE_NAME)


def _source_for(regular: Path, text: str) -> Path:
    """Subsetting the whole 16 MB face takes most of the report's time; a kept subset of the common characters
    (built once, in the background) serves every report whose text it covers."""
    base = regular.parent / _BASE_NAME
    if not base.exists():
        threading.Thread(target=_build_base, args=(regular, base), name="console-report-font", daemon=True).start()
        return regular
    cmap = _base_cmaps.get(str(base))
    if cmap is None:
        cmap = _base_cmaps[str(base)] = set(TTFont(str(base), lazy=True).getBestCmap())
    return base if all(ord(ch) in cmap for ch in set(text) if ch.isprintable() and not ch.isspace()) else regular


def _subset_font(source, text: str, target: str) -> None:
    """Only the glyphs the report uses: parsing the whole 16 MB CJK face would take most of a second."""
    options = ft_subset.Options()
    options.layout_features = []
    options.hinting = False
    options.notdef_outline = True
    options.name_IDs = ["*"]
    font = TTFont(str(source), lazy=True)
    sub = ft_subset.Subsetter(options)
    sub.populate(text=text)
    sub.subset(font)
    font.save(target)


class _Report(FPDF):
    def __init__(self, regular: str, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.add_font("sc", "", regular)  # one face (headings by size and colour): each face costs subsetting time
        self.footer_text = footer_text
        self.set_auto_page_break(True, margin=15)
        self.set_margins(14, 14, 14)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font("sc", size=8)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.footer_text}    {self.page_no()}/{{nb}}", align="C")


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _table(pdf: _Report, table: Table, lang: str) -> None:
    pdf.set_font("sc", size=12)
    pdf.set_text_color(22, 54, 95)
    pdf.multi_cell(0, 7, table.title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    if not table.rows:
        pdf.set_font("sc", size=9)
        pdf.multi_cell(0, 6, _("Nothing in this period.", lang), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        return
    pdf.set_font("sc", size=8)
    # A plain grid of fixed-height cells: fpdf2's table() lays out every cell as a paragraph, ten times slower.
    # Widths follow the longest text (a CJK character counts double), scaled to the page; long text is cut.
    def units(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

    texts = [[str(c) for c in table.columns]] + [[_cell(v) for v in row] for row in table.rows[:MAX_ROWS]]
    want = [min(max(units(r[i]) for r in texts), 40) + 2 for i in range(len(table.columns))]
    scale = min(1.0, pdf.epw / (sum(want) * 1.45))
    widths = [w * 1.45 * scale for w in want]
    fits = [int(w / (1.45 * scale)) - 1 for w in widths]

    def cut(text: str, room: int) -> str:
        if units(text) <= room:
            return text
        out, used = "", 0
        for ch in text:
            used += units(ch)
            if used > room - 1:
                return out + "…"
            out += ch
        return out

    for r, row in enumerate(texts):
        if pdf.will_page_break(5):
            pdf.add_page()
        if r == 0:
            pdf.set_fill_color(230, 236, 245)
            pdf.set_text_color(22, 54, 95)
        for i, text in enumerate(row):
            numeric = r > 0 and isinstance(table.rows[r - 1][i], (int, float)) and not isinstance(table.rows[r - 1][i], bool)
            pdf.cell(widths[i], 5, cut(text, fits[i]), border=1, align="R" if numeric else "L", fill=r == 0)
        pdf.ln(5)
        if r == 0:
            pdf.set_text_color(20)
    if len(table.rows) > MAX_ROWS:
        pdf.set_font("sc", size=8)
        pdf.multi_cell(0, 5, _("{n} more rows in the XLSX export.", lang).format(n=len(table.rows) - MAX_ROWS),
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def monthly_report(fonts: UiFonts, title: str, subtitle: str, tables: list[Table], viewer_name: str, lang: str,
                   now: dt.datetime | None = None) -> bytes:
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(CST)
    made = _("Made {time} by {name}", lang).format(time=now.strftime("%Y-%m-%d %H:%M"), name=viewer_name)
    texts = [title, subtitle, made, _("Nothing in this period.", lang), _("{n} more rows in the XLSX export.", lang),
             "0123456789/{}—%.,:-() …"]
    for table in tables:
        texts += [table.title, *map(str, table.columns)] + [_cell(v) for row in table.rows[:MAX_ROWS] for v in row]
    with tempfile.TemporaryDirectory(prefix="console-report-") as tmp:
        regular = os.path.join(tmp, "regular.otf")
        text = "".join(texts)
        _subset_font(_source_for(Path(fonts.regular), text), text, regular)
        pdf = _Report(regular, made)
        _compose(pdf, title, subtitle, made, tables, lang)
        return bytes(pdf.output())


def _compose(pdf: _Report, title: str, subtitle: str, made: str, tables: list[Table], lang: str) -> None:
    pdf.set_title(title)
    pdf.set_creator("govkiosk hub console")
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("sc", size=18)
    pdf.set_text_color(22, 54, 95)
    pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("sc", size=10)
    pdf.set_text_color(80)
    pdf.multi_cell(0, 6, subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, made, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for table in tables:
        _table(pdf, table, lang)

