"""Draw one of 好差评's faces and a plain `Line` circle of the same size, with the kiosk's Kivy configuration, and
print (as JSON) the window's GL samples and how many pixels of each outline are blends of line and background:
used by test_antialiasing."""
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "offscreen"
os.environ.pop("DISPLAY", None)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from screens.kivy_setup import configure  # noqa: E402

configure(False, 400, 200, headless=True)

from kivy.base import EventLoop  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.graphics import Color, Line  # noqa: E402
from kivy.graphics.opengl import GL_SAMPLES, glGetIntegerv  # noqa: E402
from kivy.uix.widget import Widget  # noqa: E402
from PIL import Image  # noqa: E402

from screens.faces import Face  # noqa: E402

EventLoop.ensure_window()
Window.clearcolor = (1, 1, 1, 1)
root = Widget(size=(400, 200))
face = Face(level=3)
face.pos, face.size = (0, 0), (200, 200)  # drawn when its place is set, as in a layout
plain = Widget(pos=(200, 0), size=(200, 200))
with plain.canvas:
    Color(0.75, 0.55, 0.05, 1)  # the colour of face 3
    Line(circle=(300, 100, 90), width=2)
root.add_widget(face)
root.add_widget(plain)
Window.add_widget(root)
for _ in range(5):
    EventLoop.idle()
shot = Path(Window.screenshot(name=str(Path(tempfile.mkdtemp()) / "aa.png")))
img = Image.open(shot).convert("RGB")
w, h = img.size


def blends(x0: int, x1: int) -> int:
    """Pixels of the half [x0, x1) neither background (white) nor the line's full colour: the edges' blends."""
    line = (round(0.75 * 255), round(0.55 * 255), round(0.05 * 255))
    n = 0
    for y in range(h):
        for x in range(x0, x1):
            p = img.getpixel((x, y))
            if p != (255, 255, 255) and max(abs(a - b) for a, b in zip(p, line)) > 8:
                n += 1
    return n


print("RESULT " + json.dumps({"samples": glGetIntegerv(GL_SAMPLES)[0], "face_blends": blends(0, w // 2),
                              "plain_blends": blends(w // 2, w), "size": [w, h]}))
