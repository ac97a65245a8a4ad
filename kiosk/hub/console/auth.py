"""Signing in to the console: with a person's token or their PIN, for supervisors and the escalation levels only."""
from __future__ import annotations

import datetime as dt

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from kiosk.hub.console.periods import ConsoleInputError
from kiosk.hub.console.web import Viewer, role_label
from kiosk.hub.models import ApiToken
from kiosk.i18n import gettext as _

CONSOLE_ROLES = ("supervisor", "window", "chief", "leader")
_pins = PasswordHasher()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _refuse_role(role: str, lang: str) -> ConsoleInputError:
    return ConsoleInputError(
        _("A {role} may not sign in to the console: it is for supervisors and the escalation levels (window staff, approval chief, centre leader).", lang).format(role=_(role_label(role), lang)),
        _("Sign in with your own supervisor or escalation-level token; clerks use the counter app.", lang),
        status=403)


def _wrong(lang: str) -> ConsoleInputError:
    return ConsoleInputError(_("Sign-in failed: the token or PIN is wrong, revoked or expired.", lang),
                             _("Check what you typed, or ask the hub's administrator for a new token (kiosk hub token create).", lang), status=401)


def viewer_from_token(app, token: str, lang: str) -> Viewer:
    caller = app.state.tokens.verify(token.strip())
    if caller is None:
        raise _wrong(lang)
    with app.state.hub.sessions() as s:
        row = s.get(ApiToken, caller.token_id)
        expires = _aware(getattr(row, "expires_at", None)) if row is not None else None
        if row is None or row.revoked or (expires is not None and expires <= dt.datetime.now(dt.timezone.utc)):
            raise _wrong(lang)
        if row.role not in CONSOLE_ROLES:
            raise _refuse_role(row.role, lang)
        return Viewer(row.id, row.role, row.name, getattr(row, "outlet_code", None), getattr(row, "person_id", None), lang)


def viewer_from_pin(app, person_id: str, pin: str, lang: str) -> Viewer:
    """A person's PIN (argon2 hash on their `people` row); the session acts with their newest live token."""
    from kiosk.hub.models import Person

    try:
        pid = int(person_id.strip())
    except ValueError:
        raise _wrong(lang) from None
    with app.state.hub.sessions() as s:
        person = s.get(Person, pid)
        if person is None or not person.active or not person.pin_hash:
            raise _wrong(lang)
        try:
            _pins.verify(person.pin_hash, pin)
        except (VerificationError, InvalidHashError):
            raise _wrong(lang) from None
        if person.role not in CONSOLE_ROLES:
            raise _refuse_role(person.role, lang)
        now = dt.datetime.now(dt.timezone.utc)
        tokens = s.scalars(select(ApiToken).where(ApiToken.person_id == pid, ApiToken.revoked.is_(False))
                           .order_by(ApiToken.id.desc())).all()
        live = [t for t in tokens if _aware(t.expires_at) is None or _aware(t.expires_at) > now]
        token_id = live[0].id if live else 0
        return Viewer(token_id, person.role, person.name, person.outlet_code, person.id, lang)


def still_valid(app, viewer: Viewer) -> bool:
    """A session ends when its token is revoked or expires (checked on every request)."""
    if not viewer.token_id:  # signed in by PIN without a token of their own: the person must stay active
        from kiosk.hub.models import Person

        with app.state.hub.sessions() as s:
            person = s.get(Person, viewer.person_id) if viewer.person_id else None
            return person is not None and person.active
    with app.state.hub.sessions() as s:
        row = s.get(ApiToken, viewer.token_id)
        if row is None or row.revoked:
            return False
        expires = _aware(getattr(row, "expires_at", None))
        return expires is None or expires > dt.datetime.now(dt.timezone.utc)
