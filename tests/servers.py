"""Real servers on 127.0.0.x for the extractors tests, including hostile ones.

`RawServer(handler, host)` is a threaded TCP server: it reads each request head and
hands the socket and path to `handler(conn, path)`, which may misbehave at will
(drip, hang, stream forever, bomb). It counts connections, so a test can prove that
nothing ever reached it. `serve_feed_corpus` / `fetch_corpus` serve feedparser's test
corpus over HTTP with each file's `Header:` lines and return the parsed feeds, for the
feed tests here and for a store test later.
"""

from __future__ import annotations

import datetime
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from werkzeug.wrappers import Request, Response

from extractors.feeds import ParsedFeed, parse_feed
from extractors.http import FetchResult, SafeClient

Handler = Callable[[socket.socket, str], None]
HEADER_LINE = re.compile(r"^Header:\s*([^:]+):\s*(.*)$", re.MULTILINE)


class RawServer:
    """A TCP server whose handler gets the raw socket; stop with `close()`."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.connections = 0
        self.paths: list[str] = []
        self.stopping = threading.Event()
        self._listener = socket.create_server((host, 0), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _addr = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            path = read_request_path(conn)
            if path is None:
                return
            self.paths.append(path)
            try:
                self.handler(conn, path)
            except OSError:
                pass

    def close(self) -> None:
        self.stopping.set()
        self._listener.close()
        self._thread.join(timeout=2)

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def self_signed_context(tmp_path: Path) -> ssl.SSLContext:
    """A server-side TLS context with a fresh self-signed certificate for `localhost`."""
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


def read_request_path(conn: socket.socket) -> str | None:
    conn.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            data += chunk
    except OSError:
        return None
    parts = data.split(b" ", 2)
    return parts[1].decode("latin-1") if len(parts) > 1 else "/"


def send_head(conn: socket.socket, status: str = "200 OK", headers: dict[str, str] | None = None) -> None:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def wait_closed(conn: socket.socket, stop: threading.Event, seconds: float = 60) -> None:
    """Hold the connection open, reading nothing, until the client leaves or `stop`."""
    conn.settimeout(0.2)
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop.is_set():
        try:
            if conn.recv(1) == b"":
                return
        except (TimeoutError, socket.timeout):
            continue
        except OSError:
            return


def gzip_bomb(decoded_mib: int = 512, fill: bytes = b" ") -> bytes:
    """A gzip stream of `decoded_mib` MiB of `fill` (about 1/1000 of that on the wire)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = fill * (1024 * 1024 // len(fill))
    parts = [compressor.compress(block) for _ in range(decoded_mib)]
    parts.append(compressor.flush())
    return b"".join(parts)


def corpus_headers(text: str) -> dict[str, str]:
    """The `Header:` lines of a feedparser test file's leading comment."""
    head = text[: text.find("-->") + 3] if "-->" in text[:4096] else text[:4096]
    return {name.strip(): value.strip() for name, value in HEADER_LINE.findall(head)}


def serve_feed_corpus(httpserver, root: Path) -> None:
    """Serve every file under `root` at its relative path, with its Header: lines."""

    def respond(request: Request) -> Response:
        path = (root / request.path.lstrip("/")).resolve()
        if root.resolve() not in path.parents or not path.is_file():
            return Response("missing", status=404)
        body = path.read_bytes()
        headers = corpus_headers(body.decode("latin-1"))
        headers.setdefault("Content-Type", "application/xml")
        response = Response(body, headers=headers)
        if "Content-Type" in headers:
            response.headers["Content-Type"] = headers["Content-Type"]
        return response

    httpserver.expect_request(re.compile(r"/.*")).respond_with_handler(respond)


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".xml", ".rdf", ".json", ".atom", ".rss"))


def fetch_corpus(
    client: SafeClient, base_url: str, root: Path, files: list[Path] | None = None
) -> list[tuple[Path, FetchResult, ParsedFeed | None]]:
    """Fetch and parse every corpus file; returns (file, fetch result, parsed feed or None)."""
    results = []
    for path in files if files is not None else corpus_files(root):
        url = base_url.rstrip("/") + "/" + path.relative_to(root).as_posix()
        fetched = client.fetch(url, kind="feed")
        parsed = parse_feed(fetched.body, fetched.headers, fetched.final_url) if fetched.ok else None
        results.append((path, fetched, parsed))
    return results
