"""Key rotation beyond cases: every other column the hub encrypts with its key (代办 requests, 委托书, key projects,
evaluations) re-encrypted from the old key to the current one, in batches, each row under the context it was written
with. A row that already opens with the current key is left alone, so an interrupted rotation is simply run again.

Values kept only as an HMAC under the hub key (a person's ID number for card sign-in, counter pickup codes) cannot be
re-derived without the original; `hmac_bound` counts them so the operator knows what to register again.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, select

from kiosk.hub.crypto import DecryptionError, FieldCipher


@dataclass(frozen=True)
class Sealed:
    """One encrypted column: its model, attribute, and the context a row's value was encrypted under."""
    model: type
    column: str
    context: Callable[[object], str]


def sealed_columns() -> list[Sealed]:
    from kiosk.hub.evaluations import Evaluation
    from kiosk.hub.models import KeyProject, KeyProjectEntry, ProxyMandate, ProxyRequest

    fixed = lambda name: (lambda row: name)  # noqa: E731 - the column's own `table.column` context
    cols = [Sealed(ProxyRequest, c, fixed(f"proxy_requests.{c}"))
            for c in ("applicant_enc", "phone_enc", "address_enc", "details_enc")]
    cols += [Sealed(ProxyMandate, c, fixed(f"proxy_mandates.{c}")) for c in ("principal_enc", "agent_enc", "signature_enc")]
    cols += [Sealed(KeyProject, "contact_enc", fixed("key_projects.contact_enc")),
             Sealed(KeyProjectEntry, "text_enc", fixed("key_project_entries.text_enc")),
             Sealed(Evaluation, "text_enc", lambda e: f"evaluations.text:{e.idem_client}:{e.idem_key}"),
             Sealed(Evaluation, "agent_enc", lambda e: f"evaluations.agent:{e.idem_client}:{e.idem_key}")]
    return cols


def reseal_columns(sessions, old: FieldCipher, new: FieldCipher, batch: int = 200,
                   columns: list[Sealed] | None = None) -> dict[str, int]:
    """Re-encrypt every sealed column (default: `sealed_columns()`) from `old` to `new`; returns {"table.column":
    rows re-encrypted}. A value that opens with neither key raises DecryptionError naming the row (nothing of
    its batch is written)."""
    done: dict[str, int] = {}
    for col in columns if columns is not None else sealed_columns():
        table = col.model.__tablename__
        attr = getattr(col.model, col.column)
        n, last_id = 0, -1
        while True:
            with sessions() as s, s.begin():
                rows = s.scalars(select(col.model).where(col.model.id > last_id, attr.is_not(None))
                                 .order_by(col.model.id).limit(batch).with_for_update()).all()
                for row in rows:
                    blob, ctx = getattr(row, col.column), col.context(row)
                    try:
                        new.decrypt(blob, ctx)
                        continue  # already under the current key
                    except DecryptionError:
                        pass
                    try:
                        plain = old.decrypt(blob, ctx)
                    except DecryptionError:
                        raise DecryptionError(f"{table}.{col.column} of row {row.id} opens with neither the old nor"
                                              " the current key") from None
                    setattr(row, col.column, new.encrypt(plain, ctx))
                    n += 1
                if rows:
                    last_id = rows[-1].id
            if len(rows) < batch:
                break
        done[f"{table}.{col.column}"] = n
    return done


def hmac_bound(sessions) -> dict[str, int]:
    """Rows whose value is an HMAC under the hub key: after a rotation they no longer match until registered again."""
    from kiosk.hub.counter import PickupHash
    from kiosk.hub.models import Person

    with sessions() as s:
        return {"people.id_number_hash": s.scalar(select(func.count()).select_from(Person)
                                                  .where(Person.id_number_hash.is_not(None))) or 0,
                "counter_pickup_hashes": s.scalar(select(func.count()).select_from(PickupHash)) or 0}
