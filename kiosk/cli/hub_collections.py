"""`kiosk hub collections list|retry|discard`: 代收 collections the platform would not take (转交失败), sent
again once the cause is fixed or, when the papers went back to the citizen, their scans deleted."""
from __future__ import annotations

import click

from kiosk.cli.common import config_option, echo_json


def _on_hub_db(config_path, db, work):
    """`work(cfg, url, sessions)` on the hub database, which is closed afterwards."""
    from kiosk.cli.hub_admin import _open

    cfg, url, engine, sessions = _open(config_path, db)
    try:
        return work(cfg, url, sessions)
    finally:
        engine.dispose()


def register_collections(hub: click.Group) -> None:
    db_option = click.option("--db", "db", default=None,
                             help="SQLAlchemy URL (default: hub.db_url, else SQLite in the data dir).")
    json_option = click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")

    @hub.group("collections")
    def collections() -> None:
        """代收 collections on their way to the platform as supplementary materials."""

    def _show(doc: dict) -> None:
        click.echo(f"{doc['collection_no']}  {doc['receipt_no']}  {doc['label']} ({doc['status']})"
                   f"  attempts={doc['attempts']}  scans kept={doc['scans_kept']}  {doc['error'] or ''}".rstrip())

    @collections.command("list")
    @click.option("--status", type=click.Choice(["failed", "pending", "delivered", "discarded", "all"]),
                  default="failed", show_default=True)
    @db_option
    @json_option
    @config_option
    def list_cmd(status, db, as_json, config_path):
        """Collections by status (default: the failed ones, which wait for a person)."""
        from kiosk.hub.collections_admin import list_collections

        docs = _on_hub_db(config_path, db, lambda cfg, url, s: list_collections(s, None if status == "all" else status))
        if as_json:
            echo_json({"collections": docs})
            return
        for doc in docs:
            _show(doc)
        if not docs:
            click.echo("no failed collections" if status == "failed" else f"no collections ({status})")

    @collections.command("retry")
    @click.argument("number")
    @db_option
    @json_option
    @config_option
    def retry_cmd(number, db, as_json, config_path):
        """Send a failed collection (DS-<outlet>-<id>) again, once its cause is fixed."""
        from kiosk.hub.collections_admin import retry

        doc = _on_hub_db(config_path, db, lambda cfg, url, s: retry(s, number))
        echo_json(doc) if as_json else _show(doc)

    @collections.command("discard")
    @click.argument("number")
    @click.option("--reason", required=True, help="What happened to the papers, e.g. '材料已退还群众'.")
    @db_option
    @json_option
    @config_option
    def discard_cmd(number, reason, db, as_json, config_path):
        """Delete the hub's scans of a failed collection whose papers went back to the citizen."""
        from kiosk.hub.app import default_upload_dir
        from kiosk.hub.collections_admin import discard

        doc = _on_hub_db(config_path, db, lambda cfg, url, s: discard(s, default_upload_dir(url, cfg.data_dir),
                                                                       number, reason))
        echo_json(doc) if as_json else _show(doc)
