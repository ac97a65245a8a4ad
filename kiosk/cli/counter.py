"""`kiosk counter staff add|list`: the outlet's staff who sign in at a counter with their own ID card and a PIN.

Only the HMAC of the ID number (hub key) and the argon2 hash of the PIN are stored; the PIN is read from the
terminal without echo (or from stdin with --pin-stdin), never from the command line.
"""
from __future__ import annotations

import sys

import click

from kiosk.cli.common import config_option, echo_json, fail, load

ROLES = ("clerk", "runner", "window", "chief", "leader")


def _db_url(cfg, db: str | None) -> str:
    from kiosk.hub.db import default_db_url

    return db or cfg.hub.db_url or default_db_url(cfg.data_dir)


@click.group("counter")
def counter_group() -> None:
    """The outlet counter: staff who sign in with ID card + PIN."""


@counter_group.group("staff")
def staff_group() -> None:
    """Staff records for the counter's sign-in."""


@staff_group.command("add")
@click.option("--outlet", required=True, help="Outlet code (kiosk hub outlet add).")
@click.option("--role", type=click.Choice(ROLES), default="clerk", show_default=True)
@click.option("--name", required=True, help="The person's name, as the header shows it.")
@click.option("--id-number", required=True, help="The person's own ID card number (kept only as an HMAC).")
@click.option("--pin-stdin", is_flag=True, help="Read the PIN (4-8 digits) from stdin instead of prompting.")
@click.option("--db", "db", default=None, help="SQLAlchemy URL (default: hub.db_url, else SQLite in the data dir).")
@config_option
def staff_add(outlet: str, role: str, name: str, id_number: str, pin_stdin: bool, db: str | None,
              config_path: str | None) -> None:
    """Register a person of an outlet's staff (or set a new PIN for them)."""
    from kiosk.hub.app import default_upload_dir
    from kiosk.hub.counter import register_staff
    from kiosk.hub.crypto import hub_cipher, load_hub_key
    from kiosk.hub.db import make_engine, migrate, session_factory
    from kiosk.hub.models import Outlet
    from kiosk.hub.proxy_schemas import resident_id_ok

    cfg = load(config_path)
    url = _db_url(cfg, db)
    number = id_number.strip().upper()
    if not resident_id_ok(number):
        fail(f"{number[:1]}…{number[-1:]} is not a valid 18-character resident ID number (check digit)",
             "type the number from the person's own card again", 5)
    pin = sys.stdin.readline().strip() if pin_stdin else click.prompt("PIN", hide_input=True, confirmation_prompt=True)
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        fail("the PIN must be 4 to 8 digits", "choose another PIN", 5)
    migrate(url)
    engine = make_engine(url)
    try:
        sessions = session_factory(engine)
        cipher = hub_cipher(load_hub_key(default_upload_dir(url, cfg.data_dir).parent), sessions)
        with sessions() as s, s.begin():
            if s.get(Outlet, outlet) is None:
                fail(f"no outlet {outlet}", "register it first: kiosk hub outlet add CODE --name … --level …", 5)
            person = register_staff(s, cipher, outlet_code=outlet, role=role, name=name, id_number=number, pin=pin)
            doc = {"person_id": person.id, "outlet": outlet, "role": role, "name": name}
    finally:
        engine.dispose()
    echo_json(doc)


@staff_group.command("list")
@click.option("--outlet", default=None, help="Only this outlet.")
@click.option("--db", "db", default=None, help="SQLAlchemy URL (default: hub.db_url, else SQLite in the data dir).")
@config_option
def staff_list(outlet: str | None, db: str | None, config_path: str | None) -> None:
    """Staff who can sign in at a counter (names masked, no ID numbers)."""
    from sqlalchemy import select

    from kiosk.hub.db import make_engine, migrate, session_factory
    from kiosk.hub.models import Person
    from kiosk.privacy.masking import mask_name

    cfg = load(config_path)
    url = _db_url(cfg, db)
    migrate(url)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            q = select(Person).order_by(Person.outlet_code, Person.id)
            if outlet:
                q = q.where(Person.outlet_code == outlet)
            rows = [{"person_id": p.id, "outlet": p.outlet_code, "role": p.role, "name": mask_name(p.name),
                     "pin_set": bool(p.pin_hash), "card_on_file": bool(p.id_number_hash), "active": p.active}
                    for p in s.scalars(q)]
    finally:
        engine.dispose()
    echo_json(rows)


def register(cli: click.Group) -> None:
    cli.add_command(counter_group)
