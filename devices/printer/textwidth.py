"""Display width of receipt text and line wrapping by width (CJK counts double).

On a thermal printer in Kanji mode every double-byte (GB18030/GBK) character is printed in a full-width cell
(24 dots on a 12×24 font), including full-width punctuation and East-Asian "ambiguous" characters such as
`…` and `·`; single-byte ASCII takes one half-width cell. So the printed width is: printable ASCII = 1,
everything else = 2. This matches `unicodedata.east_asian_width` for W/F characters and is stricter
(and right for the printer) for ambiguous ones.
"""
from __future__ import annotations

import unicodedata

ELLIPSIS = "…"


def char_width(ch: str) -> int:
    o = ord(ch)
    if 0x20 <= o < 0x7F:
        return 1
    if unicodedata.combining(ch):
        return 0
    return 2


def display_width(text: str) -> int:
    return sum(char_width(c) for c in text)


def truncate(text: str, columns: int, ellipsis: str = ELLIPSIS) -> str:
    """`text` cut so that it fits `columns`, ending with `ellipsis` when something was cut."""
    if display_width(text) <= columns:
        return text
    room = columns - display_width(ellipsis)
    out, used = [], 0
    for c in text:
        w = char_width(c)
        if used + w > room:
            break
        out.append(c)
        used += w
    return "".join(out) + ellipsis


def wrap(text: str, columns: int, indent: int = 0) -> list[str]:
    """Break `text` into lines of at most `columns` display columns.

    ASCII words are kept whole when they fit on a line; CJK text breaks between any two characters.
    Continuation lines start with `indent` spaces (a hanging indent under a label).
    """
    if columns < 2:
        raise ValueError("columns must be at least 2")
    indent = min(indent, columns // 2)
    lines: list[str] = []
    line, used = "", 0
    limit = columns
    i = 0
    n = len(text)
    breaking_until = 0  # inside a word longer than a line, which is broken by characters
    while i < n:
        c = text[i]
        if i >= breaking_until and c.isascii() and c.isalnum():
            j = i
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] in "-_./:?=&%#@+~"):
                j += 1
            word = text[i:j]
            ww = len(word)
            if used + ww <= limit:
                line += word
                used += ww
                i = j
                continue
            if ww <= columns - indent and used > (indent if lines else 0):
                lines.append(line.rstrip())
                line, used, limit = " " * indent, indent, columns
                continue
            if ww > columns - indent:
                breaking_until = j  # longer than a line: break it by characters
                continue
        w = char_width(c)
        if used + w > limit:
            lines.append(line.rstrip())
            line, used, limit = " " * indent, indent, columns
            if c == " ":
                i += 1
                continue
        line += c
        used += w
        i += 1
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines
