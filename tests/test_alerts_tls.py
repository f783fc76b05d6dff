"""Email over STARTTLS still verifies certificates after the lazy TLS context change
(alerts/lazytls.py), and a plain connection never builds a context at all."""

from __future__ import annotations

import ssl

import pytest
from aiosmtpd.controller import Controller

from alerts import lazytls
from alerts.deliver import send_message
from alerts.render import Message
from newswatch.demo.servers import Inbox, free_port
from tests.servers import self_signed_context

MESSAGE = Message(title="tls check", body="<p>hello</p>", body_format="html")


@pytest.fixture
def tls_smtp(tmp_path):
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=self_signed_context(tmp_path),
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
