"""What the citizen is spelling: the letters typed, the words already chosen for their first part, and the
candidates for the rest. Choosing a candidate consumes its syllables; the text is committed once nothing is
left. Pure Python: the keyboard widget drives it and shows `preedit` and `candidates`.
"""
from __future__ import annotations

from kiosk.ime.engine import LETTERS, Candidate, PinyinEngine
from kiosk.ime.punctuation import DIGITS, is_punctuation, to_chinese

MAX_LETTERS = 40  # longer pinyin is refused key by key (a sentence of eight words fits)


class Composition:
    def __init__(self, engine: PinyinEngine, max_letters: int = MAX_LETTERS) -> None:
        self.engine = engine
        self.max_letters = max_letters
        self.letters = ""  # not yet converted
        self.chosen: list[tuple[str, str]] = []  # (words, the letters they stood for)
        self._undo_choice = False  # backspace right after a choice takes the choice back

    # -- state -----------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return bool(self.letters or self.chosen)

    @property
    def candidates(self) -> list[Candidate]:
        return self.engine.candidates(self.letters) if self.letters else []

    @property
    def preedit(self) -> str:
        """Chosen words, then the remaining letters cut into syllables: "中g" → "中 guo" shows as 中guo."""
        rest = ""
        if self.letters:
            pieces = self.engine.segment(self.letters)
            cands = self.candidates
            top = cands[0] if cands else None
            # Where two cuts are equally plain (chan'gan'lu, chang'an'lu), show the one the first word uses;
            # never a cut with more pieces than typed (xian stays xian although 西安 is first).
            if (top is not None and top.pinyin and top.consumed == len(self.letters)
                    and top.pinyin.count("'") + 1 == len(pieces)
                    and top.pinyin.replace("'", "") == self.letters.replace("'", "")):
                rest = top.pinyin
            else:
                rest = "'".join(pieces)
        return "".join(w for w, _ in self.chosen) + rest

    def _all_letters(self) -> int:
        return len(self.letters) + sum(len(p) for _, p in self.chosen)

    # -- keys ------------------------------------------------------------------------------
    def type(self, key: str) -> bool:
        """Add one letter (or "'" to separate syllables). False when refused: not a letter, or too long."""
        key = key.lower()
        if len(key) != 1 or key not in LETTERS:
            return False
        if key == "'" and (not self.letters or self.letters.endswith("'")):
            return False
        if self._all_letters() >= self.max_letters:
            return False
        self.letters += key
        self._undo_choice = False
        return True

    def backspace(self) -> bool:
        """Take back the last choice if nothing was typed since, else the last letter. False if empty."""
        if self.chosen and (self._undo_choice or not self.letters):
            words, spelled = self.chosen.pop()
            self.letters = spelled + self.letters
            self._undo_choice = bool(self.chosen)
            return True
        if self.letters:
            self.letters = self.letters[:-1]
            if not self.letters and self.chosen:
                self._undo_choice = True
            return True
        return False

    def choose(self, index: int) -> str | None:
        """Take candidate `index`. Returns the finished text when no letters are left, else None."""
        cands = self.candidates
        if not 0 <= index < len(cands):
            return None
        cand = cands[index]
        consumed = max(1, cand.consumed)
        self.chosen.append((cand.text, self.letters[:consumed]))
        self.letters = self.letters[consumed:].lstrip("'")
        self._undo_choice = True
        if not self.letters:
            return self._finish("".join(w for w, _ in self.chosen))
        return None

    def commit_first(self) -> str:
        """Space: take the first candidate again and again until everything is converted."""
        for _ in range(self.max_letters + 1):
            if not self.letters:
                break
            done = self.choose(0)
            if done is not None:
                return done
        return self._finish("".join(w for w, _ in self.chosen) + self.letters.replace("'", ""))

    def commit_raw(self) -> str:
        """Enter: the chosen words and the remaining letters as typed (a Latin name, a street number)."""
        return self._finish("".join(w for w, _ in self.chosen) + self.letters.replace("'", ""))

    def punctuate(self, key: str, text_before: str = "", chinese: bool = True) -> str:
        """A digit or punctuation key: converts what is being spelled first, then the key's character
        (full-width Chinese punctuation in 中 mode). Returns the text to insert; "" for anything else."""
        if len(key) != 1 or not (key in DIGITS or is_punctuation(key)):
            return ""
        head = self.commit_first() if self.active else ""
        mark = to_chinese(key, text_before + head) if chinese and key not in DIGITS else key
        return head + mark

    def clear(self) -> None:
        self.letters = ""
        self.chosen = []
        self._undo_choice = False

    def _finish(self, text: str) -> str:
        self.clear()
        return text
