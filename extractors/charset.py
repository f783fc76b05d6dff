"""Decode an HTML page to str the way a careful browser would.

Contract: `decode_html(body, headers)` returns text, never raises. Order of evidence:
  1. a byte order mark (UTF-8/16/32) wins;
  2. the charset of the Content-Type header, unless the body is valid UTF-8 with
     non-ASCII bytes while the header names a legacy single-byte charset (a common
     server misconfiguration), or the body does not decode with it;
  3. a <meta charset> / http-equiv in the first 4 KiB, under the same checks;
  4. strict UTF-8;
  5. charset-normalizer's best guess; finally cp1252 with replacement.
Legacy names follow the WHATWG mapping (latin-1 and ascii mean windows-1252,
euc-kr means cp949...), so the bytes browsers display are the bytes we read.
`find_charset(body, headers)` returns the chosen encoding name.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
WHATWG_ALIASES = {
    "latin1": "cp1252", "latin-1": "cp1252", "iso-8859-1": "cp1252", "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252", "l1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
    "windows-1252": "cp1252", "iso-8859-9": "cp1254", "euc-kr": "cp949", "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "shift_jis": "cp932",
    "sjis": "cp932", "x-sjis": "cp932", "tis-620": "cp874", "iso-8859-11": "cp874",
    "big5": "big5hkscs", "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
}
SINGLE_BYTE = re.compile(r"^(cp125\d|iso8859|latin|koi8|mac|cp874|cp437|tis)", re.IGNORECASE)
CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
META_SCAN = 4096


def decode_html(body: bytes, headers: dict[str, str] | None = None) -> str:
    encoding = find_charset(body, headers)
    return body.decode(encoding, errors="replace")


def find_charset(body: bytes, headers: dict[str, str] | None = None) -> str:
    for bom, name in BOMS:
        if body.startswith(bom):
            return name
    for declared in (header_charset(headers), meta_charset(body)):
        if declared and fits(body, declared):
            return declared
    if decodes(body, "utf-8"):
        return "utf-8"
    return guess_charset(body)


def normalize_charset(name: str | bytes | None) -> str | None:
    """A Python codec name for a declared charset, or None if unknown."""
    if not name:
        return None
    if isinstance(name, bytes):
        name = name.decode("ascii", "ignore")
    name = WHATWG_ALIASES.get(name.strip().lower(), name.strip().lower())
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def header_charset(headers: dict[str, str] | None) -> str | None:
    content_type = next((v for k, v in (headers or {}).items() if k.lower() == "content-type"), "")
    match = CHARSET_PARAM.search(content_type.encode("latin-1", "ignore"))
    return normalize_charset(match.group(1)) if match else None


def meta_charset(body: bytes) -> str | None:
    match = META_CHARSET.search(body[:META_SCAN])
    charset = normalize_charset(match.group(1)) if match else None
    if charset and charset.startswith("utf-16"):
        return "utf-8"  # a meta tag readable as ASCII cannot be UTF-16 (HTML spec)
    return charset


def fits(body: bytes, declared: str) -> bool:
    """Does the declared charset plausibly describe these bytes?"""
    if not decodes(body, declared):
        return False
    if SINGLE_BYTE.match(declared) and not body.isascii() and decodes(body, "utf-8"):
        return False
    return True


def decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def guess_charset(body: bytes) -> str:
    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        return normalize_charset(best.encoding) or "cp1252"
    return "cp1252"
