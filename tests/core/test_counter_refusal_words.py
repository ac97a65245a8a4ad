"""Every refusal code the hub can answer the counter with (its counter routes and the 代办 API) has a sentence
at the counter (screens/counter/base.py REFUSALS) translated to zh_CN: otherwise the clerk reads the hub's
English message behind "The hub refused this"."""
import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

from kiosk.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]


def _refusal_keys() -> dict[str, str]:
    tree = ast.parse((ROOT / "screens/counter/base.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "REFUSALS" for t in node.targets):
            return {k.value: v.args[0].value for k, v in zip(node.value.keys, node.value.values)}
    raise AssertionError("REFUSALS not found in screens/counter/base.py")


def _hub_codes() -> set[str]:
    counter = (ROOT / "kiosk/hub/counter.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'_refuse\(\s*\d+\s*,\s*"([a-z_]+)"', counter))
    for module in ("proxy_service.py", "proxy_api.py"):
        codes |= set(re.findall(r'\bcode="([a-z_]+)"', (ROOT / "kiosk/hub" / module).read_text(encoding="utf-8")))
    return codes


def test_the_hub_answers_the_counter_with_codes_found_here():
    codes = _hub_codes()
    assert {"wrong_pin", "locked", "held_by_other", "taken", "lease_lapsed", "nothing_to_look_up"} <= codes


def test_every_refusal_code_has_a_translated_sentence_at_the_counter():
    sentences = _refusal_keys()
    missing = sorted(_hub_codes() - set(sentences))
    assert not missing, f"refusal codes without a sentence in screens/counter/base.py REFUSALS: {missing}"
    with (LOCALE_DIR / "zh_CN/LC_MESSAGES/kiosk.po").open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    for code, sentence in sentences.items():
        entry = catalog.get(sentence)
        assert entry is not None and entry.string, f"{code}: not translated to zh_CN: {sentence!r}"
