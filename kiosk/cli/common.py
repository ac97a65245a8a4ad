"""Helpers shared by the command modules: the exit-code contract (DESIGN §5), config loading, JSON output."""
from __future__ import annotations

import json
import logging
import sys
from typing import Any, Callable

import click

from devices.errors import DeviceError
from kiosk.errors import KioskError

log = logging.getLogger("kiosk.cli")

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None,
    help="TOML config file (default: $KIOSK_CONFIG, /etc/govkiosk/kiosk.toml, ~/.config/govkiosk/kiosk.toml).",
)


def fail(message: str, action: str = "", code: int = 1) -> None:
    """Say what happened and what to do on stderr, and exit with `code`."""
    click.echo(f"error: {message}", err=True)
    if action:
        click.echo(f"what to do: {action}", err=True)
    sys.exit(code)


def run_guarded(fn: Callable[[], Any]) -> Any:
    """Map our typed errors to the contract's exit codes; nothing reaches the user as a stack trace."""
    try:
        return fn()
    except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
        raise
    except DeviceError as exc:
        fail(exc.message, exc.action, exc.exit_code)
    except KioskError as exc:
        fail(exc.message, exc.action, exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", "", 1)
    except Exception as exc:  # the last resort: logged (redacted) with its traceback, one line to the user
        log.exception("command failed")
        fail(f"unexpected error: {type(exc).__name__}: {exc}", "see the log above; report it to the installer or maintainer", 1)


def load(config_path: str | None):
    from kiosk.config import load_config

    return load_config(config_path)


def echo_json(document: Any) -> None:
    """One JSON document on stdout and nothing else there."""
    click.echo(json.dumps(document, ensure_ascii=False, sort_keys=False))
