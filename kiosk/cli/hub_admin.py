"""`kiosk hub token list|revoke`, `kiosk hub audit verify`, `kiosk hub rekey`: revoking access, checking the
audit chain and rotating the hub key (docs/reliability.md)."""
from __future__ import annotations

import click

from kiosk.cli.common import config_option, echo_json, fail, load


def _open(config_path, db):
    from kiosk.cli.hub import _db_url, _migrate
    from kiosk.hub.db import make_engine, session_factory

    cfg = load(config_path)
    url = _db_url(cfg, db)
    _migrate(url)
    engine = make_engine(url)
    return cfg, url, engine, session_factory(engine)


def register_reliability(hub: click.Group, token: click.Group) -> None:
    """Token revocation and listing, the audit chain check and hub key rotation (issue 13)."""
    db_option = click.option("--db", "db", default=None,
                             help="SQLAlchemy URL (default: hub.db_url, else SQLite in the data dir).")

    @token.command("list")
    @db_option
    @click.option("--all", "show_all", is_flag=True, help="Include revoked and expired tokens.")
    @click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
    @config_option
    def list_tokens(db, show_all, as_json, config_path):
        """Tokens by key id (the public half of each token), role, holder, state; never the secret."""
        import datetime as dt

        from sqlalchemy import select

        from kiosk.hub.models import ApiToken

        _cfg, _url, engine, sessions = _open(config_path, db)
        now = dt.datetime.now(dt.timezone.utc)
        try:
            with sessions() as s:
                rows = s.scalars(select(ApiToken).order_by(ApiToken.id)).all()
        finally:
            engine.dispose()
        docs = []
        for r in rows:
            exp = r.expires_at
            if exp is not None and exp.tzinfo is None:
                exp = exp.replace(tzinfo=dt.timezone.utc)
            state = "revoked" if r.revoked else "expired" if exp is not None and exp <= now else "active"
            if state != "active" and not show_all:
                continue
            docs.append({"key_id": r.key_id, "role": r.role, "name": r.name, "state": state,
                         "created_at": r.created_at.isoformat() if r.created_at else None,
                         "expires_at": exp.isoformat() if exp else None})
        if as_json:
            echo_json({"tokens": docs})
            return
        for d in docs:
            click.echo(f"{d['key_id']}  {d['role']:<10} {d['name']:<24} {d['state']:<8}"
                       f" expires={d['expires_at'] or 'never'}")
        if not docs:
            click.echo("no tokens" if show_all else "no active tokens (--all shows revoked and expired ones)")

    @token.command("revoke")
    @click.argument("key_ids", nargs=-1)
    @click.option("--name", default=None, help="Revoke every active token of this holder (device id or login).")
    @db_option
    @click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
    @config_option
    def revoke(key_ids, name, db, as_json, config_path):
        """Revoke tokens by key id (`gk_<key id>_…`, see `token list`) or by holder; every hub process refuses
        them within a second."""
        from sqlalchemy import select

        from kiosk.errors import InvalidInput
        from kiosk.hub import audit
        from kiosk.hub.models import ApiToken

        ids = [k[3:].split("_", 1)[0] if k.startswith("gk_") else k for k in key_ids]
        if not ids and not name:
            raise InvalidInput("nothing to revoke", "give key ids (kiosk hub token list) or --name")
        _cfg, _url, engine, sessions = _open(config_path, db)
        try:
            with sessions() as s, s.begin():
                q = select(ApiToken).where(ApiToken.revoked.is_(False))
                q = q.where(ApiToken.key_id.in_(ids)) if ids else q.where(ApiToken.name == name.strip())
                rows = s.scalars(q.with_for_update()).all()
                found = {r.key_id for r in rows}
                missing = [k for k in ids if k not in found]
                if missing:
                    raise InvalidInput(f"no active token with key id {', '.join(missing)}",
                                       "see `kiosk hub token list --all` for the key ids")
                for r in rows:
                    r.revoked = True
                    audit.record(s, "cli", "token", r.key_id, "revoked", role=r.role, holder=r.name[:64])
        finally:
            engine.dispose()
        if not rows:
            raise InvalidInput(f"no active token held by {name!r}", "see `kiosk hub token list`")
        doc = {"revoked": sorted(found)}
        if as_json:
            echo_json(doc)
        else:
            click.echo(f"revoked: {' '.join(doc['revoked'])}")

    @hub.group("audit")
    def audit_group() -> None:
        """The hub's append-only audit log."""

    @audit_group.command("verify")
    @db_option
    @click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
    @config_option
    def audit_verify(db, as_json, config_path):
        """Check the audit log's hash chain from the first row to the last; exit 1 if a row was changed,
        removed or slipped in."""
        from kiosk.hub import audit

        _cfg, _url, engine, sessions = _open(config_path, db)
        try:
            with sessions() as s:
                doc = audit.verify(s)
        finally:
            engine.dispose()
        if as_json:
            echo_json(doc)
        elif doc["ok"]:
            click.echo(f"audit log intact: {doc['rows']} rows, last hash {doc['last_hash'][:16]}…")
        if not doc["ok"]:
            fail(f"audit log broken at row {doc['bad_id']}: {doc['reason']}",
                 "keep a copy of the database for investigation; compare with a backup to see what changed", 1)

    @hub.command("rekey")
    @click.option("--old-key-file", type=click.Path(exists=True, dir_okay=False), required=True,
                  help="The key the data is encrypted with now (64 hex digits).")
    @db_option
    @click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
    @config_option
    def rekey(old_key_file, db, as_json, config_path):
        """Re-encrypt everything the hub encrypts (cases' personal fields, 代办 requests and 委托书, key projects,
        evaluations) from the old hub key to the current one (key rotation, docs/reliability.md), and carry the
        HMAC key of card sign-in and pickup codes over to the current key. Safe to run again after an
        interruption."""
        from pathlib import Path
        from types import SimpleNamespace

        from kiosk.hub.app import default_upload_dir
        from kiosk.hub.case_fields import reseal_all
        from kiosk.hub.crypto import DecryptionError, FieldCipher, _parse_key, load_hub_key
        from kiosk.hub.rekey import carry_mac_key, hmac_bound, reseal_columns

        cfg, url, engine, sessions = _open(config_path, db)
        try:
            old = FieldCipher(_parse_key(Path(old_key_file).read_text(encoding="ascii"), old_key_file))
            new = FieldCipher(load_hub_key(default_upload_dir(url, cfg.data_dir).parent))
            try:
                # First, in a transaction of its own: from here on the current key opens the HMAC key.
                mac = carry_mac_key(sessions, old, new)
                n = reseal_all(SimpleNamespace(sessions=sessions), old, new)
                columns = reseal_columns(sessions, old, new)
            except DecryptionError as exc:
                fail(f"cannot re-encrypt: {exc}", "check that --old-key-file is the key the data was written with;"
                     " rows done so far are under the current key, run again with the right old key", 1)
            bound = hmac_bound(sessions)
        finally:
            engine.dispose()
        if as_json:
            echo_json({"cases_reencrypted": n, "columns_reencrypted": columns, "hmac_key": mac, "hmac_bound": bound})
            return
        click.echo(f"re-encrypted {n} case(s) and {sum(columns.values())} other value(s) with the current hub key")
        for name, count in columns.items():
            if count:
                click.echo(f"  {name}: {count}")
        click.echo(f"HMAC key {'carried over to' if mac == 'carried' else 'already kept under'} the current hub key:"
                   f" {bound['people.id_number_hash']} person(s)' card sign-in and"
                   f" {bound['counter_pickup_hashes']} pickup code(s) keep matching")
