"""Pinyin → candidates: full pinyin, initials (ylbx → 养老保险), mixed (zhongg → 中国), ranked by frequency.

The letters are cut into tokens: a whole syllable ("zhong"), an initial where no syllable starts ("y", "zh"), or
an unfinished syllable before an apostrophe or at the end ("zho"). Every way through the tokens that spells the
start of a lexicon key is followed, so ambiguous input ("xian": 先 / 西安 / 夏…) offers all its readings. A
candidate consumes the letters of its tokens; choosing it leaves the rest for the next choice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from kiosk.ime.lexicon import Lexicon

LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz'")
INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z", "c",
            "s", "y", "w")
ALIASES = {"lue": "lve", "nue": "nve"}  # 略, 虐: both spellings are taught; the lexicon writes ü as v
MAX_SYLLABLE_LETTERS = 6  # "zhuang", "shuang"
ABBREVIATION_MIN_FREQ = 20  # a word spelled by two or more initials must be at least this common (not 句栉字比)
INCOMPLETE_PENALTY = 0.1  # a token that is only an initial or an unfinished syllable counts a tenth
MAX_PER_KEY = 200
MAX_CANDIDATES = 300
NODE_BUDGET = 20000  # lexicon probes per query: keeps a pathological input inside the time budget
WORD_COST = 16.0  # a composed sentence prefers fewer, longer words


@dataclass(frozen=True, slots=True)
class Candidate:
    text: str
    consumed: int  # letters of the input (apostrophes included) this candidate stands for
    pinyin: str  # "xi'an"; empty for a composed sentence or the raw letters


@dataclass(frozen=True, slots=True)
class _Token:
    end: int
    ids: range
    complete: bool


class PinyinEngine:
    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon()
        self._syllables = frozenset(self.lexicon.syllables)
        self._prefixes = frozenset(s[:i] for s in self.lexicon.syllables for i in range(1, len(s) + 1))

    # -- tokens ----------------------------------------------------------------------------
    @staticmethod
    def clean(letters: str) -> str:
        """Lower-case letters and apostrophes only; anything else is dropped (the keyboard sends nothing else)."""
        return "".join(ch for ch in letters.lower() if ch in LETTERS)

    def _tokens_at(self, letters: str, i: int) -> list[_Token]:
        run_end = letters.find("'", i)
        if run_end < 0:
            run_end = len(letters)
        out: list[_Token] = []
        lex = self.lexicon
        for j in range(i + 1, min(run_end, i + MAX_SYLLABLE_LETTERS) + 1):
            piece = ALIASES.get(letters[i:j], letters[i:j])
            if piece in self._syllables:
                sid = lex.syllable_id[piece]
                out.append(_Token(j, range(sid, sid + 1), True))
        if not out:
            for initial in INITIALS:
                if letters.startswith(initial, i):
                    out.append(_Token(i + len(initial), lex.ids_with_prefix(initial), False))
                    break
        tail = letters[i:run_end]
        if (tail and tail not in self._syllables and tail in self._prefixes
                and not any(t.end == run_end for t in out)):
            out.append(_Token(run_end, lex.ids_with_prefix(tail), False))
        return out

    def _skip(self, letters: str, j: int) -> int:
        while j < len(letters) and letters[j] == "'":
            j += 1
        return j

    def segment(self, letters: str) -> list[str]:
        """The plainest reading of `letters` as syllables (fewest unfinished pieces, then fewest pieces),
        for the composition display: "zhongguo" → zhong, guo; "xian" → xian; "ylbx" → y, l, b, x."""
        letters = self.clean(letters)
        n = len(letters)
        best: list[tuple | None] = [None] * (n + 1)
        start = self._skip(letters, 0)
        best[start] = (0, 0, [])
        for i in range(n + 1):
            if best[i] is None or i == n:
                continue
            inc, count, pieces = best[i]
            tokens = self._tokens_at(letters, i)
            if not tokens:  # not pinyin from here (e.g. "i"): keep the letters as one piece
                tokens = [_Token(letters.find("'", i) if "'" in letters[i:] else n, range(0), False)]
            for t in tokens:
                j = self._skip(letters, t.end)
                cand = (inc + (not t.complete), count + 1, pieces + [letters[i:t.end]])
                if best[j] is None or cand[:2] < best[j][:2]:
                    best[j] = cand
        return best[n][2] if best[n] is not None else ([letters] if letters else [])

    # -- candidates ------------------------------------------------------------------------
    def candidates(self, letters: str, limit: int = MAX_CANDIDATES) -> list[Candidate]:
        letters = self.clean(letters)
        if not letters.strip("'"):
            return []
        return list(self._candidates(letters, limit))

    @lru_cache(maxsize=64)
    def _candidates(self, letters: str, limit: int) -> tuple[Candidate, ...]:
        n = len(letters)
        start = self._skip(letters, 0)
        budget = [NODE_BUDGET]
        found = self._words_from(letters, start, budget)
        ranked = sorted(found, key=lambda r: (-r[0], -r[1]))
        out: list[Candidate] = []
        seen: set[str] = set()
        if not ranked or ranked[0][0] < n:
            sentence = self._sentence(letters, start, budget)
            if sentence:
                out.append(sentence)
                seen.add(sentence.text)
        for consumed, _score, text, pinyin in ranked:
            if text not in seen:
                seen.add(text)
                out.append(Candidate(text, consumed, pinyin))
                if len(out) >= limit:
                    break
        if not out:  # nothing Chinese spelled this way: offer the letters themselves
            out.append(Candidate(letters.replace("'", ""), n, ""))
        return tuple(out)

    def _words_from(self, letters: str, start: int, budget: list[int],
                    whole_syllables: bool = False) -> list[tuple[int, float, str, str]]:
        """Every lexicon word whose pinyin spells a token path from `start`: (end, score, word, pinyin).
        `budget` (a one-item list, shared between calls) counts lexicon probes down. `whole_syllables` allows
        an unfinished syllable only at the very end (used for composing sentences)."""
        lex = self.lexicon
        n = len(letters)
        tokens_cache: dict[int, list[_Token]] = {}
        leaves: list[tuple[int, int, int, bytes]] = []  # (end, key index, incomplete tokens, key)
        stack = [(start, b"", 0)]
        while stack and budget[0] > 0:
            pos, key, incomplete = stack.pop()
            tokens = tokens_cache.get(pos)
            if tokens is None:
                tokens = tokens_cache[pos] = self._tokens_at(letters, pos)
            for tok in tokens:
                nxt = self._skip(letters, tok.end)
                if whole_syllables and not tok.complete and nxt < n:
                    continue
                inc = incomplete + (not tok.complete)
                deeper = nxt < n and len(key) // 2 + 1 < lex.max_syllables
                for _sid, child, exact in lex.children(key, tok.ids):
                    budget[0] -= 1
                    if exact >= 0:
                        leaves.append((nxt, exact, inc, child))
                    if deeper:
                        stack.append((nxt, child, inc))
        found = []
        for end, idx, inc, key in leaves:
            weight = INCOMPLETE_PENALTY ** inc if inc else 1.0
            floor = ABBREVIATION_MIN_FREQ if inc >= 2 else 0
            pinyin = "'".join(lex.pinyin(key))
            for e in lex.entries(idx)[:MAX_PER_KEY]:
                freq = lex.freq[e]
                if freq < floor:
                    break  # entries are in descending frequency
                found.append((end, freq * weight, lex.word(e), pinyin))
        return found

    def _sentence(self, letters: str, start: int, budget: list[int]) -> Candidate | None:
        """The likeliest run of words to the end (each word scores log frequency less a fixed cost, so fewer,
        longer words win); None when some part spells nothing or the input is too costly to compose."""
        n = len(letters)
        best: dict[int, tuple[float, int, str, str]] = {start: (0.0, -1, "", "")}  # end → (score, from, text, py)
        for pos in range(start, n):
            if pos not in best:
                continue
            # Whole syllables only: a sentence guessed from initials (jzzbl → 句栉字比了) is noise.
            found = self._words_from(letters, pos, budget, whole_syllables=True)
            if budget[0] <= 0:
                return None
            top: dict[int, tuple[float, str, str]] = {}
            for end, score, text, pinyin in found:
                if end not in top or score > top[end][0]:
                    top[end] = (score, text, pinyin)
            base = best[pos][0]
            for end, (score, text, pinyin) in top.items():
                total = base + math.log(score + 1.0) - WORD_COST
                if end not in best or total > best[end][0]:
                    best[end] = (total, pos, text, pinyin)
        if n not in best:
            return None
        texts, pinyins = [], []
        pos = n
        while pos != start:
            _, prev, text, pinyin = best[pos]
            texts.append(text)
            pinyins.append(pinyin)
            pos = prev
        if len(texts) < 2:
            return None
        return Candidate("".join(reversed(texts)), n, "'".join(reversed(pinyins)))


class LettersOnlyEngine:
    """Stands in when the lexicon cannot be read: every spelling is offered as the letters typed, so the keyboard
    still types Latin text (and says that Chinese is unavailable) instead of failing."""

    def candidates(self, letters: str, limit: int = MAX_CANDIDATES) -> list[Candidate]:
        clean = PinyinEngine.clean(letters).replace("'", "")
        return [Candidate(clean, len(PinyinEngine.clean(letters)), "")] if clean else []

    def segment(self, letters: str) -> list[str]:
        clean = PinyinEngine.clean(letters)
        return [clean] if clean else []
