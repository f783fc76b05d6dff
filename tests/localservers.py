"""A webhook receiver on 127.0.0.1 for chat-alert tests (apprise's json:// posts here), and a
feed server whose answers a test can hold or time.

The site and SMTP inbox live in `newswatch.demo.servers` (the demo uses them too).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from newswatch.demo.servers import Site, SmtpServer, free_port

__all__ = ["FeedServer", "Site", "SmtpServer", "WebhookReceiver", "free_port"]


class FeedServer(Site):
    """Answers every GET on `host` with the RSS `body`, after calling `before_answer()` in the
    request's thread (to hold the answer, time it, or note who asked when)."""

    def __init__(self, body: bytes, before_answer: Callable[[], None] = lambda: None, host: str = "127.0.0.1"):
        super().__init__(host, fallback=(200, {"Content-Type": "application/rss+xml"}, body),
                         before_answer=before_answer)


class WebhookReceiver:
    """Accepts JSON POSTs (apprise's json:// and form plugins); `status` sets the answer.

    Only complete requests count as received: a sender killed mid-POST (the crash harness does
    that) leaves headers and a short body, which no real chat server would accept.
    """

    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender died mid-request: a real server discards a truncated body too
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.status == 200:
                    receiver.received.append(json.loads(body or b"{}"))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def apprise_url(self, path: str = "/hook") -> str:
        port = self.server.server_address[1]
        return f"json://127.0.0.1:{port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
