"""Issue 13, bad input: schemathesis over every endpoint the reliability work owns (cases, receipt copies, tus
uploads, platform callbacks) with a real token and the hub's real limits, on SQLite and PostgreSQL: no 5xx."""
from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_fuzz import fuzz
from hub_support import APP_ID, SECRET
from kiosk.hub.app import create_app
from kiosk.hub.auth import create_token
from kiosk.hub.schemas import MAX_CASE_BODY_BYTES, MAX_FORM_BYTES, MAX_RECEIPT_NO
from kiosk.platform.http_adapter import ReferenceHttpAdapter

MINE = ("/api/v1/cases", "/files", "/callbacks/platform")


@pytest.fixture
def app_and_token(db_url, tmp_path):
    # An adapter that is never called over the network: callbacks only need its signature check.
    adapter = ReferenceHttpAdapter("http://127.0.0.1:9", APP_ID, SECRET, timeout=1)
    app = create_app(db_url, adapter, upload_dir=tmp_path / "uploads", relay=False, reserve_bytes=0)
    with app.state.hub.sessions() as s, s.begin():
        token = create_token(s, "kiosk", "K0001")
    yield app, token
    app.state.hub.engine.dispose()


def test_the_schema_states_the_hubs_real_limits(app_and_token):
    app, _ = app_and_token
    spec = app.openapi()
    case_in = spec["components"]["schemas"]["CaseIn"]["properties"]
    assert case_in["receipt_no"]["maxLength"] == MAX_RECEIPT_NO
    applicant = spec["components"]["schemas"]["ApplicantIn"]["properties"]
    assert applicant["name"]["maxLength"] == 100 and applicant["address"]["maxLength"] == 300
    assert MAX_FORM_BYTES < MAX_CASE_BODY_BYTES


def test_no_generated_request_gets_a_5xx(app_and_token):
    app, token = app_and_token
    failures = fuzz(app, token, include=lambda method, path: path.startswith(MINE), max_examples=25)
    assert failures == [], "\n".join(failures[:10])


def test_tus_headers_of_any_shape_get_no_5xx(app_and_token):
    from starlette.testclient import TestClient

    app, token = app_and_token
    client = TestClient(app)
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    url = client.post("/files/", headers=auth | {"Upload-Length": "16"}).headers["Location"]
    path = "/files/" + url.rsplit("/files/", 1)[1]
    header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(length=header_text, offset=header_text, meta=header_text, checksum=header_text,
           body=st.binary(max_size=64), raw_name=st.text(max_size=30))
    def run(length, offset, meta, checksum, body, raw_name):
        name = base64.b64encode(raw_name.encode("utf-8", "surrogatepass")).decode()
        for headers in (auth | {"Upload-Length": length, "Upload-Metadata": meta},
                        auth | {"Upload-Length": "8", "Upload-Metadata": f"filename {name}"}):
            assert client.post("/files/", headers=headers).status_code < 500
        r = client.patch(path, content=body, headers=auth | {"Upload-Offset": offset, "Upload-Checksum": checksum,
                                                              "Content-Type": "application/offset+octet-stream"})
        assert r.status_code < 500
        assert client.head(path, headers=auth).status_code < 500

    run()
