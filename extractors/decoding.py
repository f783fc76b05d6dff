"""Content-Encoding decoders that never produce more than a small chunk at a time.

Contract: `make_decoder(header)` returns a `Decoder` whose `feed(raw)` and `flush()`
yield decoded pieces of at most `CHUNK` bytes each, so the caller can stop as soon
as the decoded total passes its cap: a 512 MiB gzip or brotli bomb costs one chunk
of memory, never its decoded size. Supports identity, gzip, x-gzip, deflate and br,
stacked in any order ("gzip, br"). Anything else raises BadEncoding.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import brotli

from extractors.errors import BadEncoding

try:  # ISA-L inflates the same gzip and deflate behind zlib's API, with faster code for the same output
    from isal import isal_zlib as inflate
except ImportError:  # a platform without its wheel: the standard library's zlib
    inflate = zlib
INFLATE_ERRORS = (zlib.error, inflate.error)

CHUNK = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate, br"


class Decoder:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def flush(self) -> Iterator[bytes]:
        return iter(())


class ZlibDecoder(Decoder):
    """gzip (multi-member) or deflate (zlib-wrapped or raw), output-bounded."""

    def __init__(self, gzip: bool) -> None:
        self.gzip = gzip
        self.raw_fallback = not gzip
        self._obj = self._new()

    def _new(self):
        return inflate.decompressobj(zlib.MAX_WBITS | 16 if self.gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            yield from self._drain(data)
        except INFLATE_ERRORS as exc:
            raise BadEncoding(f"corrupt {'gzip' if self.gzip else 'deflate'} body: {exc}") from None

    def _drain(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self._obj.decompress(data, CHUNK)
            except INFLATE_ERRORS:
                if not self.raw_fallback:
                    raise
                self.raw_fallback = False
                self._obj = inflate.decompressobj(-zlib.MAX_WBITS)
                continue
            self.raw_fallback = False
            data = self._obj.unconsumed_tail
            if out:
                yield out
            if self._obj.eof and self._obj.unused_data.strip(b"\x00"):
                data, self._obj = self._obj.unused_data, self._new()
                continue
            if not data and len(out) < CHUNK:
                return


class BrotliDecoder(Decoder):
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            yield self._obj.process(data, output_buffer_limit=CHUNK)
            while not self._obj.can_accept_more_data():
                yield self._obj.process(b"", output_buffer_limit=CHUNK)
        except brotli.error as exc:
            raise BadEncoding(f"corrupt brotli body: {exc}") from None


class StackedDecoder(Decoder):
    """Encodings applied in order a, b are removed in order b, a."""

    def __init__(self, decoders: list[Decoder]) -> None:
        self.decoders = decoders

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, [data], final=False)

    def flush(self) -> Iterator[bytes]:
        return self._through(0, [], final=True)

    def _through(self, index: int, pieces, final: bool) -> Iterator[bytes]:
        if index == len(self.decoders):
            yield from (p for p in pieces if p)
            return
        decoder = self.decoders[index]
        outs = (out for piece in pieces for out in decoder.feed(piece))
        yield from self._through(index + 1, outs, final=False)
        if final:
            yield from self._through(index + 1, decoder.flush(), final=True)


DECODERS = {
    "identity": Decoder,
    "gzip": lambda: ZlibDecoder(gzip=True),
    "x-gzip": lambda: ZlibDecoder(gzip=True),
    "deflate": lambda: ZlibDecoder(gzip=False),
    "br": BrotliDecoder,
}


def make_decoder(content_encoding: str | None) -> Decoder:
    names = [n.strip().lower() for n in (content_encoding or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in DECODERS]
    if unknown:
        raise BadEncoding(f"unsupported Content-Encoding {', '.join(unknown)}")
    decoders = [DECODERS[n]() for n in reversed(names) if n != "identity"]
    if not decoders:
        return Decoder()
    return decoders[0] if len(decoders) == 1 else StackedDecoder(decoders)
