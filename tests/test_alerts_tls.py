"""Email over STARTTLS verifies the server's certificate unless the channel URL says
`verify=no`; the same server delivers once verification is off."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

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
