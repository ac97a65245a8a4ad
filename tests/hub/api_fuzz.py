"""Shared helper for the schemathesis runs over the hub's API: every operation matching the given paths is fed
generated requests (valid and invalid, including NUL, lone surrogates, huge numbers) with a real token, and must
never answer 5xx. Used by the reliability tests (cases, receipts, uploads, callbacks) and the 代办 API tests.

    failures = fuzz(app, token, include=lambda method, path: path.startswith("/api/v1/cases"), max_examples=40)
    assert failures == []
"""
from __future__ import annotations

from typing import Callable

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error  # noqa: F401 - the check these runs stand for


def hub_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def fuzz(app, token: str, include: Callable[[str, str], bool], max_examples: int = 40,
         extra_headers: dict | None = None) -> list[str]:
    """Run every included operation; return one line per request that got a 5xx (empty: all good)."""
    schema = hub_schema(app)
    failures: list[str] = []
    ran = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if op is None or not include(op.method.upper(), op.path):
            continue
        ran += 1
        headers = {"Authorization": f"Bearer {token}", **(extra_headers or {})}
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            _run(op, op.as_strategy(generation_mode=mode), headers, max_examples, failures)
    if ran == 0:
        raise AssertionError("no operation matched: check the include filter")
    return failures


def _run(op, strategy, headers: dict, max_examples: int, failures: list[str]) -> None:
    @settings(max_examples=max_examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        resp = case.call(headers=headers)
        if resp.status_code >= 500:
            failures.append(f"{op.method.upper()} {op.path}: {resp.status_code} for"
                            f" path={case.path_parameters!r} body={str(case.body)[:200]!r}")

    try:
        run()
    except Unsatisfiable:  # nothing to negate in this operation (e.g. no body, no constrained parameter)
        pass
