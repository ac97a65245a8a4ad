"""`kiosk diag`: the installer's device and system health report."""
from __future__ import annotations

import contextlib
import tempfile

import click

from devices.model import HealthLevel
from kiosk.cli.common import config_option, echo_json, load

MARK = {"online": "OK ", "user_error": "FIX", "busy": "...", "offline": "ERR", "no_device": "ERR", "hardware_error": "ERR"}


@contextlib.contextmanager
def _simulated_devices(cfg):
    """The same checks against simulated devices: for training, and to check this machine's own side."""
    from kiosk.demo import DemoStack, sample_card

    with tempfile.TemporaryDirectory(prefix="kiosk-diag-") as work:
        stack = DemoStack(work)
        stack.start_devices()
        try:
            stack.reader.place(sample_card("resident"))
            cfg.devices.idcard.port = stack.reader.port
            cfg.devices.idcard.baud = "115200"
            cfg.devices.printer.uri = stack.printer.device
            cfg.devices.camera.source = "sim:"
            yield stack
        finally:
            stack.stop()


@click.command("diag")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--level", type=click.Choice([lvl.value for lvl in HealthLevel]), default="internal", show_default=True,
              help="internal: no side effects; external: reads a card, prints a test page, takes a picture; "
                   "interactive: asks you to place a card and a page first.")
@click.option("--simulated", is_flag=True, help="Check simulated devices instead of the configured ones.")
@config_option
def diag_cmd(as_json: bool, level: str, simulated: bool, config_path: str | None) -> None:
    """Device and system health report for installers (exit 0: the report is the answer)."""
    from kiosk.diag import run_diagnostics

    cfg = load(config_path)
    lvl = HealthLevel(level)

    def ask(prompt: str) -> None:
        click.echo(prompt, err=True)
        if lvl == HealthLevel.INTERACTIVE and not simulated:
            click.get_text_stream("stdin").readline()

    with (_simulated_devices(cfg) if simulated else contextlib.nullcontext()):
        report = run_diagnostics(cfg, lvl, ask)
    if as_json:
        echo_json(report)
        return
    click.echo(f"overall: {report['overall']}  (level {report['level']}, config {report['config']})")
    for check in report["checks"]:
        details = ", ".join(f"{k}={v}" for k, v in check["details"].items() if not isinstance(v, (dict, list)))
        click.echo(f"[{MARK.get(check['status'], '?  ')}] {check['device']:<10} {check['status']:<15} {details}")
        for err in check["errors"]:
            click.echo(f"        {err['message']} — {err['action']}")


def register(cli: click.Group) -> None:
    cli.add_command(diag_cmd)
