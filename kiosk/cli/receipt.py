"""`kiosk receipt render`: ESC/POS bytes of a receipt from a JSON data file, and its PNG preview.
`kiosk receipt reprint`: a clerk prints a case's receipt again from the hub's copy (or this machine's outbox)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import click

from devices.files import atomic_write
from kiosk.cli.common import config_option, echo_json, load
from kiosk.errors import InvalidInput, KioskError, Unavailable

log = logging.getLogger("kiosk.cli.receipt")

_CLERK_TOKEN = "set hub.token in the config to a clerk token: `kiosk hub token create --role clerk --name NAME`"


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


def _local_copy(data_dir: str, receipt_no: str) -> bytes | None:
    """The copy in this machine's outbox, if it still has one (never creates an outbox where there is none)."""
    from kiosk.sync.outbox import Outbox

    if not (Path(data_dir) / "outbox" / "outbox.db").is_file():
        return None
    return Outbox(data_dir).receipt(receipt_no)


def fetch_copy(cfg, receipt_no: str) -> tuple[str, bytes]:
    """`("hub"|"outbox", escpos)`: the hub's copy, or the local outbox copy when the hub is unreachable or does
    not have it yet. Raises with what to do when neither exists or the token may not fetch receipts."""
    from kiosk.sync.client import HubClient, HubRejected

    client = HubClient.from_config(cfg)
    try:
        return "hub", client.get_receipt(receipt_no)
    except Unavailable as exc:
        local = _local_copy(cfg.data_dir, receipt_no)
        if local is None:
            raise Unavailable(f"{exc.message}, and this machine has no copy of receipt {receipt_no}",
                              "check the network and that the hub is running, then try again") from None
        log.warning("hub unreachable; reprinting this machine's own copy", extra={"receipt_no": receipt_no})
        return "outbox", local
    except HubRejected as exc:
        if exc.status == 401:
            raise KioskError("the hub refused hub.token (unknown or revoked)", _CLERK_TOKEN) from None
        if exc.status == 403:
            raise KioskError("hub.token is not a clerk's token: only clerks and supervisors may fetch receipt copies",
                             _CLERK_TOKEN) from None
        if exc.status == 404:
            local = _local_copy(cfg.data_dir, receipt_no)
            if local is not None:
                return "outbox", local
            raise InvalidInput(f"the hub has no receipt copy for {receipt_no}",
                               "check the receipt number; a kiosk sends its copy shortly after the case itself,"
                               " so a case still waiting in a kiosk's outbox has none yet") from None
        raise
    finally:
        client.close()


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

    @receipt.command("reprint")
    @click.argument("receipt_no")
    @click.option("--device", default=None, help="Printer URI (default: [devices.printer] uri in the config).")
    @config_option
    def reprint(receipt_no: str, device: str | None, config_path: str | None) -> None:
        """Print RECEIPT_NO's receipt again (clerks: hub.token must be a clerk token).

        The copy comes from the hub; when the hub is unreachable, from this machine's outbox."""
        from devices.printer.printer import open_printer
        from kiosk.hub.schemas import RECEIPT_NO

        if not RECEIPT_NO.match(receipt_no):
            raise click.BadParameter("a receipt number reads <device id>-<yyyymmdd>-<sequence>, e.g."
                                     " K0001-20261122-0001", param_hint="RECEIPT_NO")
        cfg = load(config_path)
        uri = device or cfg.devices.printer.uri
        with open_printer(uri) as printer:  # an absent printer fails here, before the hub records a fetch
            source, escpos = fetch_copy(cfg, receipt_no)
            printer.print_bytes(escpos)
            st = printer.status()
        echo_json({"receipt_no": receipt_no, "source": source, "bytes": len(escpos),
                   "sha256": hashlib.sha256(escpos).hexdigest(), "device": uri, "printed": True,
                   "paper": st["paper"]})
