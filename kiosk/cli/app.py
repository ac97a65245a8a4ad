"""`kiosk run`, `kiosk tour` and `kiosk demo`: the commands that start the touchscreen app.

`screens` (and so Kivy) is imported only inside these commands.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import click

from kiosk.cli.common import config_option, echo_json, fail, load

log = logging.getLogger("kiosk.cli.app")


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or os.environ.get("SDL_VIDEODRIVER") in {"kmsdrm", "x11", "wayland"}


@click.command("run")
@click.option("--role", type=click.Choice(["citizen", "counter"]), default=None, help="Overrides kiosk.role from the config.")
@config_option
def run_cmd(role: str | None, config_path: str | None) -> None:
    """Start the touchscreen app (kiosk or counter)."""
    from kiosk import memory

    memory.limit_heap()  # before any thread starts: glibc takes the arena limit only then (kiosk.memory)
    from kiosk.fonts import ensure_screen_fonts

    cfg = load(config_path)
    if role:
        cfg.kiosk.role = role
    if not _has_display() and os.environ.get("SDL_VIDEODRIVER") != "offscreen":
        fail("no display to draw on (no $DISPLAY, $WAYLAND_DISPLAY or SDL_VIDEODRIVER=kmsdrm)",
             "on the kiosk console start it from the systemd unit (SDL_VIDEODRIVER=kmsdrm); "
             "without a screen use `kiosk tour --out DIR` to see every screen", 3)
    fonts = ensure_screen_fonts(cfg.kiosk.data_dir)
    from screens.kivy_setup import configure

    configure(cfg.display.fullscreen, *cfg.display.window_size(), cfg.display.show_cursor)
    from kiosk.terminal import Terminal
    from screens.app import KioskApp

    KioskApp(cfg, Terminal(cfg), fonts).run()


@click.command("tour")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for one PNG per screen.")
@click.option("--role", type=click.Choice(["citizen", "counter"]), default="citizen")
@click.option("--elder", is_flag=True, help="Elder mode (长辈模式): larger text and targets.")
@click.option("--lang", "language", type=click.Choice(["zh_CN", "en"]), default="zh_CN")
@click.option("--orientation", type=click.Choice(["landscape", "portrait"]), default="landscape",
              help="landscape 1280×800 or portrait 1080×1920 (display.orientation).")
@click.option("--json", "as_json", is_flag=True, help="Print the written files as JSON.")
def tour_cmd(out_dir: str, role: str, elder: bool, language: str, orientation: str, as_json: bool) -> None:
    """Drive the real app offscreen through every screen and write one PNG per screen."""
    from screens.tour import run_tour

    with tempfile.TemporaryDirectory(prefix="kiosk-tour-") as work:
        result = run_tour(out_dir, work, role=role, elder=elder, language=language, orientation=orientation)
    if as_json:
        echo_json(result)
    else:
        for path in result["screens"]:
            click.echo(path)


@click.command("demo")
@click.option("--out", "out_dir", default="kiosk-tour", show_default=True, type=click.Path(file_okay=False),
              help="Where the headless tour writes its screenshots.")
@click.option("--headless", is_flag=True, help="Run the scripted tour even when a display is available.")
def demo_cmd(out_dir: str, headless: bool) -> None:
    """Hub + platform simulator + kiosk on simulated devices, in one command."""
    from kiosk.demo import DemoStack

    if headless or not _has_display():
        from screens.tour import run_tour

        click.echo("No display found: running the scripted tour offscreen instead of opening a window.", err=True)
        with tempfile.TemporaryDirectory(prefix="kiosk-demo-") as work:
            result = run_tour(out_dir, work)
        out = Path(out_dir).resolve()
        click.echo(f"Screens: {out}/*.png ({len(result['screens'])} files)")
        if result.get("receipt_preview"):
            click.echo(f"Receipt preview: {Path(result['receipt_preview']).resolve()}")
        return

    from screens.tour import make_app

    with tempfile.TemporaryDirectory(prefix="kiosk-demo-") as work:
        with DemoStack(work) as stack:
            cfg = stack.kiosk_config()
            click.echo(json.dumps({"hub": stack.hub_url, "platform": stack.platform_url, "idcard": stack.reader.port,
                                   "printer": stack.printer.device}), err=True)
            click.echo("The simulated reader places a sample card a moment after the login screen opens, and "
                       "takes it away on the closing screen.", err=True)
            app = make_app(cfg, headless=False)
            app.bind(on_start=lambda *_: _demo_card_hand(app, stack))
            try:
                app.run()
            except KeyboardInterrupt:
                pass


def _demo_card_hand(app, stack) -> None:
    """In the windowed demo, play the citizen's hand: place the sample card, take it back at the end."""
    from kivy.clock import Clock

    from kiosk.demo import sample_card

    def on_screen(_sm, name):
        if name == "id_login":
            Clock.schedule_once(lambda dt: stack.reader.place(sample_card("resident")), 2.0)
        elif name == "done":
            Clock.schedule_once(lambda dt: stack.reader.remove(), 3.0)

    app.sm.bind(current=on_screen)


def register(cli: click.Group) -> None:
    cli.add_command(run_cmd)
    cli.add_command(tour_cmd)
    cli.add_command(demo_cmd)
