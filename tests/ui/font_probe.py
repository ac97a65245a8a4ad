"""Render probe strings with Kivy (offscreen) and print pixel statistics as JSON: used by test_font_rendering."""
import json
import os
import sys
import tempfile

os.environ["SDL_VIDEODRIVER"] = "offscreen"
os.environ.pop("DISPLAY", None)

from kiosk.fonts import ensure_screen_fonts, ensure_ui_fonts  # noqa: E402
from screens.kivy_setup import configure  # noqa: E402

data_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
fonts = ensure_screen_fonts(data_dir)  # what the screens draw with
plain = ensure_ui_fonts(data_dir)  # the extracted faces with their subroutines
configure(False, 400, 300, headless=True)

from fontTools.ttLib import TTCollection  # noqa: E402
import kivy  # noqa: E402
from kivy.base import EventLoop  # noqa: E402
from kivy.core.text import DEFAULT_FONT, LabelBase  # noqa: E402
from kivy.core.text import Label as CoreLabel  # noqa: E402

EventLoop.ensure_window()
LabelBase.register(DEFAULT_FONT, fn_regular=str(fonts.regular), fn_bold=str(fonts.bold))

# What Kivy would draw with Debian's collection as it is: face 0, the Japanese one.
jp_path = os.path.join(data_dir, "face0.otf")
TTCollection("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", lazy=True).fonts[0].save(jp_path)

PROBE = "直骨角写"


def render(text, font_size=64, **kw):
    label = CoreLabel(text=text, font_size=font_size, **kw)
    label.refresh()
    tex = label.texture
    pixels = tex.pixels
    alpha = pixels[3::4]
    return {"size": list(tex.size), "ink": sum(1 for a in alpha if a > 128), "digest": hash(bytes(alpha))}


result = {
    "sc_regular": render(PROBE),
    "sc_bold": render(PROBE, bold=True),
    "jp_regular": render(PROBE, font_name=jp_path),
    # What Kivy's own default font file draws for Chinese: tofu boxes.
    "tofu_probe": render("\u4e00\u4e01", font_name=os.path.join(kivy.kivy_data_dir, "fonts", "Roboto-Regular.ttf")),
    "sc_two": render("\u4e00\u4e01"),
    "screen_files": [os.path.basename(str(fonts.regular)), os.path.basename(str(fonts.bold))],
}
# The screens' copy without subroutines draws the very pixels of the extracted faces, at the sizes the type scale
# uses, with Latin, digits and punctuation too.
SAMPLE = "请将身份证放在感应区 政务服务 123-4567 ABC，。（代办）"
result["same_pixels"] = all(
    render(SAMPLE, font_size=size, bold=bold)["digest"] == render(
        SAMPLE, font_size=size, font_name=str(plain.bold if bold else plain.regular))["digest"]
    for size in (14, 20, 32, 56) for bold in (False, True))
print("RESULT " + json.dumps(result))
