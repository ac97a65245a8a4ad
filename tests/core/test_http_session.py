"""The hot paths' HTTP sessions read the environment's proxy and CA bundle once, when made, not on every call."""
import http.server
import threading

import pytest
import urllib3

from kiosk.config import Config
from kiosk.counter.client import CounterClient
from kiosk.diag.network import NetworkProbe
from kiosk.http_session import pool_for, session_for
from kiosk.platform.http_adapter import ReferenceHttpAdapter
from kiosk.sync.client import HubClient

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
              "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture
def clean_env(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def server():
    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_the_proxy_for_the_url_is_taken_from_the_environment(clean_env):
    clean_env.setenv("HTTPS_PROXY", "http://proxy.gov.example:3128")
    clean_env.setenv("NO_PROXY", "hub.outlet.example")
    assert session_for("https://platform.gov.example").proxies.get("https") == "http://proxy.gov.example:3128"
    assert not session_for("https://hub.outlet.example").proxies  # NO_PROXY: straight to it


def test_the_ca_bundle_is_taken_from_the_environment_unless_tls_checks_are_off(clean_env):
    clean_env.setenv("REQUESTS_CA_BUNDLE", "/etc/govkiosk/ca.pem")
    assert session_for("https://hub.outlet.example").verify == "/etc/govkiosk/ca.pem"
    assert session_for("https://hub.outlet.example", verify_tls=False).verify is False
    clean_env.delenv("REQUESTS_CA_BUNDLE")
    assert session_for("https://hub.outlet.example").verify is True


def test_a_proxy_set_after_the_session_was_made_is_not_read_per_call(clean_env, server):
    """With requests' default every call read the environment again (and looked for ~/.netrc)."""
    session = session_for(server)
    clean_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    assert session.get(server + "/", timeout=5).text == "ok"


def test_the_clients_of_the_hot_paths_use_such_sessions(clean_env):
    clean_env.setenv("HTTPS_PROXY", "http://proxy.gov.example:3128")
    cfg = Config()
    cfg.hub.url = "https://hub.example"
    for session in (HubClient("https://hub.example", "t").session, CounterClient("https://hub.example", "t").session,
                    NetworkProbe(cfg).session):  # `kiosk diag` sees the hub as the kiosk's own client does
        assert session.trust_env is False
        assert session.proxies.get("https") == "http://proxy.gov.example:3128"
    platform = ReferenceHttpAdapter("https://platform.example", "app", "secret").http  # the relay's calls
    assert isinstance(platform, urllib3.ProxyManager)
    assert platform.proxy.url == "http://proxy.gov.example:3128"


def test_a_pool_takes_the_same_proxy_and_ca_bundle_as_a_session(clean_env):
    clean_env.setenv("HTTPS_PROXY", "http://proxy.gov.example:3128")
    clean_env.setenv("NO_PROXY", "hub.outlet.example")
    clean_env.setenv("REQUESTS_CA_BUNDLE", "/etc/govkiosk/ca.pem")
    proxied = pool_for("https://platform.gov.example")
    assert isinstance(proxied, urllib3.ProxyManager) and proxied.proxy.url == "http://proxy.gov.example:3128"
    direct = pool_for("https://hub.outlet.example")
    assert not isinstance(direct, urllib3.ProxyManager)  # NO_PROXY: straight to it
    assert direct.connection_pool_kw["ca_certs"] == "/etc/govkiosk/ca.pem"
    assert direct.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    assert pool_for("https://hub.outlet.example", verify_tls=False).connection_pool_kw["cert_reqs"] == "CERT_NONE"
    clean_env.delenv("REQUESTS_CA_BUNDLE")
    assert pool_for("https://hub.outlet.example").connection_pool_kw["ca_certs"].endswith(".pem")  # requests' own


def test_a_pool_does_not_read_a_proxy_set_after_it_was_made(clean_env, server):
    pool = pool_for(server)
    clean_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    assert pool.request("GET", server + "/", timeout=5).data == b"ok"


def test_a_session_keeps_a_connection_for_each_delivery_in_flight(clean_env):
    """The relay's deliveries share one session: beyond requests' 10 connections each call reconnected."""
    adapter = session_for("http://platform.example").get_adapter("http://platform.example/api")
    assert adapter._pool_maxsize >= 16
    assert pool_for("http://platform.example").connection_pool_kw["maxsize"] >= 16
