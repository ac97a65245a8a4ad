"""schemathesis over the 代办 endpoints (proxy requests, 委托书, outlets) of the hub's OpenAPI document, with real
tokens of three roles, on SQLite and PostgreSQL: valid and invalid generated requests never get a 5xx, every
status code is one the document declares, and 2xx bodies match their schema. The live feed (an endless stream)
is left out; the long-poll claim too for the clerk (it would wait for requests that never come)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from hub_support import APP_ID, SECRET
from kiosk.hub.app import create_app
from kiosk.hub.auth import create_token
from kiosk.platform.http_adapter import ReferenceHttpAdapter
from test_proxy_support import build_network

MINE = ("/api/v1/proxy-requests", "/api/v1/mandates", "/api/v1/outlets", "/api/v1/key-projects")


@pytest.fixture
def fuzz_app(db_url, sim, tmp_path):
    app = create_app(db_url, ReferenceHttpAdapter(sim.url, APP_ID, SECRET, timeout=5),
                     upload_dir=tmp_path / "uploads", relay=False)
    tokens, _ = build_network(app)
    yield app, tokens
    app.state.hub.engine.dispose()


def _operations(app, skip: tuple[str, ...]):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for result in schema.get_all_operations():
        op = result.ok()
        if op is not None and op.path.startswith(MINE) and not op.path.endswith(skip):
            yield op


def _run(op, mode, headers: dict, failures: list[str], max_examples: int) -> None:
    checks = [not_a_server_error, status_code_conformance]
    if mode == schemathesis.GenerationMode.POSITIVE:
        checks.append(response_schema_conformance)

    @settings(max_examples=max_examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case):
        try:
            case.call_and_validate(headers=headers, checks=checks)
        except Exception as exc:  # a schemathesis FailureGroup names each failed check
            lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
            failures.append(f"{op.method.upper()} {op.path} [{mode.value}]: {' / '.join(lines[:6])[:400]}")

    try:
        run()
    except Unsatisfiable:  # nothing to negate in this operation
        pass


@pytest.mark.slow
@pytest.mark.parametrize("who, skip", [("kiosk", ("/feed",)), ("clerk", ("/feed", "/claim")),
                                       ("supervisor", ("/feed",))])
def test_generated_requests_get_declared_answers_and_never_a_5xx(fuzz_app, who, skip):
    app, tokens = fuzz_app
    headers = {"Authorization": f"Bearer {tokens[who]}", "Idempotency-Key": f"fuzz-{who}"}
    failures: list[str] = []
    ran = 0
    for op in _operations(app, skip):
        ran += 1
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            _run(op, mode, headers, failures, max_examples=12)
    assert ran >= 8, "the 代办 operations were not found in the OpenAPI document"
    assert failures == [], "\n".join(sorted(set(failures))[:15])
