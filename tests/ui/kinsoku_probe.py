"""Lay out a Chinese sentence at every width where Kivy's own wrap leaves its "。" alone at a line's start, with
the screens' KLabel: print what each line begins with, as JSON (used by test_font_rendering)."""
import json
import os
import sys
import tempfile

os.environ["SDL_VIDEODRIVER"] = "offscreen"
os.environ.pop("DISPLAY", None)

from kiosk.fonts import ensure_screen_fonts  # noqa: E402
from screens.kivy_setup import configure  # noqa: E402

fonts = ensure_screen_fonts(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
configure(False, 800, 600, headless=True)

from kivy.app import App  # noqa: E402
from kivy.base import EventLoop  # noqa: E402
from kivy.core.text import DEFAULT_FONT, LabelBase  # noqa: E402
from kivy.properties import NumericProperty  # noqa: E402
from kivy.uix.label import Label  # noqa: E402

EventLoop.ensure_window()
LabelBase.register(DEFAULT_FONT, fn_regular=str(fonts.regular), fn_bold=str(fonts.bold))


class Probe(App):
    scale = NumericProperty(1.0)  # what the screens' rules read (app.scale)


App._running_app = Probe()
from screens.widgets import KLabel  # noqa: E402  (its rule reads app.scale)

TEXT = "待上传：您的代办申请已保存在本机，编号见上方；中心服务器可以连接时会自动上传，无需再次办理。"


def lines_of(label):
    label.texture_update()
    return [("".join(w.text for w in line.words), bool(line.line_wrap)) for line in label._label._cached_lines]


result = {"widths": [], "klabel_starts": [], "klabel_text_kept": True, "klabel_chars": [], "length": len(TEXT)}
for width in range(200, 700, 3):
    plain = Label(text=TEXT, font_size=26, text_size=(width, None))
    lines = lines_of(plain)
    if not any(wrapped and text.startswith(("。", "，", "；", "：")) for text, wrapped in lines):
        continue
    result["widths"].append(width)
    label = KLabel(text=TEXT, width=width, font_size=26)
    label.text_size = (width, None)
    drawn = lines_of(label)  # the last layout the texture was drawn from
    result["klabel_starts"].append([text[:1] for text, _ in drawn])
    result["klabel_text_kept"] &= label.text == TEXT
    result["klabel_chars"].append(sum(len(text) for text, _ in drawn))
    result["klabel_widest"] = max(result.get("klabel_widest", 0), label.texture_size[0] - width)
print("RESULT " + json.dumps(result, ensure_ascii=False))
