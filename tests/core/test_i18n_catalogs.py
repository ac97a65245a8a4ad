"""Every user-facing message is translated to zh_CN, and the compiled catalogues match their sources."""
import io
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from kiosk.i18n import LOCALE_DIR, gettext

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import extract_messages  # noqa: E402


def test_every_message_in_the_source_is_in_the_zh_catalog_and_translated():
    with (LOCALE_DIR / "zh_CN/LC_MESSAGES/kiosk.po").open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    for msg in extract_messages.extract():
        entry = catalog.get(msg)
        assert entry is not None, f"not in the zh_CN catalogue (run tools/extract_messages.py): {msg!r}"
        assert entry.string, f"untranslated: {msg!r}"
        assert "{" not in msg or set(_fields(msg)) == set(_fields(entry.string)), msg


def _fields(text):
    import string

    return [f for _, f, _, _ in string.Formatter().parse(text) if f]


def test_compiled_mo_files_are_up_to_date():
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/kiosk.po"):
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        buf = io.BytesIO()
        write_mo(buf, catalog, use_fuzzy=False)
        assert po.with_suffix(".mo").read_bytes() == buf.getvalue(), f"run python -m kiosk.i18n.compile ({po})"


def test_languages_switch():
    assert gettext("Welcome", "zh_CN") == "欢迎使用"
    assert gettext("Welcome", "en") == "Welcome"
