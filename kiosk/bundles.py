"""一件事 (bundled services): the questionnaire's answers decide which items and materials one submission takes.

Pure Python, shared by the kiosk (to show the combined list and fill the session) and the platform simulator (to
check a bundle submission against the same rules). A bundle entry comes from the catalog with `kind` "bundle",
`base_items` (always included) and `questions`, each option adding items and materials.
"""
from __future__ import annotations


class BundleError(ValueError):
    """The answers do not fit the bundle's questionnaire."""


def plan(bundle: dict, answers: dict[str, str], catalog: dict[str, dict]) -> dict:
    """{"items": [item entries], "materials": [...], "form_fields": [...], "promised_days": n} for `answers`
    (question key → option value). Materials are merged by name (one 身份证 for the whole bundle); form fields by
    key. Raises BundleError for a missing or unknown answer."""
    item_codes = list(bundle.get("base_items", []))
    extra_materials: list[dict] = []
    for q in bundle.get("questions", []):
        value = answers.get(q["key"])
        option = next((o for o in q["options"] if o["value"] == value), None)
        if option is None:
            raise BundleError(f"question {q['key']!r} has no valid answer")
        item_codes += [c for c in option.get("items", []) if c not in item_codes]
        extra_materials += option.get("materials", [])
    items = []
    for code in item_codes:
        if code not in catalog:
            raise BundleError(f"item {code} of the bundle is not in the catalog")
        items.append(catalog[code])
    materials: list[dict] = []
    seen: set[str] = set()
    for m in [m for item in items for m in item.get("materials", [])] + extra_materials:
        if m["name"] in seen:
            continue
        seen.add(m["name"])
        materials.append({**m, "code": f"B{len(materials) + 1:02d}"})
    fields: list[dict] = []
    keys: set[str] = set()
    for f in (f for item in items for f in item.get("form_fields", [])):
        if f["key"] not in keys:
            keys.add(f["key"])
            fields.append(dict(f))
    delivery = [d for d in bundle.get("delivery", ["自取"]) if all(d in i.get("delivery", []) for i in items)] or ["自取"]
    return {"items": items, "item_codes": item_codes, "materials": materials, "form_fields": fields,
            "promised_days": max([int(i.get("promised_days") or 0) for i in items] or [0]), "delivery": delivery,
            "in_person_required": any(i.get("in_person_required") for i in items),
            "proxy_allowed": all(i.get("proxy_allowed") for i in items)}


def as_service(bundle: dict, answers: dict[str, str], catalog: dict[str, dict]) -> dict:
    """The bundle as one service the application journey can take (form, scan, confirm, receipt): its materials
    and form fields are the combined ones, and `bundle` carries the answers and items for the platform."""
    p = plan(bundle, answers, catalog)
    service = {k: v for k, v in bundle.items() if k not in ("questions",)}
    service.update(materials=p["materials"], form_fields=p["form_fields"], promised_days=p["promised_days"],
                   delivery=p["delivery"], in_person_required=p["in_person_required"], proxy_allowed=p["proxy_allowed"],
                   bundle={"code": bundle["item_code"], "answers": dict(answers), "items": p["item_codes"]})
    return service
