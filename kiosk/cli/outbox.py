"""`kiosk outbox status|retry`: what the kiosk still has to send to the hub, and why."""
from __future__ import annotations

import click

from kiosk.cli.common import config_option, echo_json, load


def register(cli: click.Group) -> None:
    @cli.group("outbox")
    def outbox() -> None:
        """The kiosk's local outbox of cases waiting for the hub."""

    @outbox.command("status")
    @click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
    @config_option
    def status(as_json, config_path):
        """Entries waiting (pending), refused by the hub (failed), set aside (the hub failed on them while taking
        others; `kiosk outbox retry` sends them again) and sent; receipt copies not yet on the hub; other calls
        kept for the hub (evaluations)."""
        from kiosk.sync.action_outbox import ActionOutbox
        from kiosk.sync.outbox import Outbox

        cfg = load(config_path)
        doc = Outbox(cfg.data_dir).status(limit=None)
        actions = ActionOutbox(cfg.data_dir).pending()
        doc["actions"] = [{k: a[k] for k in ("kind", "state", "attempts", "last_error", "created_at")} for a in actions]
        doc["actions_pending"] = sum(a["state"] == "pending" for a in actions)
        doc["actions_failed"] = sum(a["state"] == "failed" for a in actions)
        if as_json:
            echo_json(doc)
            return
        click.echo(f"pending: {doc['pending']}  failed: {doc['failed']}  set aside: {doc['set_aside']}"
                   f"  sent: {doc['sent']}")
        if doc["last_error"]:
            click.echo(f"last error: {doc['last_error']}")
        for e in doc["entries"]:
            why = f"  ({e['last_error']})" if e["last_error"] else ""
            click.echo(f"{e['receipt_no']}  {e['state']:<9}  {e['item_name']}  files={e['files']}"
                       f"  attempts={e['attempts']}{why}")
        if doc["receipts"]:
            click.echo(f"receipt copies waiting: {doc['receipts_pending']}  refused: {doc['receipts_failed']}")
        for r in doc["receipts"]:
            why = f"  ({r['last_error']})" if r["last_error"] else ""
            waits = "  waits for its case" if r["waiting_for_case"] else ""
            click.echo(f"{r['receipt_no']}  receipt {r['state']:<7}  bytes={r['bytes']}  attempts={r['attempts']}"
                       f"{waits}{why}")
        if doc["actions"]:
            click.echo(f"other calls waiting: {doc['actions_pending']}  refused: {doc['actions_failed']}")
        for a in doc["actions"]:
            why = f"  ({a['last_error']})" if a["last_error"] else ""
            click.echo(f"{a['created_at']}  {a['kind']:<10}  {a['state']:<7}  attempts={a['attempts']}{why}")

    @outbox.command("retry")
    @click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
    @config_option
    def retry(as_json, config_path):
        """Send everything now; entries the hub refused or that were set aside are tried again."""
        from kiosk.errors import Unavailable
        from kiosk.sync.client import HubClient
        from kiosk.sync.outbox import Outbox

        cfg = load(config_path)
        box = Outbox(cfg.data_dir)
        requeued = box.retry_failed()
        client = HubClient.from_config(cfg)
        try:
            result = box.drain(client)
        finally:
            client.close()
        result["requeued"] = requeued
        nothing_sent = result["sent"] == 0 and result["receipts_sent"] == 0
        if result["error"] and nothing_sent and (result["pending"] or result["receipts_pending"]):
            raise Unavailable(f"nothing sent: {result['error']}",
                              f"{result['pending']} case(s) and {result['receipts_pending']} receipt copy(ies) stay"
                              " in the outbox and are sent when the hub is back")
        if as_json:
            echo_json(result)
        else:
            click.echo(f"sent: {result['sent']}  failed: {result['failed']}  still pending: {result['pending']}"
                       f"  receipt copies sent: {result['receipts_sent']}  waiting: {result['receipts_pending']}")
