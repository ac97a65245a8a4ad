"""Chinese (full-width) punctuation for the keyboard's 中 mode, and the keys of its symbol pages."""
from __future__ import annotations

# ASCII key → what a Chinese input method types for it (GB/T 15834-2011 标点符号用法 forms).
FULL_WIDTH = {
    ",": "，", ".": "。", "?": "？", "!": "！", ":": "：", ";": "；", "(": "（", ")": "）", "<": "《", ">": "》",
    "[": "【", "]": "】", "\\": "、", "^": "……", "_": "——", "~": "～", "$": "￥", "%": "％", "@": "＠",
    "#": "＃", "&": "＆", "*": "＊", "+": "＋", "=": "＝", "/": "／", "-": "－", "|": "｜",
}
PAIRED = {'"': ("“", "”"), "'": ("‘", "’")}

# The punctuation page in 中 mode, most used first (address and name fields need 、 · — （ ） and 号/室 digits).
CHINESE_PAGE = ("，", "。", "、", "？", "！", "：", "；", "“", "”", "（", "）", "《", "》", "·", "——", "……", "－",
                "＃", "／", "％", "【", "】", "～", "￥")
ENGLISH_PAGE = (",", ".", "?", "!", ":", ";", "\"", "'", "(", ")", "-", "_", "/", "@", "#", "&", "*", "+", "=",
                "%", "<", ">", "[", "]")
DIGITS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0")


def to_chinese(key: str, text_before: str = "") -> str:
    """The Chinese form of an ASCII punctuation key; quotes open or close depending on what is already typed."""
    if key in PAIRED:
        opening, closing = PAIRED[key]
        return closing if text_before.count(opening) > text_before.count(closing) else opening
    return FULL_WIDTH.get(key, key)


def is_punctuation(ch: str) -> bool:
    return len(ch) == 1 and (ch in FULL_WIDTH or ch in PAIRED or ch in CHINESE_PAGE or ch in ENGLISH_PAGE)
