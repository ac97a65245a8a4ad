"""The `kiosk` command: the composition root.

Every module in this package that defines `register(cli)` adds its own commands or group, so a new
capability adds a module here and touches nothing else. Only the commands that start the app import
`screens`, and only inside the command.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
import sys

import click

from kiosk.cli.common import run_guarded


class KioskGroup(click.Group):
    def invoke(self, ctx: click.Context):
        return run_guarded(lambda: super(KioskGroup, self).invoke(ctx))


@click.group(cls=KioskGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR (default INFO, or $KIOSK_LOG_LEVEL).")
@click.version_option(package_name="govkiosk")
def cli(log_level: str | None) -> None:
    """Government self-service terminal: kiosk app, devices, hub and platform simulator."""
    from kiosk.logs import setup_logging

    setup_logging(log_level)


def _register_all() -> None:
    package = sys.modules[__name__]
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "common":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(cli)


_register_all()


def main() -> None:
    logging.captureWarnings(True)
    cli(prog_name="kiosk")
