"""SafeClient: the only way newswatch talks to the outside world.

Contract:
    with SafeClient(settings) as client:
        result = client.fetch(url, kind="feed" | "page", etag=None, last_modified=None)

`fetch` never raises for network or server trouble: it returns a `FetchResult` whose
`error_class` is a stable name (see `extractors.errors`) and `error` a human message.
Limits, all from `FetchSettings`:
  * one total deadline per fetch (DNS + connect + every redirect + body);
  * the decoded body is capped while streaming (gzip/brotli bombs stop at the cap);
  * redirects are followed by hand (max_redirects_feed / _page), each hop re-checked;
    a URL seen before in the chain is a loop, unless a cookie was set since (consent walls);
  * only http/https; no proxy, netrc or other environment settings (trust_env=False);
  * every connection passes the address guard (`extractors.netguard`);
  * a global and a per-host concurrency cap (the deadline starts once a global slot is
    taken; waiting for a per-host slot counts); a descriptive User-Agent;
  * PDFs, images and other binary bodies are refused as "unsupported_type".
The client is thread-safe: fetch it from as many threads as you like.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from config.models import FetchSettings
from extractors import errors
from extractors.deadline import check_deadline, deadline_scope, time_left
from extractors.decoding import ACCEPT_ENCODING, make_decoder
from extractors.errors import FetchError
from extractors.netguard import AddressPolicy
from extractors.wait_times import parse_retry_after
from extractors.sniff import check_content_type, check_magic
from extractors.transport import GuardedTransport

__all__ = ["SafeClient", "FetchResult", "FetchError"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
SNIFF_BYTES = 512
ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
}


@dataclass
class FetchResult:
    """What one fetch produced. `error_class` is None on success and on 304."""

    url: str
    final_url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    not_modified: bool = False
    error_class: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error_class is None


@dataclass
class _Trail:
    """Where a fetch has got to, so an error can still report final URL and status."""

    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


class SafeClient:
    """Thread-safe HTTP client with the limits of `FetchSettings`; use as a context manager."""

    def __init__(self, settings: FetchSettings | None = None, verify: bool = True) -> None:
        self.settings = settings or FetchSettings()
        self.policy = AddressPolicy(self.settings.allow_private_networks, self.settings.allowed_networks)
        concurrency = max(self.settings.concurrency, 1)
        # Idle connections kept: as many outlets as fetches at once, each with its per-host
        # slots, so a pass reuses an outlet's connections; past that, the oldest idle ones close.
        kept = concurrency * max(self.settings.per_host_concurrency, 1)
        limits = httpx.Limits(max_connections=concurrency + kept, max_keepalive_connections=kept)
        self._http = httpx.Client(
            transport=GuardedTransport(self.policy, limits, verify=verify),
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(self.settings.timeout_seconds),
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )
        self._slots = threading.BoundedSemaphore(max(self.settings.concurrency, 1))
        self._host_slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> SafeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def fetch(
        self,
        url: str,
        kind: str = "feed",
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """Fetch `url` within all limits; never raises for network or server trouble."""
        trail = _Trail(url=url)
        # The deadline starts once a global slot is ours: waiting in our own queue (a pass
        # fanning out 1,000 polls) is not the server's time and must not fail its feed.
        with self._slots, deadline_scope(self.settings.timeout_seconds):
            try:
                return self._follow(url, kind, conditional_headers(etag, last_modified), trail)
            except FetchError as exc:
                return error_result(url, trail, exc.error_class, str(exc))
            except httpx.TimeoutException as exc:
                return error_result(url, trail, "timeout", f"timed out: {exc or type(exc).__name__}")
            except httpx.HTTPError as exc:
                error_class, message = classify_httpx_error(exc)
                return error_result(url, trail, error_class, message)
            except (httpx.InvalidURL, httpx.StreamError, ValueError) as exc:
                return error_result(url, trail, "bad_url", f"cannot fetch {trail.url!r}: {exc}")

    def _follow(self, url: str, kind: str, headers: dict[str, str], trail: _Trail) -> FetchResult:
        max_redirects = self.settings.max_redirects_feed if kind == "feed" else self.settings.max_redirects_page
        # A URL seen before is a loop unless a cookie was set since: a consent wall sends
        # /story -> /consent (which sets the cookie) -> /story, answered this time.
        requested, cookies_set = url, 0
        seen = {(url, cookies_set)}
        for _hop in range(max_redirects + 1):
            check_url(url, self.policy)
            trail.url = url
            location = self._request(url, kind, headers, trail)
            if isinstance(location, FetchResult):
                location.url = requested
                return location
            url = urljoin(url, location)
            cookies_set += sets_cookie(trail.headers)
            visit = (url, cookies_set)
            if visit in seen:
                raise errors.RedirectLoop(f"redirect loop: {trail.url} leads back to {url}")
            seen.add(visit)
        raise errors.TooManyRedirects(f"more than {max_redirects} redirects, last to {url}")

    def _request(self, url: str, kind: str, headers: dict[str, str], trail: _Trail) -> FetchResult | str:
        """One hop: a FetchResult when final, else the Location to follow."""
        request_headers = {"Accept": ACCEPT.get(kind, "*/*"), **headers}
        with self._host_slot(url):
            with self._http.stream("GET", url, headers=request_headers) as response:
                trail.status = response.status_code
                trail.headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status_code in REDIRECT_STATUSES:
                    return redirect_target(response)
                return self._finish(url, kind, response, trail)

    def _finish(self, url: str, kind: str, response: httpx.Response, trail: _Trail) -> FetchResult:
        result = FetchResult(url=url, final_url=str(response.url), status=response.status_code,
                             headers=trail.headers,
                             retry_after=parse_retry_after(trail.headers.get("retry-after")))
        if response.status_code == 304:
            # a 304 has no body, but httpcore keeps the connection only once the response's end
            # is read: without this every quiet poll opened and closed a TCP (and TLS) connection
            response.read()
            result.not_modified = True
            return result
        if not 200 <= response.status_code < 300:
            exc = errors.HTTPStatusError(response.status_code, f"server answered {response.status_code} "
                                         f"{response.reason_phrase} for {url}")
            result.error_class, result.error = exc.error_class, str(exc)
            return result
        check_content_type(trail.headers.get("content-type"), kind)
        result.body = read_body(response, self._max_bytes(kind), kind)
        return result

    def _max_bytes(self, kind: str) -> int:
        return self.settings.max_feed_bytes if kind == "feed" else self.settings.max_page_bytes

    @contextmanager
    def _host_slot(self, url: str):
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            slot = self._host_slots.setdefault(
                host, threading.BoundedSemaphore(max(self.settings.per_host_concurrency, 1))
            )
        with _acquire(slot, f"a connection slot for {host}"):
            yield


@contextmanager
def _acquire(semaphore: threading.BoundedSemaphore, what: str):
    left = time_left()
    if not semaphore.acquire(timeout=max(left, 0) if left is not None else None):
        raise errors.DeadlineExceeded(f"waited too long for {what}")
    try:
        yield
    finally:
        semaphore.release()


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def check_url(url: str, policy: AddressPolicy) -> None:
    """Refuse non-http(s) URLs and literal private addresses before any connection."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise errors.BadScheme(f"not a valid URL: {url!r} ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise errors.BadScheme(f"only http and https URLs are fetched, not {parts.scheme or 'no'} scheme: {url!r}")
    if not host:
        raise errors.BadScheme(f"URL has no host: {url!r}")
    policy.check_host(host)


