"""Is this response something we can read? Content-Type and magic-byte checks.

Contract: `check_content_type(content_type, kind)` and `check_magic(head, kind)` raise
`UnsupportedType` for PDFs, images, audio, video, archives, fonts and other binary
bodies, with the reason in the message. Feeds and pages are judged alike, except that
a NUL-laden head is only refused for pages (feeds may be UTF-16/32; the feed parser
decides).
"""

from __future__ import annotations

from extractors.errors import UnsupportedType

BINARY_TYPE_PREFIXES = ("image/", "audio/", "video/", "font/", "model/")
BINARY_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/x-shockwave-flash",
        "application/wasm",
        "application/x-executable",
        "application/x-msdownload",
        "application/java-archive",
    }
)
BINARY_TYPE_MARKERS = ("openxmlformats", "opendocument")

MAGIC = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
    (b"OggS", "an Ogg media file"),
    (b"ID3", "an MP3 file"),
    (b"fLaC", "a FLAC file"),
    (b"\x00\x00\x01\x00", "an icon"),
    (b"wOFF", "a web font"),
    (b"wOF2", "a web font"),
    (b"\xd0\xcf\x11\xe0", "an MS Office document"),
)
UNICODE_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_content_type(content_type: str | None, kind: str) -> None:
    mtype = media_type(content_type)
    if (
        mtype in BINARY_TYPES
        or mtype.startswith(BINARY_TYPE_PREFIXES)
        or any(m in mtype for m in BINARY_TYPE_MARKERS)
    ):
        if mtype == "image/svg+xml":
            return
        raise UnsupportedType(f"skipped {kind}: Content-Type {mtype} is not text")


def describe_magic(head: bytes) -> str | None:
    """What binary format `head` starts with, or None when it may be text."""
    for magic, what in MAGIC:
        if head.startswith(magic):
            return what
    if head[4:8] == b"ftyp":
        return "an MP4/MOV media file"
    if head.startswith(b"RIFF") and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return "a RIFF media file"
    return None


def check_magic(head: bytes, kind: str) -> None:
    what = describe_magic(head)
    if what is None and kind == "page" and looks_binary(head):
        what = "binary data"
    if what is not None:
        raise UnsupportedType(f"skipped {kind}: the body is {what}, not text")


def looks_binary(head: bytes) -> bool:
    """NUL bytes in a head without a UTF-16/32 byte order mark."""
    if head.startswith(UNICODE_BOMS) or not head:
        return False
    if head[:4] in (b"<\x00?\x00", b"\x00<\x00?", b"<\x00\x00\x00", b"\x00\x00\x00<"):
        return False
    return head[:1024].count(b"\x00") > 0
