"""`kiosk printer status | test-page | simulate`: the receipt printer from the command line."""
from __future__ import annotations

import signal
import sys
import threading

import click

from kiosk.cli.common import config_option, echo_json, load


def _device(device: str | None, config_path: str | None) -> tuple[str, object]:
    cfg = load(config_path)
    return device or cfg.devices.printer.uri, cfg


def register(cli: click.Group) -> None:
    from devices.printer.engine import STATES

    @cli.group("printer")
    def printer() -> None:
        """The receipt printer: status, test page, simulator."""

    @printer.command("status")
    @click.option("--device", default=None, help="Device URI (default: [devices.printer] uri in the config).")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
    @click.option("--timeout", default=1.0, show_default=True, type=click.FloatRange(0.05, 30), help="Seconds to wait for each status reply.")
    @config_option
    def status(device: str | None, as_json: bool, timeout: float, config_path: str | None) -> None:
        """Printer state: online, paper, cover, cutter. A printer that does not answer is exit 0 with "online": false."""
        from devices.printer.printer import open_printer

        uri, _ = _device(device, config_path)
        with open_printer(uri) as p:
            st = p.status(timeout=timeout)
        if as_json:
            echo_json(st)
            return
        click.echo(f"printer {uri}: {st['status']}, paper {st['paper']}")
        for e in st["errors"]:
            click.echo(f"  {e['message']} — {e['action']}")

    @printer.command("test-page")
    @click.option("--device", default=None, help="Device URI (default: [devices.printer] uri in the config).")
    @click.option("--paper", type=click.Choice(["58", "80"]), default=None, help="Paper width (default: the config).")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
    @config_option
    def test_page(device: str | None, paper: str | None, as_json: bool, config_path: str | None) -> None:
        """Print the installer's test page (character coverage, QR code, cut) after checking the printer is ready."""
        from devices.printer.printer import open_printer
        from kiosk.receipt import render_receipt

        uri, cfg = _device(device, config_path)
        pc = cfg.devices.printer
        width = int(paper) if paper else pc.paper
        escpos = render_receipt("test", {}, paper=width, charset=pc.charset, qr=pc.qr, hotline=cfg.kiosk.hotline)
        with open_printer(uri) as p:
            p.print_bytes(escpos)
            st = p.status()
        doc = {"printed": True, "bytes": len(escpos), "paper": st["paper"], "status": st["status"]}
        if as_json:
            echo_json(doc)
        else:
            click.echo(f"test page sent to {uri} ({len(escpos)} bytes); paper {st['paper']}")
            if st["paper"] == "unknown":
                click.echo("this connection cannot confirm printing: check that the page came out")

    @printer.command("simulate")
    @click.option("--port", default=0, type=click.IntRange(0, 65535), help="TCP port (0: any free port).")
    @click.option("--state", default="ok", type=click.Choice(STATES), show_default=True, help="Initial state.")
    @click.option("--save", default=None, type=click.Path(dir_okay=False), help="Append everything printed to this file.")
    @click.option("--paper-out-after", default=None, type=click.IntRange(0), help="Fault: the roll ends after this many printed bytes.")
    def simulate(port: int, state: str, save: str | None, paper_out_after: int | None) -> None:
        """A simulated printer on 127.0.0.1. Prints {"device": "tcp://127.0.0.1:P"}, then reads `state NAME` / `quit` on stdin."""
        from devices.printer.simulator import SimulatedPrinter

        sim = SimulatedPrinter(port=port, state=state, save=save, paper_out_after=paper_out_after)
        try:
            device = sim.start()
        except OSError as exc:
            from devices.errors import DeviceAbsent

            raise DeviceAbsent("port_in_use", f"cannot listen on 127.0.0.1:{port}: {exc.strerror}", "choose another --port") from None
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        echo_json({"device": device})
        sys.stdout.flush()

        def commands() -> None:
            for line in sys.stdin:
                words = line.split()
                if not words:
                    continue
                if words[0] in ("quit", "exit"):
                    break
                name = words[-1]
                if name in STATES and (len(words) == 1 or words[0] == "state"):
                    sim.set_state(name)
                    echo_json({"state": name})
                else:
                    click.echo(f"unknown command {line.strip()!r}: use `state {'|'.join(STATES)}` or `quit`", err=True)
                sys.stdout.flush()
            else:
                return  # stdin closed: keep running until a signal
            done.set()

        threading.Thread(target=commands, name="printer-sim-stdin", daemon=True).start()
        try:
            while not done.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()
