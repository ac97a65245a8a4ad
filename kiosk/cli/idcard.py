"""`kiosk idcard read | decode | simulate`: the ID-card reader from the command line (issue 3).

Output is masked by kiosk.privacy.masking unless --unmasked; devices/ never masks.
"""
from __future__ import annotations

import json
import signal
import sys
import click

from kiosk.cli.common import config_option, echo_json, load

BAUD_CHOICES = ["auto", "115200", "57600", "38400", "19200", "9600"]


def reserved_ports(cfg) -> list[str]:
    """Ports configured for other devices: the ID-card reader never opens them (a serial printer, for one)."""
    from devices.idcard.ports import serial_path_of

    path = serial_path_of(cfg.devices.printer.uri)
    return [path] if path else []


def masked(doc: dict, unmasked: bool) -> dict:
    if unmasked:
        return doc
    from kiosk.privacy.masking import mask_value

    return {key: mask_value(key, value) for key, value in doc.items()}


def _print_card(doc: dict, as_json: bool) -> None:
    if as_json:
        echo_json(doc)
        return
    width = max(len(k) for k in doc)
    for key, value in doc.items():
        click.echo(f"{key.ljust(width)}  {'' if value is None else value}")


def _load_card_file(path: str) -> dict:
    from kiosk.errors import InvalidInput

    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise InvalidInput(f"card file {path} does not exist", "give the path of a card JSON file (see devices/idcard/samples/)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"card file {path} is not a JSON file: {exc}", "give a card JSON file like devices/idcard/samples/resident.json") from None


def register(cli: click.Group) -> None:
    @cli.group("idcard")
    def idcard() -> None:
        """The resident ID-card reader (GA 467): read, decode a reply frame, simulate a reader."""

    @idcard.command("read")
    @click.option("--port", default="auto", show_default=True,
                  help="Serial port, or auto: the configured port, else /dev/idcard, /dev/serial/by-id, ttyUSB, ttyACM.")
    @click.option("--baud", type=click.Choice(BAUD_CHOICES), default=None, help="Line rate (default: the config, normally auto).")
    @click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 600), help="Seconds to wait for a card.")
    @click.option("--fingerprint", is_flag=True, help="Also read the fingerprint templates (30 10); biometrics: only when needed.")
    @click.option("--json", "as_json", is_flag=True, help="Print the card as one JSON document.")
    @click.option("--unmasked", is_flag=True, help="Print names, numbers and addresses in full.")
    @config_option
    def read(port: str, baud: str | None, timeout: float, fingerprint: bool, as_json: bool, unmasked: bool,
             config_path: str | None) -> None:
        """Wait for a card and read it: text and photo (30 01), latest address (30 03)."""
        from devices.idcard.reader import read_card

        cfg = load(config_path)
        section = cfg.devices.idcard
        if port == "auto" and section.port and section.port != "auto":
            port = section.port
        card = read_card(port, baud or section.baud, timeout=timeout, fingerprint=fingerprint,
                         exclude_ports=reserved_ports(cfg))
        _print_card(masked(card.to_dict(), unmasked), as_json)

    @idcard.command("decode")
    @click.option("--hex", "hex_text", required=True, help="A 30 01 or 30 10 reply frame as hex (spaces allowed; - reads stdin).")
    @click.option("--json", "as_json", is_flag=True, help="Print the card as one JSON document.")
    @click.option("--unmasked", is_flag=True, help="Print names, numbers and addresses in full.")
    def decode(hex_text: str, as_json: bool, unmasked: bool) -> None:
        """Decode one reader reply frame; a frame that is not a valid card reply exits 5 with the reason."""
        from devices.idcard.card import decode_read_reply
        from devices.idcard.frames import parse_hex

        if hex_text == "-":
            hex_text = sys.stdin.read()
        card = decode_read_reply(parse_hex(hex_text))
        _print_card(masked(card.to_dict(), unmasked), as_json)

    @idcard.command("simulate")
    @click.option("--card", "card_file", default=None, type=click.Path(dir_okay=False), help="Card JSON placed at start.")
    @click.option("--faults", default="", help="Comma-separated: bad_checksum, drop_bytes, no_answer, removed_mid_read, "
                                               "wrong_baud[:N]; name:K repeats K times, name:always every time.")
    @click.option("--module", type=click.Choice(["continuous", "single"]), default="continuous", show_default=True,
                  help="continuous: find keeps answering while the card stays (连读); single: only after re-placing.")
    @click.option("--card-ms", default=None, type=click.FloatRange(0, 10000), help="Card time of a read in ms (default 400; 0 for benchmarks).")
    @click.option("--baud", type=click.Choice(BAUD_CHOICES[1:]), default="115200", show_default=True, help="The reader's line rate.")
    @click.option("--link", "link_path", default=None, help="Path of the stable symlink (default: a new temporary directory).")
    def simulate(card_file: str | None, faults: str, module: str, card_ms: float | None, baud: str, link_path: str | None) -> None:
        """A virtual reader on a pseudo-terminal. Prints {"port": PATH}, then reads commands on stdin:
        place FILE, remove, unplug, replug. Ends on end of input or SIGTERM."""
        from devices.idcard.simulator import SimulatedReader
        from kiosk.errors import InvalidInput

        card = _load_card_file(card_file) if card_file else None
        try:
            sim = SimulatedReader(card=card, module=module, faults=[f for f in faults.split(",") if f.strip()],
                                  card_ms=card_ms, link_path=link_path, baud=int(baud))
        except ValueError as exc:
            raise InvalidInput(str(exc), "see kiosk idcard simulate --help for the fault names") from None

        class _Terminate(Exception):
            pass

        def on_term(signum, frame):
            raise _Terminate()

        previous = signal.signal(signal.SIGTERM, on_term)
        try:
            port = sim.start()
            echo_json({"port": port})
            sys.stdout.flush()
            for line in sys.stdin:
                _simulator_command(sim, line.strip())
        except (_Terminate, KeyboardInterrupt):
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            sim.stop()


def _simulator_command(sim, line: str) -> None:
    from devices.errors import DeviceError
    from kiosk.errors import KioskError

    if not line or line.startswith("#"):
        return
    word, _, arg = line.partition(" ")
    try:
        if word == "place" and arg.strip():
            sim.place(_load_card_file(arg.strip()))
        elif word == "remove":
            sim.remove()
        elif word == "unplug":
            sim.unplug()
        elif word == "replug":
            sim.replug()
        else:
            click.echo(f"error: unknown command {line!r}", err=True)
            click.echo("what to do: use place FILE, remove, unplug or replug", err=True)
            return
    except (DeviceError, KioskError) as exc:
        click.echo(f"error: {exc.message}", err=True)
        if exc.action:
            click.echo(f"what to do: {exc.action}", err=True)
        return
    click.echo(f"simulator: {word} done", err=True)
