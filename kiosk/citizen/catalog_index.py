"""Finding an item in the catalog: categories by department and by life event, and search by Chinese, full
pinyin or initials (`ylbx` → 养老保险…), fast enough to run on every key press over the whole catalog.

The pinyin of every name comes with the catalog (the hub adds it, `kiosk.pinyin`: the kiosk does not hold
pypinyin's phrase data); a query is then a substring test against a few precomputed strings per entry, so a
search over a few hundred entries takes well under a millisecond.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from kiosk.pinyin import item_keys


@cache
def _not_word() -> re.Pattern:
    """Compiled at first use, not at import: a class over the CJK block costs ~3 ms to compile, paid by the
    kiosk's start before its first frame otherwise."""
    return re.compile(r"[^0-9a-z\u3400-\u9fff]+")


def _han(text: str) -> str:
    return "".join(c for c in text if "\u3400" <= c <= "\u9fff")


@dataclass
class _Entry:
    item: dict
    name: str
    full: str
    initials: str
    english: str
    extra: str  # department and category, matched after the name
    rank: int


@dataclass
class CatalogIndex:
    items: list[dict]
    _entries: list[_Entry] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        for rank, item in enumerate(self.items):
            name = str(item.get("name") or "")
            full, initials = item_keys(item)
            english = _not_word().sub(" ", str(item.get("name_en") or "").lower()).strip()
            extra = " ".join(str(item.get(k) or "") for k in ("category", "department"))
            self._entries.append(_Entry(item, name, full, initials, english, extra, rank))

    # -- categories ------------------------------------------------------------------------
    def departments(self) -> list[tuple[str, str, str, int]]:
        """(key, name, English name, item count) of each department's category, in catalog order."""
        seen: dict[str, list] = {}
        for item in self.items:
            if item.get("kind", "item") != "item":
                continue
            key = item.get("department_key") or item.get("department") or ""
            if key not in seen:
                seen[key] = [key, item.get("category") or item.get("department") or key,
                             item.get("category_en") or item.get("department_en") or key, 0]
            seen[key][3] += 1
        return [tuple(v) for v in seen.values()]

    def life_events(self, names: dict[str, tuple[str, str]]) -> list[tuple[str, str, str, int]]:
        """(key, name, English name, count) of each life event in `names` that has items."""
        counts = {k: 0 for k in names}
        for item in self.items:
            for event in item.get("life_events") or []:
                if event in counts:
                    counts[event] += 1
        return [(k, names[k][0], names[k][1], n) for k, n in counts.items() if n]

    def in_department(self, key: str) -> list[dict]:
        return [i for i in self.items if i.get("kind", "item") == "item"
                and (i.get("department_key") or i.get("department")) == key]

    def in_life_event(self, key: str) -> list[dict]:
        """Bundles of the life event first, then its items."""
        hits = [i for i in self.items if key in (i.get("life_events") or [])]
        return sorted(hits, key=lambda i: i.get("kind") != "bundle")

    def bundles(self) -> list[dict]:
        return [i for i in self.items if i.get("kind") == "bundle"]

    # -- search ----------------------------------------------------------------------------
    def search(self, query: str, limit: int | None = None) -> list[dict]:
        """Entries matching `query`, best first: Chinese text in the name, then full pinyin, then initials, then
        English words, then the department. Letters are matched as pinyin and as English at once."""
        q = query.strip().lower()
        if not q:
            return []
        han = _han(q)
        letters = re.sub(r"[^a-z]", "", q)
        scored: list[tuple[int, int, dict]] = []
        for e in self._entries:
            score = None
            if han and han in e.name:
                score = 0 if e.name.startswith(han) else 1
            elif han and han in e.extra:
                score = 6
            elif letters and not han:
                if e.full.startswith(letters):
                    score = 2
                elif letters in e.full:
                    score = 3
                elif e.initials.startswith(letters):
                    score = 2
                elif letters in e.initials:
                    score = 4
                elif letters in e.english.replace(" ", "") and len(letters) >= 3:
                    score = 5
            if score is not None:
                scored.append((score, e.rank, e.item))
        scored.sort(key=lambda t: (t[0], t[1]))
        hits = [t[2] for t in scored]
        return hits[:limit] if limit else hits
