"""Every failure the extractors stage can report, in one place.

Each exception carries a stable `error_class` string: that string (never the
message) is what the flow stores, counts per feed and shows to the user. The
message says what happened and, where it helps, what to do about it.

    FetchError                      any failure of SafeClient.fetch
    ├── BadScheme          bad_scheme           only http:// and https:// are fetched
    ├── BlockedAddress     ssrf_blocked         private / loopback / metadata address
    ├── DeadlineExceeded   timeout              total time budget used up
    ├── ConnectFailed      connect_error        DNS or TCP/TLS connection failed
    ├── TooLarge           too_large            decoded body larger than the cap
    ├── RedirectLoop       redirect_loop        a redirect went back to a visited URL (no cookie set since)
    ├── TooManyRedirects   too_many_redirects   more hops than max_redirects_*
    ├── BadRedirect        bad_redirect         3xx without a usable Location
    ├── UnsupportedType    unsupported_type     PDF, image, binary...
    ├── BadEncoding        bad_encoding         unknown or corrupt Content-Encoding
    └── HTTPStatusError    http_404, http_410, http_429, http_5xx, http_4xx

Raised by httpx and named by `SafeClient` (`classify_httpx_error`): connect_error,
protocol_error (malformed HTTP from the server), fetch_error.

    WorkFailed                      a feed or page the pass could not turn into data
    ├── ParseTimeout       parse_timeout        feed parser took longer than its budget
    ├── ParseCrashed       parse_crashed        parsing worker died (memory cap, segfault)
    ├── PageUnavailable    no_link, http_403..  the entry's page was not fetched (the fetch's class)
    ├── ExtractTimeout     extract_timeout      page took longer than its budget
    ├── ExtractCrashed     extract_crashed      worker died (memory cap, segfault)
    └── ExtractEmpty       extract_empty        nothing that looks like an article
A page that fails is never lost: its entry is matched on the feed's own title and summary,
flagged with the error class (`extractors.articles.fallback_article`).
"""

from __future__ import annotations


class FetchError(Exception):
    """Base class: `error_class` is the stable name stored with the feed or page."""

    error_class = "fetch_error"


class BadScheme(FetchError):
    error_class = "bad_scheme"


class BlockedAddress(FetchError):
    error_class = "ssrf_blocked"


class DeadlineExceeded(FetchError):
    error_class = "timeout"


class ConnectFailed(FetchError):
    error_class = "connect_error"


class TooLarge(FetchError):
    error_class = "too_large"


class RedirectLoop(FetchError):
    error_class = "redirect_loop"


class TooManyRedirects(FetchError):
    error_class = "too_many_redirects"


class BadRedirect(FetchError):
    error_class = "bad_redirect"


class UnsupportedType(FetchError):
    error_class = "unsupported_type"


class BadEncoding(FetchError):
    error_class = "bad_encoding"


class HTTPStatusError(FetchError):
    """A final response that is not 2xx or 304; `error_class` is set per status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_class = classify_status(status)


def classify_status(status: int) -> str:
    """http_404, http_410, http_429 keep their number; other 4xx too; all 5xx are http_5xx."""
    if status >= 500:
        return "http_5xx"
    return f"http_{status}"


class WorkFailed(Exception):
    """Base class of the failures of parsing and extraction; `error_class` is stored like a fetch's."""

    error_class = "work_failed"


class ParseTimeout(WorkFailed):
    error_class = "parse_timeout"


class ParseCrashed(WorkFailed):
    error_class = "parse_crashed"


class PageUnavailable(WorkFailed):
    """The page could not be fetched (or the entry has none): `error_class` is the fetch's."""

    def __init__(self, error_class: str, message: str = "") -> None:
        super().__init__(error_class, message)  # both in args: the error crosses a process boundary
        self.error_class = error_class

    def __str__(self) -> str:
        return self.args[1] or self.error_class


class ExtractTimeout(WorkFailed):
    error_class = "extract_timeout"


class ExtractCrashed(WorkFailed):
    error_class = "extract_crashed"


class ExtractEmpty(WorkFailed):
    error_class = "extract_empty"
