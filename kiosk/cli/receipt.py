"""`kiosk receipt render`: ESC/POS bytes of a receipt from a JSON data file, and its PNG preview."""
from __future__ import annotations

import json
import os

import click

from devices.files import atomic_write
from kiosk.cli.common import config_option, echo_json, load
from kiosk.errors import InvalidInput


def _read_data(path: str | None) -> dict | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise InvalidInput(f"data file {path} does not exist", "pass the path of a JSON file with the receipt's keys") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read data file {path}: {exc.strerror}", "check the path and its permissions") from None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"data file {path} is not valid UTF-8 JSON: {exc}", "fix the JSON (one object with the receipt's keys)") from None


def write_atomic(path: str, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same directory: never a half-written file."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InvalidInput(f"output directory {directory} does not exist", "create it or choose another output path")
    atomic_write(path, data)


def register(cli: click.Group) -> None:
    from kiosk.receipt import KINDS

    @cli.group("receipt")
    def receipt() -> None:
        """Receipts: render ESC/POS bytes and previews."""

    @receipt.command("render")
    @click.option("--kind", required=True, type=click.Choice(KINDS), help="Which receipt.")
    @click.option("--data", "data_path", type=click.Path(dir_okay=False), default=None, help="JSON file with the receipt's keys.")
    @click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Where to write the ESC/POS bytes.")
    @click.option("--png", "png_path", type=click.Path(dir_okay=False), default=None, help="Also write a PNG preview here.")
    @click.option("--paper", type=click.Choice(["58", "80"]), default="80", show_default=True, help="Paper width in mm.")
    @config_option
    def render(kind: str, data_path: str | None, out_path: str, png_path: str | None, paper: str, config_path: str | None) -> None:
        """Render a receipt to ESC/POS bytes (and a preview PNG). Exit 5 names a missing or bad key."""
        from kiosk.receipt import preview_png, render_receipt

        cfg = load(config_path)
        data = _read_data(data_path)
        if data is None and kind != "test":
            data = {}
        printer = cfg.devices.printer
        escpos = render_receipt(kind, data, paper=int(paper), charset=printer.charset, qr=printer.qr, hotline=cfg.kiosk.hotline)
        write_atomic(out_path, escpos)
        if png_path:
            preview_png(escpos, png_path, paper=int(paper))
        echo_json({"kind": kind, "out": out_path, "bytes": len(escpos), "png": png_path, "paper": int(paper)})