def sets_cookie(headers: dict[str, str]) -> bool:
    """Whether a response (lowercased headers) set a cookie, which the client's jar keeps."""
    return "set-cookie" in headers or "set-cookie2" in headers


def redirect_target(response: httpx.Response) -> str:
    location = response.headers.get("location", "").strip()
    if not location:
        raise errors.BadRedirect(f"{response.status_code} redirect without a Location header")
    return location


def read_body(response: httpx.Response, max_bytes: int, kind: str) -> bytes:
    """The decoded body, stopped as soon as it passes `max_bytes` or the deadline."""
    declared = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding")
    if declared.isdigit() and not encoding and int(declared) > max_bytes:
        raise errors.TooLarge(f"body of {int(declared)} bytes is larger than the {max_bytes} byte cap")
    decoder = make_decoder(encoding)
    body = bytearray()
    sniffed = False
    for raw in response.iter_raw():
        for piece in decoder.feed(raw):
            sniffed = _append_piece(body, piece, max_bytes, kind, sniffed)
        check_deadline()
    for piece in decoder.flush():
        sniffed = _append_piece(body, piece, max_bytes, kind, sniffed)
    if not sniffed:
        check_magic(bytes(body[:SNIFF_BYTES]), kind)
    return bytes(body)


def _append_piece(body: bytearray, piece: bytes, max_bytes: int, kind: str, sniffed: bool) -> bool:
    body += piece
    if len(body) > max_bytes:
        raise errors.TooLarge(f"decoded body is larger than the {max_bytes} byte cap")
    if not sniffed and len(body) >= SNIFF_BYTES:
        check_magic(bytes(body[:SNIFF_BYTES]), kind)
        return True
    check_deadline()
    return sniffed


def classify_httpx_error(exc: httpx.HTTPError) -> tuple[str, str]:
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "bad_scheme", str(exc)
    if isinstance(exc, (httpx.ConnectError, httpx.NetworkError)):
        return "connect_error", f"could not connect: {exc}"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError)):
        return "protocol_error", f"malformed HTTP exchange: {exc}"
    if isinstance(exc, httpx.InvalidURL):
        return "bad_url", str(exc)
    return "fetch_error", f"{type(exc).__name__}: {exc}"


def error_result(url: str, trail: _Trail, error_class: str, message: str) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=trail.url,
        status=trail.status,
        headers=trail.headers,
        error_class=error_class,
        error=message,
        retry_after=parse_retry_after(trail.headers.get("retry-after")),
    )
