"""gettext for every user-facing string: zh_CN first, en.

Message ids are English; `kiosk/i18n/locale/<lang>/LC_MESSAGES/kiosk.po` holds the translations and
`make i18n` (or `python -m kiosk.i18n.compile`) writes the `.mo` files beside them.
"""
from __future__ import annotations

import gettext as _gettext
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "kiosk"
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"

_current = DEFAULT_LANGUAGE


@lru_cache(maxsize=None)
def translation(language: str) -> _gettext.NullTranslations:
    return _gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[language], fallback=True)


def set_language(language: str) -> None:
    global _current
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; use one of {LANGUAGES}")
    _current = language


def current_language() -> str:
    return _current


def gettext(message: str, language: str | None = None) -> str:
    return translation(language or _current).gettext(message)


def ngettext(singular: str, plural: str, n: int, language: str | None = None) -> str:
    return translation(language or _current).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated where it is shown."""
    return message
