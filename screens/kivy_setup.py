"""Kivy configuration that must be set before the window exists (kiosk rules: kivy-kiosk-notes §5.1)."""
from __future__ import annotations

import os


def configure(fullscreen: bool, width: int, height: int, show_cursor: bool = False, headless: bool = False) -> None:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONFIG", "1")  # a stray ~/.kivy/config.ini must not change the kiosk
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # Kivy's log goes through our redacting handler
    os.environ.setdefault("KIVY_CLIPBOARD", "dummy")
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        os.environ.pop("DISPLAY", None)
        fullscreen = False
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")  # no VKeyboard: we draw our own keypads
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "borderless", "1" if fullscreen else "0")
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "show_cursor", "1" if show_cursor else "0")
    Config.set("graphics", "allow_screensaver", "0")
    Config.set("graphics", "maxfps", "30")
    # No multisampling: Kivy asks for 2 samples, Mesa's software GL gives 4, and the window's colour and depth
    # buffers at 4 samples a pixel cost 33 MB at 1280×800 (and every frame a resolve). The few curved drawings
    # (好差评's faces, the card picture, a signature's strokes) use Kivy's Smooth* instructions, which antialias
    # themselves.
    Config.set("graphics", "multisamples", "0")
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    # Exactly one pointer source and no red-dot multitouch emulation: one finger, one tap.
    for key, _ in list(Config.items("input")):
        Config.remove_option("input", key)
    Config.set("input", "mouse", "mouse,disable_multitouch,disable_on_activity")
    Config.set("postproc", "double_tap_time", "250")
    Config.set("postproc", "jitter_distance", "0")
