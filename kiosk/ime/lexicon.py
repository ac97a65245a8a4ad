"""The pinyin lexicon shipped with the package (built by tools/build_ime_data.py), held compactly in memory.

A word's key is its syllables as 2-byte big-endian ids (ids follow the alphabetical order of the syllables, so
syllables sharing a prefix have neighbouring ids). Keys are sorted: every prefix of a key is a contiguous range,
found with `bisect` — the sorted key list serves as the trie, without a trie's memory. The keys themselves are
packed end to end in one bytes object (`PackedKeys`): as a list of 117,000 bytes objects they took 5.6 MB of the
kiosk's memory for good, packed 1.2 MB.
"""
from __future__ import annotations

import gzip
from array import array
from bisect import bisect_left
from pathlib import Path

DATA_FILE = Path(__file__).with_name("lexicon.tsv.gz")
HEADER = "govkiosk-ime-lexicon 1"


class LexiconError(Exception):
    """The lexicon file is missing or not one this code can read."""


class PackedKeys:
    """A sorted sequence of byte strings stored end to end: what `bisect` needs (len, index) and no more."""

    __slots__ = ("_blob", "_end")

    def __init__(self, blob: bytes, end: array) -> None:
        self._blob = blob
        self._end = end  # key i is blob[end[i-1]:end[i]]

    def __len__(self) -> int:
        return len(self._end)

    def __getitem__(self, i: int) -> bytes:
        end = self._end
        if i < 0:
            i += len(end)
        return self._blob[end[i - 1] if i else 0:end[i]]


class Lexicon:
    def __init__(self, path: str | Path = DATA_FILE) -> None:
        packed = bytearray()
        key_end = array("I")
        previous = b""
        self.key_start = array("I")  # index of the key's first entry; one extra at the end
        self.freq = array("I")
        self.word_end = array("I")  # entry i's word is blob[word_end[i-1]:word_end[i]]
        self.max_syllables = 0
        chunks: list[str] = []
        pos = 0
        try:
            # Streamed line by line into the arrays: no list of rows, so loading peaks little above the result.
            with gzip.open(path, "rt", encoding="utf-8") as f:
                header = f.readline().rstrip("\n")
                if header != HEADER:
                    raise LexiconError(f"{path}: not a keyboard lexicon (header {header[:40]!r})")
                self.syllables: list[str] = f.readline().split()
                if not self.syllables or self.syllables != sorted(self.syllables):
                    raise LexiconError(f"{path}: syllable list is not sorted")
                self.syllable_id = {s: i for i, s in enumerate(self.syllables)}
                ids = {s: i.to_bytes(2, "big") for s, i in self.syllable_id.items()}
                for line in f:
                    key, words, freqs = line.rstrip("\n").split("\t")
                    kb = b"".join(ids[s] for s in key.split("'"))
                    if kb <= previous:
                        raise LexiconError(f"{path}: keys out of order at {key!r}")
                    previous = kb
                    packed += kb
                    key_end.append(len(packed))
                    self.key_start.append(len(self.freq))
                    self.max_syllables = max(self.max_syllables, len(kb) // 2)
                    word_list = words.split(",")
                    for w in word_list:
                        pos += len(w)
                        self.word_end.append(pos)
                    self.freq.extend(int(x) for x in freqs.split(","))
                    if len(self.freq) != len(self.word_end):
                        raise LexiconError(f"{path}: words and frequencies differ in number at {key!r}")
                    chunks.append("".join(word_list))
        except (OSError, EOFError, ValueError, KeyError, UnicodeDecodeError) as exc:
            raise LexiconError(f"cannot read the keyboard lexicon {path}: {exc}") from exc
        self.key_start.append(len(self.freq))
        self.keys = PackedKeys(bytes(packed), key_end)
        del packed
        # first[s]: index of the first key whose first syllable is s or later. Each search starts inside its first
        # syllable's range: about 8 probes of the packed keys instead of 17.
        self.first = array("I", (bisect_left(self.keys, s.to_bytes(2, "big")) for s in range(len(self.syllables))))
        self.first.append(len(self.keys))
        self.blob = "".join(chunks)
        del chunks

    def __len__(self) -> int:
        return len(self.freq)

    # -- lookups ---------------------------------------------------------------------------
    def ids_with_prefix(self, prefix: str) -> range:
        """Ids of the syllables that start with `prefix` (contiguous because the list is sorted)."""
        lo = bisect_left(self.syllables, prefix)
        hi = bisect_left(self.syllables, prefix + "{")  # "{" sorts after "z"
        return range(lo, hi)

    def _bounds(self, key: bytes) -> tuple[int, int]:
        """The range of keys that share `key`'s first syllable (all keys for an empty one)."""
        if len(key) < 2:
            return 0, len(self.keys)
        sid = key[0] << 8 | key[1]
        return self.first[sid], self.first[sid + 1]

    def has_prefix(self, key: bytes) -> bool:
        lo, hi = self._bounds(key)
        i = bisect_left(self.keys, key, lo, hi)
        return i < hi and self.keys[i].startswith(key)

    def key_index(self, key: bytes) -> int:
        """Index of `key` in the sorted keys, or -1. Also -2 when no key even starts with it (prune)."""
        lo, hi = self._bounds(key)
        i = bisect_left(self.keys, key, lo, hi)
        if i >= hi or not self.keys[i].startswith(key):
            return -2
        return i if self.keys[i] == key else -1

    def children(self, key: bytes, ids: range):
        """(syllable id, child key, index of the child key if it is a key itself else -1) for each syllable in
        `ids` that some key continues `key` with. Skips from child to child with bisect, so a syllable range
        ("y" = ya…yun) costs one probe per child that exists, not one per syllable."""
        keys = self.keys
        depth = len(key)
        if not ids:
            return
        if depth:
            lo, n = self._bounds(key)
        else:  # the first syllable: its range is known without a search
            lo, n = self.first[ids.start], self.first[min(ids.stop, len(self.syllables))]
        i = bisect_left(keys, key + ids.start.to_bytes(2, "big"), lo, n)
        while i < n:
            k = keys[i]
            if not k.startswith(key):
                return
            sid = int.from_bytes(k[depth:depth + 2], "big")
            if sid >= ids.stop:
                return
            yield sid, k[:depth + 2], (i if len(k) == depth + 2 else -1)
            i = bisect_left(keys, key + (sid + 1).to_bytes(2, "big"), i, n)

    def entries(self, key_index: int) -> range:
        return range(self.key_start[key_index], self.key_start[key_index + 1])

    def word(self, entry: int) -> str:
        start = self.word_end[entry - 1] if entry else 0
        return self.blob[start:self.word_end[entry]]

    def pinyin(self, key: bytes) -> list[str]:
        return [self.syllables[int.from_bytes(key[i:i + 2], "big")] for i in range(0, len(key), 2)]

    def lookup(self, word_pinyin: str) -> list[tuple[str, int]]:
        """Words whose pinyin is exactly `word_pinyin` ("xi'an"), most frequent first (for tests and tools)."""
        try:
            key = b"".join(self.syllable_id[s].to_bytes(2, "big") for s in word_pinyin.split("'"))
        except KeyError:
            return []
        k = self.key_index(key)
        return [(self.word(e), self.freq[e]) for e in self.entries(k)] if k >= 0 else []
