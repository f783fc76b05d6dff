"""Small real servers on 127.0.0.1: a web site (feeds and pages) and an SMTP inbox.

The offline demo serves its bundled pages and receives its alert with these; the tests
use the same classes. Nothing here is a mock: newswatch talks to them over real
sockets exactly as it would to a publisher or a mail server.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


Route = tuple[int, dict[str, str], bytes]  # status, headers, body
NOT_FOUND: Route = (404, {"Content-Type": "text/plain"}, b"not found")


class Site:
    """A tiny web site on 127.0.0.1: path -> (status, headers, body). Counts requests per path.

    `fallback` answers the paths without a route (404 by default); `before_answer()` is
    called in each request's thread before it is answered (a test holds or times answers)."""

    def __init__(self, host: str = "127.0.0.1", fallback: Route = NOT_FOUND,
                 before_answer: Callable[[], None] | None = None):
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                if before_answer is not None:
                    before_answer()
                with site.lock:
                    site.hits[self.path] = site.hits.get(self.path, 0) + 1
                    route = site.routes.get(self.path)
                status, headers, body = route or fallback
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8",
            status: int = 200, headers: dict[str, str] | None = None) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = (status, {"Content-Type": content_type, **(headers or {})}, data)
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Inbox:
    """Messages an aiosmtpd server on 127.0.0.1 accepted."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        return "250 OK"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self):
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def apprise_url(self, to: str = "desk@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=newswatch@example.org&to={to}&mode=insecure"

    def close(self) -> None:
        self.controller.stop()
