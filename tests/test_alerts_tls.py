"""Email over STARTTLS still verifies certificates after the lazy TLS context change
(alerts/lazytls.py), and a plain connection never builds a context at all."""

from __future__ import annotations

import datetime
import ssl

import pytest
from aiosmtpd.controller import Controller

from alerts import lazytls
from alerts.deliver import send_message
from alerts.render import Message
from newswatch.demo.servers import Inbox, free_port

MESSAGE = Message(title="tls check", body="<p>hello</p>", body_format="html")


def self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


@pytest.fixture
def tls_smtp(tmp_path):
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=self_signed(tmp_path),
                            require_starttls=True)
    controller.start()
    yield inbox, port
    controller.stop()


def url(port: int, verify: str) -> str:
    return (f"mailtos://127.0.0.1:{port}?mode=starttls&verify={verify}"
            "&from=newswatch@example.org&to=desk@example.org")


def test_starttls_with_an_untrusted_certificate_is_refused_when_verifying(tls_smtp):
    inbox, port = tls_smtp
    outcome = send_message(url(port, "yes"), MESSAGE, 10)
    assert not outcome.ok and inbox.messages == []
    assert send_message(url(port, "no"), MESSAGE, 10).ok  # the same server, only verification differs


def test_starttls_without_verification_delivers(tls_smtp):
    inbox, port = tls_smtp
    assert send_message(url(port, "no"), MESSAGE, 10).ok
    assert len(inbox.messages) == 1


def test_lazy_context_applies_settings_made_before_first_use():
    context = lazytls.LazyContext()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    assert context._real is None and context.verify_mode == ssl.CERT_NONE
    real = context.real()
    assert real.check_hostname is False and real.verify_mode == ssl.CERT_NONE
    assert lazytls.LazyContext().real().verify_mode == ssl.CERT_REQUIRED


def test_install_is_a_no_op_when_apprise_has_no_such_module():
    assert lazytls.install("apprise.no_such_module") is False
