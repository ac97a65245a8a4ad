"""List every translatable message in screens/ and kiosk/ (`_('…')`, `app.tr['…']`, `N_('…')`) and merge
them into the .po catalogues, keeping existing translations. Run `python tools/extract_messages.py` after
changing user-facing text, translate the new zh_CN entries, then `python -m kiosk.i18n.compile`.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*sorted((ROOT / "screens").rglob("*.py")), *sorted((ROOT / "screens").rglob("*.kv")),
           *sorted((ROOT / "kiosk").rglob("*.py")), *sorted((ROOT / "kiosk").rglob("*.html"))]  # .html: Jinja2 pages
LITERAL = r"""(?:'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")"""
# a message may be written as adjacent literals (Python joins them): `_("first half "\n "second half")`
CALL = re.compile(r"""(?:(?<![A-Za-z0-9])(?:N_|_)\(|\btr\[)\s*(?P<lits>%s(?:\s*%s)*)\s*[,)\]]""" % (LITERAL, LITERAL),
                  re.S)
LOCALE = ROOT / "kiosk" / "i18n" / "locale"


def _literal(quoted: str) -> str:
    body = quoted[1:-1]
    return body.encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


def extract() -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {}
    for path in SOURCES:
        text = path.read_text("utf-8")
        for m in CALL.finditer(text):
            msg = "".join(_literal(part) for part in re.findall(LITERAL, m.group("lits"), re.S))
            line = text.count("\n", 0, m.start()) + 1
            found.setdefault(msg, []).append((str(path.relative_to(ROOT)), line))
    return found


def merge(language: str, messages: dict) -> int:
    po = LOCALE / language / "LC_MESSAGES" / "kiosk.po"
    old = Catalog(locale=language)
    if po.exists():
        with po.open("rb") as f:
            old = read_po(f, locale=language)
    new = Catalog(locale=language, project="govkiosk", charset="utf-8")
    missing = 0
    for msg, locations in sorted(messages.items()):
        previous = old.get(msg)
        string = previous.string if previous is not None else ""
        if language != "en" and not string:
            missing += 1
        new.add(msg, string, locations=locations)
    po.parent.mkdir(parents=True, exist_ok=True)
    with po.open("wb") as f:
        write_po(f, new, width=120, omit_header=False, sort_output=True)
    return missing


if __name__ == "__main__":
    msgs = extract()
    for lang in ("zh_CN", "en"):
        missing = merge(lang, msgs)
        print(f"{lang}: {len(msgs)} messages, {missing} untranslated", file=sys.stderr)
