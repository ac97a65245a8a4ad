"""`kiosk hub serve|migrate|token create`: the hub service and its bearer tokens."""
from __future__ import annotations

import socket
from urllib.parse import urlsplit

import click

from kiosk.cli.common import config_option, echo_json, fail, load


def _db_url(cfg, db: str | None) -> str:
    from kiosk.hub.db import default_db_url

    return db or cfg.hub.db_url or default_db_url(cfg.data_dir)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def _migrate(url: str, app_role: str | None = None) -> None:
    from sqlalchemy.exc import DBAPIError, OperationalError

    from kiosk.errors import InvalidInput, Unavailable
    from kiosk.hub.db import migrate

    try:
        migrate(url, app_role=app_role)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0]
        if url.startswith("sqlite"):
            raise InvalidInput(f"cannot write the hub database {_redact(url)}: {reason}",
                               "check that the data directory and the database file are writable by this user"
                               " (and the disk is not full)") from None
        raise Unavailable(f"cannot open the hub database {_redact(url)}: {reason}",
                          "check --db / hub.db_url, that PostgreSQL is running and the role may log in") from None
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0]
        raise InvalidInput(f"cannot upgrade the hub database {_redact(url)}: {reason}",
                           "run `kiosk hub migrate` as the role that owns the hub's tables (the hub itself runs"
                           " as a role without that right; docs/reliability.md)") from None
    except OSError as exc:
        raise InvalidInput(f"cannot prepare the hub database {_redact(url)}: {exc.strerror or exc}",
                           "check that the data directory (kiosk.data_dir) is writable by this user") from None


def _check_port(host: str, port: int) -> None:
    with socket.socket() as s:
        # As uvicorn does: a port whose old connections linger in TIME_WAIT is free to listen on again.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc.strerror}",
                 "choose another --port, or stop the program that uses this one", 1)


