"""A kept page stored once as UTF-8 and as gzip, and served per request without compressing it.

A kept page (serving.app.page_cache) differs between requests only in two short marks — the
CSRF token of its forms and the user's name in the header. The text between the marks is
compressed once, each part by a compressor of its own (raw deflate, ending on a byte boundary
with a sync flush: no part refers back into another), so a request pastes its own values in as
*stored* deflate blocks between the kept compressed parts and wraps the lot in a gzip header and
trailer: one valid gzip stream, no compressor run (the way pigz compresses in parallel). This
replaces compressing ~70 kB per request (~1 ms of CPU under load, bench_load 2026-12-07) with a
join and a CRC-32 of the page (~0.03 ms).
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

#: Compression of the kept parts: done once per page, so a little more than the middleware's 5.
LEVEL = 6
#: gzip member header: magic, deflate, no flags, no time stamp, no extra flags, unknown OS.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
#: The longest value one stored deflate block carries.
STORED_MAX = 0xFFFF


def _deflate(data: bytes, *, last: bool) -> bytes:
    """``data`` as raw deflate blocks that end on a byte boundary; the final block if ``last``."""
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(
        zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
    )


def _stored(value: bytes) -> bytes:
    """``value`` as stored (uncompressed) deflate blocks, none final."""
    blocks = []
    for start in range(0, len(value), STORED_MAX):
        chunk = value[start : start + STORED_MAX]
        # header byte: BFINAL 0, BTYPE 00 (stored), then LEN and its complement NLEN
        blocks.append(b"\x00" + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    return b"".join(blocks)


@dataclass(frozen=True)
class KeptPage:
    """A rendered page split at its marks: ``parts`` as UTF-8 and deflated, and which mark
    (an index into the values a request gives) stands between each two parts."""

    parts: tuple[bytes, ...]
    deflated: tuple[bytes, ...]
    marks: tuple[int, ...]

    @classmethod
    def of(cls, html: str, marks: tuple[str, ...]) -> KeptPage:
        """``html`` kept, with every occurrence of each of ``marks`` to be filled per request."""
        pieces = re.split("(" + "|".join(re.escape(m) for m in marks) + ")", html)
        texts, found = pieces[0::2], pieces[1::2]
        parts = tuple(t.encode() for t in texts)
        deflated = tuple(_deflate(part, last=i == len(parts) - 1) for i, part in enumerate(parts))
        return cls(parts, deflated, tuple(marks.index(m) for m in found))

    @property
    def size(self) -> int:
        """Bytes held (both forms)."""
        return sum(map(len, self.parts)) + sum(map(len, self.deflated))

    def body(self, values: tuple[bytes, ...]) -> bytes:
        """The page with ``values`` (UTF-8, one per mark) in place of the marks."""
        out = [self.parts[0]]
        for mark, part in zip(self.marks, self.parts[1:], strict=True):
            out += (values[mark], part)
        return b"".join(out)

    def gzip(self, values: tuple[bytes, ...]) -> bytes:
        """:meth:`body` as one gzip stream, built from the kept compressed parts."""
        body = self.body(values)
        out = [GZIP_HEADER, self.deflated[0]]
        for mark, part in zip(self.marks, self.deflated[1:], strict=True):
            out += (_stored(values[mark]), part)
        out.append(struct.pack("<II", zlib.crc32(body), len(body) & 0xFFFFFFFF))
        return b"".join(out)
