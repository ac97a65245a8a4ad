"""The pinyin of a service name for search: full pinyin without spaces and its initials (`养老保险` →
`yanglaobaoxian`, `ylbx`), polyphones read by pypinyin's phrase data.

That data costs about 55 MB of memory and 0.6 s to load, so it is loaded where memory is cheap: the hub adds
both keys to every catalog item it serves (`pinyin`, `pinyin_initials`) and the kiosk's search index only reads
them. The kiosk loads pypinyin itself only for an item that came without them (a catalog from an older hub).
"""
from __future__ import annotations

import functools
import threading

_lock = threading.Lock()
_lazy_pinyin = None


def _loaded():
    global _lazy_pinyin
    with _lock:
        if _lazy_pinyin is None:
            from pypinyin import lazy_pinyin

            from kiosk import memory

            memory.freeze()  # a few hundred thousand objects that live for good: no collection walks them again
            _lazy_pinyin = lazy_pinyin
    return _lazy_pinyin


@functools.lru_cache(maxsize=8192)
def keys(text: str) -> tuple[str, str]:
    """(full pinyin without spaces, initials) of the Chinese characters in `text`, lower case."""
    syllables = [s for s in _loaded()(text, errors="ignore") if s.isascii() and s.isalpha()]
    return "".join(syllables).lower(), "".join(s[0] for s in syllables).lower()


def with_keys(items: list[dict]) -> list[dict]:
    """Copies of `items` with `pinyin` and `pinyin_initials` of each name. Each name is read once (`keys` keeps
    the answers): the hub encodes the catalog again for every request while it serves a stale copy."""
    out = []
    for item in items:
        full, initials = keys(str(item.get("name") or ""))
        out.append({**item, "pinyin": full, "pinyin_initials": initials})
    return out


def item_keys(item: dict) -> tuple[str, str]:
    """The item's keys as the hub sent them, else read here from its name."""
    full, initials = item.get("pinyin"), item.get("pinyin_initials")
    if isinstance(full, str) and isinstance(initials, str):
        return full, initials
    return keys(str(item.get("name") or ""))
