"""Line breaking for Chinese text (禁则, kinsoku): closing punctuation never begins a line.

Kivy wraps a run of Chinese characters wherever the line is full, so a "。" or "，" could end up alone at the
start of a line — hard to read, and on the elder-friendly large type it happens often. After Kivy laid a
label out, `kinsoku_text` finds each wrapped line that begins with such a character and moves the last character
of the line before it down too (a line break inserted in the text that is drawn; the label's own `text` stays as
it is).
"""
from __future__ import annotations

# GB/T 15834 closing marks and the like: they belong to the character before them
NO_LINE_START = frozenset("。，、．：；？！）」』】〕〉》”’…—～·,.:;?!)]}%‰℃")


def kinsoku_text(text: str, lines: list[tuple[str, bool]]) -> str | None:
    """`text` with a line break before the last character of each line that a closing mark would otherwise
    follow onto the next line; None when no line needs it. `lines`: each laid-out line's text and whether it
    continues the line before it (a wrap, not a line break of the text)."""
    breaks = []
    cursor = 0
    previous = None  # where the line before starts in `text`
    for line_text, wrapped in lines:
        if not line_text:
            continue
        at = text.find(line_text, cursor)
        if at < 0:  # the layout does not match the text (it never should): leave it as Kivy drew it
            return None
        if wrapped and previous is not None and line_text[0] in NO_LINE_START:
            before = at - 1
            while before > previous and text[before].isspace():
                before -= 1
            # the character carried down must not be the only one on its line
            if before > previous and not text[before].isspace():
                breaks.append(before)
        previous = at
        cursor = at + len(line_text)
    if not breaks:
        return None
    for at in reversed(breaks):
        text = text[:at] + "\n" + text[at:]
    return text
