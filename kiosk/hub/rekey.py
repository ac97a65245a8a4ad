"""Key rotation beyond cases: every other column the hub encrypts with its key (代办 requests, 委托书, key projects,
evaluations) re-encrypted from the old key to the current one, in batches, each row under the context it was written
with. A row that already opens with the current key is left alone, so an interrupted rotation is simply run again.

Values kept only as an HMAC (a person's ID number for card sign-in, counter pickup codes, the ID hash of a 代发
recipient) cannot be recomputed without the original, so the HMAC key itself is carried over: `carry_mac_key`, the
first step of a rotation, keeps the HMAC key in use in hub_settings sealed under the new key, and every hub builds
its cipher with it (`kiosk.hub.crypto.hub_cipher`). It is written, in one transaction, before any value is
re-encrypted: a rotation interrupted after it leaves a database whose new key already opens the HMAC key, and run
again it finds the row under the new key and leaves it. `hmac_bound` counts the values that rely on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, select

from kiosk.hub.crypto import MAC_KEY_SETTING, DecryptionError, FieldCipher, seal_mac_key, unseal_mac_key


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


def _data_under(s, old: FieldCipher, new: FieldCipher) -> str:
    """Which key the sealed data opens with, from the first value of each column: "old" as soon as one opens with
    `old`, "new" when those found open only with `new`, "empty" when there is none. A value that opens with
    neither raises DecryptionError naming it (a wrong --old-key-file), before anything is written."""
    from kiosk.hub.case_fields import context
    from kiosk.hub.models import Case

    found = "empty"
    for col in [Sealed(Case, "personal_enc", lambda case: context(case.receipt_no)), *sealed_columns()]:
        attr = getattr(col.model, col.column)
        row = s.scalars(select(col.model).where(attr.is_not(None)).order_by(col.model.id).limit(1)).first()
        if row is None:
            continue
        blob, ctx = getattr(row, col.column), col.context(row)
        for label, cipher in (("old", old), ("new", new)):
            try:
                cipher.decrypt(blob, ctx)
            except DecryptionError:
                continue
            if label == "old":
                return "old"
            found = "new"
            break
        else:
            raise DecryptionError(f"{col.model.__tablename__}.{col.column} of row {row.id} opens with neither the old"
                                  " nor the current key")
    return found


def carry_mac_key(sessions, old: FieldCipher, new: FieldCipher) -> str:
    """Keep the HMAC key in use sealed under `new`'s key in hub_settings (`id_hmac_key`), the first step of a
    rotation. `old` and `new` are built from the master keys alone (`FieldCipher(key)`).

    The key in use is the one the row holds (sealed under `old`), else the one derived from the old master key;
    it is the one derived from the new master key only for a database whose data is all under the new key
    already (rotated before the HMAC key was carried: the hub has hashed with that key since). Returns "carried",
    or "kept" when the row is already under `new` (a rotation run again). Raises DecryptionError, writing
    nothing, when the row or a sealed value opens with neither key."""
    from kiosk.hub.models import HubSetting

    with sessions() as s, s.begin():
        row = s.get(HubSetting, MAC_KEY_SETTING, with_for_update=True)
        if row is not None:
            try:
                unseal_mac_key(new, row.value)
                return "kept"
            except DecryptionError:
                pass
            try:
                mac_key = unseal_mac_key(old, row.value)
            except DecryptionError:
                raise DecryptionError(f"hub_settings.{MAC_KEY_SETTING} (the HMAC key of card sign-in and pickup"
                                      " codes) opens with neither the old nor the current key") from None
            row.value = seal_mac_key(new, mac_key)
            return "carried"
        mac_key = new.mac_key if _data_under(s, old, new) == "new" else old.mac_key
        s.add(HubSetting(key=MAC_KEY_SETTING, value=seal_mac_key(new, mac_key)))
        return "carried"


def hmac_bound(sessions) -> dict[str, int]:
    """Rows whose value is only an HMAC under the hub's HMAC key: they keep matching after a rotation because
    `carry_mac_key` carries that key over."""
    from kiosk.hub.counter import PickupHash
    from kiosk.hub.models import Person

    with sessions() as s:
        return {"people.id_number_hash": s.scalar(select(func.count()).select_from(Person)
                                                  .where(Person.id_number_hash.is_not(None))) or 0,
                "counter_pickup_hashes": s.scalar(select(func.count()).select_from(PickupHash)) or 0}
