"""`kiosk setup`: the installer's configuration wizard — find the devices, propose them, ask for the outlet, the
hub URL and the device token, test everything with the diag checks, and write the config file atomically.

Exit status after writing: that of `kiosk diag` for the new config (0 ok, 6 warnings, 7 a check failed).
"""
from __future__ import annotations

import contextlib
import sys
import time
import tempfile
from pathlib import Path

import click

from kiosk.cli.common import echo_json, fail

DEFAULT_TARGET = Path("/etc/govkiosk/kiosk.toml")


@contextlib.contextmanager
def _site(simulated: bool, faults, device_id: str):
    if not simulated:
        yield None
        return
    from kiosk.diag.simulated import SimulatedSite

    with tempfile.TemporaryDirectory(prefix="kiosk-setup-") as work:
        with SimulatedSite(work, faults, device_id=device_id) as site:
            yield site


def _space(site, printer_hosts):
    from kiosk.setup_wizard import SearchSpace

    if site is None:
        return SearchSpace(printer_hosts=list(printer_hosts))
    host = site.printer_uri[len("tcp://"):]
    return SearchSpace(reader_globs=[site.reader.port], serial_globs=[], lp_globs=[], usb=False,
                       printer_hosts=[host, *printer_hosts], camera_sources=[site.camera_target])


def _show(found, _) -> None:
    click.echo(_("ID-card readers:"))
    for r in found.readers or [None]:
        click.echo(f"  {r['port']}  {r['baud']} baud  SAM {r['sam_id']}" if r else "  " + _("(none found)"))
    click.echo(_("Printers:"))
    for p in found.printers or [None]:
        click.echo(f"  {p['uri']}  {p['status']}  paper {p['paper']}" if p else "  " + _("(none found)"))
    click.echo(_("Cameras:"))
    for c in found.cameras or [None]:
        click.echo(f"  {c['source']}  " + " ".join(f"{w}×{h}" for w, h in c["modes"]) if c else "  " + _("(none found)"))


@click.command("setup")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help=f"Config file to write (default: the one in use, else {DEFAULT_TARGET}).")
@click.option("--yes", is_flag=True, help="Accept the proposals without asking (values from the options below).")
@click.option("--list", "list_only", is_flag=True, help="Only list the devices found (JSON), write nothing.")
@click.option("--outlet", default=None, help="The outlet's name, printed on receipts.")
@click.option("--hub-url", default=None, help="The hub's URL (https://…).")
@click.option("--token", default=None, help="The device token from `kiosk hub token create --role kiosk`.")
@click.option("--device-id", default=None, help="This kiosk's id (printed in receipt numbers).")
@click.option("--printer-host", "printer_hosts", multiple=True, help="A network printer to try (HOST or HOST:PORT).")
@click.option("--pin", "set_pin", is_flag=True, help="Set the installer PIN (asked twice, 6-12 digits).")
@click.option("--lang", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True)
@click.option("--simulated", is_flag=True, help="Find simulated devices and a simulated hub (training).")
@click.option("--fault", "faults", multiple=True, metavar="DEVICE:FAULT", help="With --simulated: a fault to inject.")
def setup_cmd(config_path, yes, list_only, outlet, hub_url, token, device_id, printer_hosts, set_pin, lang,
              simulated, faults) -> None:
    """Configuration wizard: find and test the devices, then write the config file."""
    from devices.model import HealthLevel
    from kiosk.cli.diag import print_report
    from kiosk.config import find_config_file
    from kiosk.config_writer import write_config
    from kiosk.diag import exit_status, load_for_diag, run_diagnostics
    from kiosk.diag.result import translator
    from kiosk.errors import InvalidInput
    from kiosk.installer_pin import hash_pin
    from kiosk.setup_wizard import discover, propose

    _ = translator(lang)
    target = Path(config_path) if config_path else (find_config_file() or DEFAULT_TARGET)
    # Without the environment's overrides: they belong to this shell, not to the file being written.
    base, problem = load_for_diag(str(target) if target.exists() else None, env={})
    if problem is not None:
        click.echo(_("the existing config is refused ({reason}); starting from the defaults", reason=problem), err=True)
    try:
        ctx = _site(simulated, faults, device_id or base.kiosk.device_id)
        site = ctx.__enter__()
    except ValueError as exc:
        fail(str(exc), "use one of the faults listed", 2)
    try:
        click.echo(_("Looking for devices…"), err=True)
        space = _space(site, printer_hosts)
        from devices.idcard.ports import serial_path_of

        known_printer = serial_path_of(base.devices.printer.uri)  # GA 467 frames would come out as print
        space.exclude_ports = [known_printer] if known_printer else []
        found = discover(space)
        if list_only:
            echo_json(found.as_dict())
            return
        _show(found, _)
        if site is not None:
            hub_url = hub_url or site.hub_url
            token = token or site.token
        cfg = propose(base, found, outlet=outlet, hub_url=hub_url, token=token, device_id=device_id)
        if not yes:
            cfg.kiosk.device_id = click.prompt(_("Kiosk id"), default=cfg.kiosk.device_id)
            cfg.kiosk.outlet = click.prompt(_("Outlet"), default=cfg.kiosk.outlet)
            cfg.hub.url = click.prompt(_("Hub URL"), default=cfg.hub.url)
            cfg.hub.token = click.prompt(_("Device token"), default=cfg.hub.token or None, hide_input=True)
            cfg.devices.idcard.port = click.prompt(_("ID-card reader port"), default=cfg.devices.idcard.port)
            cfg.devices.printer.uri = click.prompt(_("Printer"), default=cfg.devices.printer.uri or "")
            cfg.devices.camera.source = click.prompt(_("Camera"), default=cfg.devices.camera.source)
        if set_pin:
            pin = click.prompt(_("Installer PIN (6-12 digits)"), hide_input=True, confirmation_prompt=True)
            try:
                cfg.installer.pin_hash = hash_pin(pin.strip())
            except InvalidInput as exc:
                fail(exc.message, exc.action, 5)
        click.echo(_("Testing…"), err=True)
        cfg.source = str(target)
        report = run_diagnostics(cfg, HealthLevel.INTERNAL, lang=lang, clock=site.clock if site else time.time)
        print_report(report, lang)
        if report["overall"] == "error" and not yes:
            if not click.confirm(_("Some checks failed. Write the config anyway?"), default=False):
                fail("nothing written", "fix the failed checks and run `kiosk setup` again", 1)
        try:
            write_config(cfg, target)
        except InvalidInput as exc:
            fail(exc.message, exc.action, 5)
        click.echo(_("written: {path}", path=target), err=True)
    finally:
        ctx.__exit__(*sys.exc_info())
    raise SystemExit(exit_status(report))


def register(cli: click.Group) -> None:
    cli.add_command(setup_cmd)
