"""`kiosk platform-sim serve`: the provincial platform simulator (docs/platform-protocol.md)."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import click

from kiosk.cli.common import config_option, load


def register(cli: click.Group) -> None:
    @cli.group("platform-sim")
    def platform_sim() -> None:
        """The provincial platform simulator: signed reference protocol, persistence, fault injection."""

    @platform_sim.command("serve")
    @click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
                  help="SQLite file (default: <data dir>/platform-sim/platform.db).")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=click.IntRange(1, 65535), default=None, help="Default: the port of platform.url (8710).")
    @click.option("--fail-rate", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
                  help="Share of API requests answered 503.")
    @click.option("--latency-ms", type=click.IntRange(0, 600_000), default=0, show_default=True,
                  help="Delay added to every API request.")
    @config_option
    def serve(db, host, port, fail_rate, latency_ms, config_path):
        """Run the simulator on uvicorn until Ctrl-C."""
        import uvicorn

        from kiosk.cli.hub import _check_port
        from kiosk.errors import InvalidInput
        from kiosk.platform.simulator import create_app

        cfg = load(config_path)
        path = Path(db) if db else cfg.data_dir / "platform-sim" / "platform.db"
        port = port or urlsplit(cfg.platform.url).port or 8710
        _check_port(host, port)
        try:
            app = create_app(path, fail_rate=fail_rate, latency_ms=latency_ms,
                             apps={cfg.platform.app_id: cfg.platform.secret})
        except (OSError, sqlite3.Error) as exc:
            raise InvalidInput(f"cannot open the simulator database {path}: {exc}",
                               "choose a writable --db path (a file, not a directory)") from None
        click.echo(f"platform simulator listening on http://{host}:{port} (database {path})", err=True)
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
