"""`kiosk diag`: the installer's device and system health report.

Exit status: 0 everything ok, 6 warnings only (works, needs attention), 7 at least one check failed; the report
is printed in every case. 2 is a usage error, 1 an unexpected failure.
"""
from __future__ import annotations

import contextlib
import tempfile

import click

from devices.model import HealthLevel
from kiosk.cli.common import config_option, echo_json

MARK = {"ok": "OK ", "warning": "!! ", "error": "ERR"}


@contextlib.contextmanager
def _simulated(cfg, faults):
    """An in-process hub and platform simulator and simulated devices, for the duration of the run."""
    from kiosk.diag.simulated import SimulatedSite

    with tempfile.TemporaryDirectory(prefix="kiosk-diag-") as work:
        with SimulatedSite(work, faults, device_id=cfg.kiosk.device_id) as site:
            yield site, site.configure(cfg)


def print_report(report: dict, lang: str) -> None:
    from kiosk.diag.export import verdict
    from kiosk.diag.result import translator

    _ = translator(lang)
    click.echo(_("overall: {verdict} ({overall})  level {level}  config {config}", verdict=verdict(report["overall"], lang),
                 overall=report["overall"], level=report["level"], config=report["config"]))
    for check in report["checks"]:
        details = ", ".join(f"{k}={v}" for k, v in check["details"].items() if not isinstance(v, (dict, list)) and v is not None)
        click.echo(f"[{MARK[check['severity']]}] {check['check']:<20} {check['status']:<15} {details}")
        for err in check["errors"]:
            click.echo(f"        {err['message']}")
            click.echo("        → " + err["action"])


@click.command("diag")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--level", type=click.Choice([lvl.value for lvl in HealthLevel]), default="internal", show_default=True,
              help="internal: no side effects; external: reads a card, prints a test page, takes a picture; "
                   "interactive: asks you to place a card and a page first.")
@click.option("--lang", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True,
              help="Language of the messages and actions.")
@click.option("--only", "groups", multiple=True, type=click.Choice(["idcard", "printer", "camera", "network", "system"]),
              help="Run only these groups of checks (repeatable).")
@click.option("--simulated", is_flag=True,
              help="Check simulated devices against an in-process hub and platform simulator (training; rules out the PC).")
@click.option("--fault", "faults", multiple=True, metavar="DEVICE:FAULT",
              help="With --simulated: inject a fault, e.g. printer:near_end, idcard:wrong_baud, camera:low_res, "
                   "hub:token_rejected, clock:wrong (repeatable).")
@click.option("--unplug", "unplugged", multiple=True, type=click.Choice(["idcard", "printer", "camera"]),
              help="With --simulated: unplug this simulated device (same as --fault DEVICE:unplugged).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Also write the JSON report to this file.")
@click.option("--send", is_flag=True, help="Also send a copy of the report to the hub (supervisors list the last one per kiosk).")
@config_option
def diag_cmd(as_json, level, lang, groups, simulated, faults, unplugged, out_path, send, config_path) -> None:
    """Device and system health report for installers.

    Exit status: 0 all ok; 6 warnings only; 7 at least one check failed (the report is printed in every case).
    """
    from kiosk.cli.common import fail
    from kiosk.diag import GROUPS, exit_status, load_for_diag, run_diagnostics
    from kiosk.diag.result import translator

    _ = translator(lang)
    cfg, problem = load_for_diag(config_path)
    lvl = HealthLevel(level)
    faults = list(faults) + [f"{d}:unplugged" for d in unplugged]
    if faults and not simulated:
        fail("--fault and --unplug work only with --simulated", "add --simulated", 2)

    def ask(prompt: str) -> None:
        click.echo(prompt, err=True)
        if lvl == HealthLevel.INTERACTIVE and not simulated:
            click.get_text_stream("stdin").readline()

    if simulated:
        try:
            ctx = _simulated(cfg, faults)
            site, run_cfg = ctx.__enter__()
        except ValueError as exc:
            fail(str(exc), "use one of the faults listed", 2)
        try:
            report = run_diagnostics(run_cfg, lvl, ask, lang, groups=tuple(groups) or GROUPS, clock=site.clock,
                                     config_problem=problem, printer_opts=site.printer_opts)
            if send:
                _send(report, run_cfg, lang)
        finally:
            ctx.__exit__(None, None, None)
    else:
        report = run_diagnostics(cfg, lvl, ask, lang, groups=tuple(groups) or GROUPS, config_problem=problem)
        if send:
            _send(report, cfg, lang)
    if out_path:
        from kiosk.diag.export import write_json

        write_json(report, out_path)
    if as_json:
        echo_json(report)
    else:
        print_report(report, lang)
    raise SystemExit(exit_status(report))


def _send(report: dict, cfg, lang: str) -> None:
    from kiosk.diag.export import send_to_hub
    from kiosk.diag.result import translator
    from kiosk.errors import KioskError

    _ = translator(lang)
    try:
        row = send_to_hub(report, cfg)
        click.echo(_("report sent to the hub (report {id})", id=row.get("id")), err=True)
    except KioskError as exc:
        click.echo(_("the report was not sent: {reason}", reason=exc.message) + " — " + exc.action, err=True)


def register(cli: click.Group) -> None:
    cli.add_command(diag_cmd)
