"""Canonical form of article and feed links, so one story has one URL.

Contract: `canonicalize_url(url)` returns an absolute http(s) URL with a lower-case
scheme and host, no default port, no fragment, no empty query, a path of at least
"/", and the tracking parameters of TRACKING_PARAMS / TRACKING_PREFIXES removed (the
other parameters keep their order). A URL that is not http(s) or cannot be parsed is
returned stripped but otherwise unchanged; None and "" give None.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "_hs", "oly_")
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "mc_cid", "mc_eid", "igshid", "twclid", "ttclid", "li_fat_id", "_ga", "_gl",
        "mkt_tok", "vero_id", "vero_conv", "ocid", "cmpid", "s_cid", "ncid", "sr_share",
        "at_medium", "at_campaign", "spm", "__twitter_impression", "rss", "from_rss",
    }
)
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize_url(url: str | None) -> str | None:
    if not url or not url.strip():
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return url
    netloc = canonical_netloc(parts.hostname, port, scheme, parts.username, parts.password)
    return urlunsplit((scheme, netloc, parts.path or "/", clean_query(parts.query), ""))


def canonical_netloc(host: str, port: int | None, scheme: str, user: str | None, password: str | None) -> str:
    host = host.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if user:
        credentials = user + (f":{password}" if password else "")
        host = f"{credentials}@{host}"
    return host


def clean_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not is_tracking_param(k)]
    if len(kept) == len(pairs):
        return query
    return urlencode(kept)
