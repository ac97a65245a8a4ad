"""Start the kiosk app as `kiosk run` does (default configuration, no devices, data in argv[1]) and print (as JSON)
every text layout Kivy made up to home's first frame, with the width each text was wrapped to: used by
test_first_frame."""
import json
import os
import sys
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "offscreen"
os.environ.pop("DISPLAY", None)
os.environ["KIOSK_KIOSK_DATA_DIR"] = sys.argv[1]
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kiosk.config import load_config  # noqa: E402
from kiosk.fonts import ensure_screen_fonts  # noqa: E402
from screens.kivy_setup import configure  # noqa: E402

cfg = load_config(None)
fonts = ensure_screen_fonts(cfg.kiosk.data_dir)
configure(fullscreen=False, width=1280, height=800, headless=True)

import kivy.core.text as core_text  # noqa: E402
from kivy.base import EventLoop, runTouchApp  # noqa: E402

from kiosk.terminal import Terminal  # noqa: E402
from screens.app import KioskApp  # noqa: E402

layouts = []
layout_text = core_text.layout_text


def counted(text, lines, size, text_size, options, get_extents, *args):
    measured = [0]

    def extents(t):
        measured[0] += 1
        return get_extents(t)

    result = layout_text(text, lines, size, text_size, options, extents, *args)
    layouts.append({"text": text, "width": text_size[0], "measured": measured[0]})
    return result


core_text.layout_text = counted  # the module's name, looked up by every core label's render
app = KioskApp(cfg, Terminal(cfg), fonts)
app._run_prepare()
runTouchApp(embedded=True)
EventLoop.idle()
first = list(layouts)
shown = {w.text: round(w.text_size[0]) for w in app.root.walk() if getattr(w, "text", "") and
         getattr(w, "text_size", (None,))[0] is not None}
app.stop()
print("RESULT " + json.dumps({"layouts": first, "shown": shown}, ensure_ascii=False))
