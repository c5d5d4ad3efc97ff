"""A tiny PDF writer for tests: text pages a real parser (pypdf) reads back.

    pdf = text_pdf([["1 Introduction", "Some text ..."], ["2 Method", ...]])

Each page is a list of lines set in Helvetica 10 pt from the top of an A4 page. The file
is valid PDF 1.4: a catalog, a page tree, one content stream per page (Flate-compressed
unless `compress=False`), a standard Type1 font and a correct xref table. Also:
`malformed_pdf()` (a PDF header and nothing a parser can use), `bomb_pdf()` (a small file
whose content stream inflates to hundreds of megabytes) and `padded_pdf(size)` (a valid
PDF grown past a size cap with a comment).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence

__all__ = ["bomb_pdf", "malformed_pdf", "padded_pdf", "text_pdf"]

TOP = 800
LEADING = 13


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content(lines: Sequence[str]) -> bytes:
    ops = ["BT", "/F1 10 Tf", f"{LEADING} TL", f"50 {TOP} Td"]
    for line in lines:
        ops.append(f"({_escape(line)}) Tj T*")
    ops.append("ET")
    # Helvetica's standard encoding: keep the test text in Latin-1.
    return "\n".join(ops).encode("latin-1", "replace")


def _assemble(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def _stream(data: bytes, *, compress: bool) -> bytes:
    if compress:
        data = zlib.compress(data, 9)
        head = f"<< /Length {len(data)} /Filter /FlateDecode >>".encode()
    else:
        head = f"<< /Length {len(data)} >>".encode()
    return head + b"\nstream\n" + data + b"\nendstream"


def text_pdf(pages: Sequence[Sequence[str]], *, compress: bool = True) -> bytes:
    """A PDF whose pages show `pages`' lines."""
    n = len(pages)
    # 1 catalog, 2 pages, 3 font, then (page, content) pairs.
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(_stream(_content(lines), compress=compress))
    return _assemble(objects)


def malformed_pdf() -> bytes:
    """Looks like a PDF for its first bytes; nothing after that parses."""
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\nstream\n\x00\xff garbage\n%%EOF"


@functools.cache  # compressing hundreds of MB takes seconds; the bytes never change
def bomb_pdf(inflated_mb: int = 400) -> bytes:
    """A valid one-page PDF whose content stream inflates to `inflated_mb` MB of text
    operators (the file itself stays a few hundred KB)."""
    chunk = b"(A) Tj " * 146_000  # ~1 MB
    comp = zlib.compressobj(9)
    data = bytearray(comp.compress(b"BT /F1 10 Tf 50 800 Td "))
    for _ in range(inflated_mb):
        data += comp.compress(chunk)
    data += comp.compress(b" ET") + comp.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        f"<< /Length {len(data)} /Filter /FlateDecode >>".encode()
        + b"\nstream\n"
        + bytes(data)
        + b"\nendstream",
    ]
    return _assemble(objects)


def padded_pdf(size: int, pages: Sequence[Sequence[str]] = (("padding",),)) -> bytes:
    """A valid PDF at least `size` bytes long (a long comment before the trailer)."""
    base = text_pdf(pages)
    pad = max(0, size - len(base))
    head, _, tail = base.partition(b"xref\n")
    # Comments may appear anywhere; the xref offset moves with them.
    filler = b"%" + b"x" * max(0, pad - 2) + b"\n"
    fixed = head + filler + b"xref\n" + tail
    old = str(len(head)).encode()
    new = str(len(head) + len(filler)).encode()
    return fixed.replace(b"startxref\n" + old, b"startxref\n" + new)
