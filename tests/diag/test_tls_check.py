"""hub.tls: a certificate the kiosk cannot trust is an error, one about to expire a warning, an expired one an
error; plain http to a non-local hub is a warning."""
import datetime as dt
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devices.model import HealthLevel
from kiosk.config import Config
from kiosk.diag.network import check_tls


def self_signed(tmp_path, days_valid: float):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=30))
            .not_valid_after(now + dt.timedelta(days=days_valid))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path):
    servers = []

    def start(days_valid: float) -> int:
        cert, key = self_signed(tmp_path, days_valid)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        srv = socket.create_server(("127.0.0.1", 0))
        srv.settimeout(0.2)
        stop = threading.Event()

        def serve():
            while not stop.is_set():
                try:
                    conn, _ = srv.accept()
                except OSError:
                    continue
                try:
                    with ctx.wrap_socket(conn, server_side=True):
                        pass
                except (ssl.SSLError, OSError):
                    pass

        threading.Thread(target=serve, daemon=True).start()
        servers.append((srv, stop))
        return srv.getsockname()[1]

    yield start
    for srv, stop in servers:
        stop.set()
        srv.close()


def cfg_for(url: str, verify: bool = True) -> Config:
    cfg = Config()
    cfg.hub.url, cfg.hub.verify_tls, cfg.hub.timeout_s = url, verify, 3.0
    return cfg


def test_untrusted_certificate_is_an_error(tls_server):
    port = tls_server(365)
    res = check_tls(cfg_for(f"https://localhost:{port}"), HealthLevel.INTERNAL, "en").as_dict()
    assert res["check"] == "hub.tls" and res["severity"] == "error"
    assert res["errors"][0]["code"] == "tls_invalid" and "date and time" in res["errors"][0]["action"]


def test_expiry_soon_is_a_warning_and_past_expiry_an_error(tls_server):
    soon = check_tls(cfg_for(f"https://localhost:{tls_server(10)}", verify=False), HealthLevel.INTERNAL, "en").as_dict()
    assert [e["code"] for e in soon["errors"]] == ["tls_not_verified", "tls_expires_soon"]
    assert soon["severity"] == "warning" and 9 <= soon["details"]["days_left"] <= 10
    gone = check_tls(cfg_for(f"https://localhost:{tls_server(-1)}", verify=False), HealthLevel.INTERNAL, "en").as_dict()
    assert "tls_expired" in [e["code"] for e in gone["errors"]] and gone["severity"] == "error"


def test_plain_http_is_fine_on_loopback_only():
    assert check_tls(cfg_for("http://127.0.0.1:8700"), HealthLevel.INTERNAL, "en").as_dict()["severity"] == "ok"
    remote = check_tls(cfg_for("http://10.1.2.3:8700"), HealthLevel.INTERNAL, "zh_CN").as_dict()
    assert remote["severity"] == "warning" and remote["errors"][0]["code"] == "tls_not_used"