def register(cli: click.Group) -> None:
    @cli.group("hub")
    def hub() -> None:
        """The hub: cases, uploads, catalog and the relay to the platform."""

    @hub.command("serve")
    @click.option("--db", "db", default=None, help="SQLAlchemy URL (default: hub.db_url, else SQLite in the data dir).")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=click.IntRange(1, 65535), default=None, help="Default: the port of hub.url (8700).")
    @config_option
    def serve(db, host, port, config_path):
        """Run the hub on uvicorn until Ctrl-C."""
        from kiosk.hub.app import create_app
        from kiosk.platform.http_adapter import ReferenceHttpAdapter

        cfg = load(config_path)
        url = _db_url(cfg, db)
        port = port or urlsplit(cfg.hub.url).port or 8700
        _check_port(host, port)
        _migrate(url)
        from kiosk.hub.storage import VolumeMismatch

        try:
            app = create_app(url, ReferenceHttpAdapter.from_config(cfg.platform), data_dir=cfg.data_dir, migrate=False,
                             relay_concurrency=cfg.hub.relay_concurrency, request_threads=cfg.hub.request_threads)
        except VolumeMismatch as exc:
            from kiosk.errors import InvalidInput

            raise InvalidInput(f"refusing to start: {exc}",
                               "every hub on one database must use the same upload volume: mount the shared volume"
                               " at the hub's upload directory (docs/reliability.md)") from None
        except OSError as exc:
            from kiosk.errors import InvalidInput

            raise InvalidInput(f"cannot prepare the hub's upload directory: {exc}",
                               "check that the data directory (kiosk.data_dir) is writable") from None
        click.echo(f"hub listening on http://{host}:{port} (database {_redact(url)})", err=True)
        from kiosk.hub.serving import serve_hub

        serve_hub(app, host, port)

    @hub.command("migrate")
    @click.option("--db", "db", default=None, help="SQLAlchemy URL (default: hub.db_url, else SQLite in the data dir).")
    @click.option("--app-role", default=None,
                  help="PostgreSQL: the role the hub runs as; it is granted read/write on the hub's tables but only"
                       " read/append on the audit log. Run the migration itself as the owner role.")
    @config_option
    def migrate_cmd(db, app_role, config_path):
        """Create or upgrade the hub database schema."""
        cfg = load(config_path)
        url = _db_url(cfg, db)
        _migrate(url, app_role)
        click.echo(f"hub database at the latest schema: {_redact(url)}", err=True)

    @hub.group("token")
    def token() -> None:
        """Bearer tokens for kiosks, clerks, supervisors and installers."""

    from kiosk.cli.hub_admin import register_reliability

    register_reliability(hub, token)  # token list|revoke, audit verify, rekey

    from kiosk.cli.hub_collections import register_collections

    register_collections(hub)  # 代收 collections the platform would not take

    @token.command("create")
    @click.option("--role", type=click.Choice(["kiosk", "channel", "clerk", "runner", "window", "chief", "leader",
                                               "supervisor", "installer"]), required=True)
    @click.option("--name", required=True, help="Who holds it: a device id (K0001) or a person's login.")
    @click.option("--outlet", default=None, help="Bind the token to this outlet (needed by clerk, runner, window,"
                                                 " chief, leader).")
    @click.option("--person", default=None, help="The person holding it: recorded at --outlet with --role.")
    @click.option("--person-id-number", default=None, envvar="KIOSK_PERSON_ID_NUMBER",
                  help="The person's ID number, kept only as an HMAC (to match their own card at sign-in).")
    @click.option("--db", "db", default=None, help="SQLAlchemy URL (default: hub.db_url, else SQLite in the data dir).")
    @click.option("--expires-in-days", type=click.IntRange(1, 3650), default=None,
                  help="The token stops working after this many days (default: until revoked).")
    @click.option("--json", "as_json", is_flag=True, help='Print {"token", "role", "name", "outlet", "person_id"}.')
    @config_option
    def create(role, name, outlet, person, person_id_number, db, expires_in_days, as_json, config_path):
        """Create a token and print it once; the hub keeps only its argon2 hash."""
        from kiosk.errors import InvalidInput
        from kiosk.hub import audit
        from kiosk.hub.auth import OUTLET_ROLES, create_token
        from kiosk.hub.db import make_engine, session_factory
        from kiosk.hub.models import Outlet, Person

        from kiosk.hub.schemas import bad_char

        if not name.strip() or len(name.strip()) > 64 or bad_char(name):  # 64: the audit log's entity id
            raise InvalidInput("--name must be 1-64 printable characters", "give the device id or the person's login")
        if role in OUTLET_ROLES and role != "clerk" and not outlet:
            raise InvalidInput(f"a {role} token needs --outlet: {role}s act on the requests of their outlet",
                               "add --outlet CODE (kiosk hub outlet list shows the codes)")
        if role == "clerk" and not outlet:
            click.echo("warning: a clerk token without --outlet submits cases and reprints receipts but cannot"
                       " work 代办 requests", err=True)
        if person is not None and (not outlet or not person.strip() or len(person) > 100):
            raise InvalidInput("--person needs --outlet and a name of 1-100 characters", "give both")
        if person_id_number is not None and person is None:
            raise InvalidInput("--person-id-number belongs to --person", "add --person NAME")
        cfg = load(config_path)
        url = _db_url(cfg, db)
        _migrate(url)
        engine = make_engine(url)
        person_id = None
        try:
            with session_factory(engine)() as s, s.begin():
                if outlet is not None and s.get(Outlet, outlet) is None:
                    raise InvalidInput(f"outlet {outlet} is not registered", "register it with kiosk hub outlet add")
                if person is not None:
                    id_hash = _id_hash(cfg, url, s, person_id_number) if person_id_number else None
                    row = s.query(Person).filter_by(outlet_code=outlet, role=role, name=person.strip(),
                                                    active=True).first()
                    if row is None:
                        row = Person(outlet_code=outlet, role=role, name=person.strip(), id_number_hash=id_hash,
                                     active=True)
                        s.add(row)
                        s.flush()
                        audit.record(s, "cli", "person", str(row.id), "created", role=role, outlet=outlet)
                    elif id_hash:
                        row.id_number_hash = id_hash
                    person_id = row.id
                import datetime as dt

                expires_at = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=expires_in_days)
                              if expires_in_days else None)
                tok = create_token(s, role, name, outlet_code=outlet, person_id=person_id, expires_at=expires_at)
                audit.record(s, "cli", "token", name.strip(), "created", role=role, outlet=outlet,
                             person_id=person_id)
        finally:
            engine.dispose()
        if as_json:
            echo_json({"token": tok, "role": role, "name": name.strip(), "outlet": outlet, "person_id": person_id})
        else:
            click.echo(tok)

    @hub.group("outlet")
    def outlet_group() -> None:
        """The outlet network: county, town, village and partner outlets that handle 代办."""

    @outlet_group.command("add")
    @click.argument("code")
    @click.option("--name", required=True, help="The outlet's name, e.g. 城关镇便民服务中心.")
    @click.option("--level", type=click.Choice(["county", "town", "village", "partner"]), required=True)
    @click.option("--parent", default=None, help="The outlet above it (its code).")
    @click.option("--items", default=None, help="Comma-separated item codes it is entrusted with (default: all).")
    @click.option("--hours", default=None, help="Opening hours, e.g. 周一至周五 9:00-17:00.")
    @click.option("--address", default=None)
    @click.option("--phone", default=None)
    @click.option("--db", "db", default=None, help="SQLAlchemy URL (default: hub.db_url, else SQLite in the data dir).")
    @click.option("--json", "as_json", is_flag=True, help="Print the outlet as JSON.")
    @config_option
    def outlet_add(code, name, level, parent, items, hours, address, phone, db, as_json, config_path):
        """Register an outlet, or update the one with this CODE."""
        from kiosk.hub.db import make_engine, session_factory
        from kiosk.hub.outlets import add_outlet, outlet_out

        cfg = load(config_path)
        url = _db_url(cfg, db)
        _migrate(url)
        engine = make_engine(url)
        try:
            with session_factory(engine)() as s, s.begin():
                row, created = add_outlet(s, code, name, level, parent=parent,
                                          items=items.split(",") if items else None, hours=hours,
                                          address=address, phone=phone)
                s.flush()
                doc = outlet_out(row)
        finally:
            engine.dispose()
        if as_json:
            echo_json({**doc, "created": created})
        else:
            click.echo(f"{'registered' if created else 'updated'} outlet {code} ({level}"
                       f"{', under ' + parent if parent else ''})")

    @outlet_group.command("list")
    @click.option("--db", "db", default=None, help="SQLAlchemy URL (default: hub.db_url, else SQLite in the data dir).")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
    @config_option
    def outlet_list(db, as_json, config_path):
        """The registered outlets."""
        from sqlalchemy import select

        from kiosk.hub.db import make_engine, session_factory
        from kiosk.hub.models import Outlet
        from kiosk.hub.outlets import outlet_out

        cfg = load(config_path)
        url = _db_url(cfg, db)
        _migrate(url)
        engine = make_engine(url)
        try:
            with session_factory(engine)() as s:
                docs = [outlet_out(o) for o in s.scalars(select(Outlet).order_by(Outlet.code))]
        finally:
            engine.dispose()
        if as_json:
            echo_json(docs)
        else:
            for d in docs:
                click.echo(f"{d['code']}\t{d['level']}\t{d['parent'] or '-'}\t{d['name']}"
                           f"\t{len(d['items']) or 'all'} items")


def _id_hash(cfg, url: str, s, id_number: str) -> str:
    """HMAC of a person's ID number with the hub's HMAC key (kiosk.hub.crypto.hub_cipher: the one a key rotation
    carried over, if any), as the hub computes it; `s` is an open session on the hub database."""
    from kiosk.hub.app import default_upload_dir
    from kiosk.hub.crypto import hub_cipher, load_hub_key

    hub_dir = default_upload_dir(url, cfg.data_dir).parent
    return hub_cipher(load_hub_key(hub_dir), s).id_hash(id_number)
