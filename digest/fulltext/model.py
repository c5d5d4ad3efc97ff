"""The full text of a paper, as paperdrop keeps it: plain text in sections, never markup.

    FullText
    ├── sections   number ("3", "3.1", "A"), title, anchor ("S3"), paragraphs (with the
    │              PDF page they start on)
    ├── tables     number, caption, cells as text rows, anchor, the section they sit in
    ├── figures    number, caption, the image's absolute URL (HTML only)
    ├── references one line each
    └── kind (html | pdf), version, where it was fetched from, when

Math is kept as its cleaned LaTeX `alttext` (`x²`, `α`), so numbers in formulas count as
the paper's own. A FullText is cached compressed (`pack`/`unpack`) and shared by every
chat and process. `Missing` says why there is none (the card tells the reader).
"""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

__all__ = [
    "Figure",
    "FullText",
    "Missing",
    "MissingReason",
    "Paragraph",
    "Section",
    "SourceKind",
    "Table",
    "pack",
    "unpack",
]

SourceKind = Literal["html", "pdf"]

# Why a paper was read from its abstract only. "withdrawn" is said in one line; the rest
# name what failed so the reader knows whether trying again later could help.
MissingReason = Literal[
    "off",  # not asked for (--abstract-only, the offline sample, a brief's other papers)
    "no_source",  # no HTML rendering, and no PDF either
    "too_large",  # refused before reading: over the size cap
    "unreadable",  # fetched, but nothing could be parsed out of it
    "pdf_timeout",  # the PDF parser ran out of time (or memory) and was stopped
    "unreachable",  # arXiv did not answer (connection, timeout, 5xx)
    "rate_limited",  # arXiv asked us to wait longer than we may
    "withdrawn",  # the authors withdrew the paper
    "late",  # the brief could not wait for it
]


class Paragraph(BaseModel):
    text: str
    page: int | None = None  # PDF: the page it starts on (1-based)


class Section(BaseModel):
    number: str = ""  # "3", "3.1", "A.2"; "" when unnumbered (Abstract, Limitations…)
    title: str
    anchor: str = ""  # the HTML id ("S3", "S3.SS1"); "" for PDFs
    level: int = 1  # 1 section, 2 subsection, 3 deeper
    paragraphs: list[Paragraph] = Field(default_factory=list)

    @property
    def label(self) -> str:
        """How a citation names it: "§3 Experiments", or the title alone."""
        return f"§{self.number} {self.title}" if self.number else self.title

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.paragraphs)

    @property
    def page(self) -> int | None:
        return next((p.page for p in self.paragraphs if p.page is not None), None)


class Table(BaseModel):
    number: str = ""  # "1", "A1"
    caption: str = ""
    rows: list[list[str]] = Field(default_factory=list)
    anchor: str = ""  # "S4.T1"
    section: str = ""  # the anchor (HTML) or number (PDF) of its section
    page: int | None = None

    @property
    def label(self) -> str:
        return f"Table {self.number}" if self.number else "Table"

    def cells_text(self, max_rows: int | None = None) -> str:
        rows = self.rows if max_rows is None else self.rows[:max_rows]
        return "\n".join(" | ".join(cell for cell in row) for row in rows)


class Figure(BaseModel):
    number: str = ""
    caption: str = ""
    image_url: str | None = None  # absolute, on the configured arXiv HTML host
    anchor: str = ""
    section: str = ""
    page: int | None = None

    @property
    def label(self) -> str:
        return f"Figure {self.number}" if self.number else "Figure"


class FullText(BaseModel):
    paper_id: str  # bare
    kind: SourceKind
    version: int | None = None  # the version read, when arXiv said which
    url: str  # what was read (the HTML page or the PDF)
    fetched_at: dt.datetime
    title: str = ""
    abstract: str = ""
    sections: list[Section] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    pages: int | None = None  # PDF page count

    @property
    def html_url(self) -> str | None:
        """The HTML rendering a reader can open (citations link into it)."""
        return self.url if self.kind == "html" else None

    def section_by_anchor(self, anchor: str) -> Section | None:
        return next((s for s in self.sections if s.anchor == anchor), None)

    def all_text(self) -> str:
        """Every word of the paper: what a number in a written text must be found in."""
        parts = [self.title, self.abstract]
        # Labels too: a text may say "§3" or "Table 2" of the paper.
        for s in self.sections:
            parts.append(s.label)
            parts.extend(p.text for p in s.paragraphs)
        for t in self.tables:
            parts.append(f"{t.label}: {t.caption}")
            parts.append(t.cells_text())
        parts.extend(f"{f.label}: {f.caption}" for f in self.figures)
        return "\n".join(parts)

    @property
    def words(self) -> int:
        return len(self.all_text().split())


class Missing(BaseModel):
    """No full text: why, and a short detail for logs and the card."""

    reason: MissingReason
    detail: str = ""


# --- the cached form ---------------------------------------------------------------------

_PACK_VERSION = "ft1:"


def pack(value: FullText | Missing) -> str:
    """Compressed JSON (zlib, base64) with a tag, for the Store: a paper's text is ~10×
    smaller, and the Store's values are strings."""
    kind = "T" if isinstance(value, FullText) else "M"
    raw = zlib.compress(value.model_dump_json().encode(), level=6)
    return _PACK_VERSION + kind + base64.b64encode(raw).decode("ascii")


def unpack(text: str) -> FullText | Missing | None:
    """The packed value, or None when it is from another version or corrupt."""
    if not text.startswith(_PACK_VERSION) or len(text) < len(_PACK_VERSION) + 1:
        return None
    kind, body = text[len(_PACK_VERSION)], text[len(_PACK_VERSION) + 1 :]
    try:
        raw = zlib.decompress(base64.b64decode(body))
        if kind == "T":
            return FullText.model_validate_json(raw)
        if kind == "M":
            return Missing.model_validate_json(raw)
    except (ValueError, zlib.error, ValidationError):
        return None
    return None
