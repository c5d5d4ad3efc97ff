"""A reader's reference library (BibTeX, or a Zotero CSL-JSON export) as seed papers.

An entry is kept when it names an arXiv paper: an arXiv id in `eprint`, `arxiv`/`arxivid`,
`number` or `archive_location` (Zotero), a URL on arxiv.org, "arXiv:2501.12948" in the
journal or a note, or a DOI that resolves on arXiv (arXiv's own, 10.48550/arXiv.<id>).
Every other entry is skipped with its reason: no arXiv id, a DOI that is not arXiv's
(a journal's DOI says nothing of a preprint), or unreadable. BibTeX is read by
bibtexparser; a broken entry is skipped and the rest are read.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from digest.errors import InvalidPaperId, ProfileError
from digest.ids import parse_arxiv_id

__all__ = ["Entry", "LibraryImport", "Skipped", "read_library", "reasons"]

Reason = Literal["no arXiv id", "DOI not on arXiv", "unreadable"]

_ARXIV_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/)?10\.48550/arxiv\.(.+)$", re.I)
_IN_TEXT = re.compile(
    r"(?:arxiv[:\s]*(?:preprint\s*)?(?:arxiv:)?\s*|arxiv\.org/(?:abs|pdf)/)"
    r"([a-z\-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})(?:v\d+)?",
    re.IGNORECASE,
)
# Fields that hold the id itself, and fields that may mention it in text.
_ID_FIELDS = ("eprint", "arxiv", "arxivid", "arxiv_id", "number", "archive_location")
_TEXT_FIELDS = ("url", "journal", "note", "howpublished", "container-title", "publisher", "id")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    paper_id: str
    title: str


@dataclass(frozen=True)
class Skipped:
    title: str
    reason: Reason


@dataclass
class LibraryImport:
    kept: list[Entry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys(e.paper_id for e in self.kept))


def _arxiv_id(fields: Mapping[str, str]) -> str | None:
    for name in _ID_FIELDS:
        value = fields.get(name, "").strip()
        if value:
            try:
                return parse_arxiv_id(value)
            except InvalidPaperId:
                pass
            if m := _IN_TEXT.search(value):
                return _valid(m.group(1))
    doi = fields.get("doi", "").strip()
    if doi and (m := _ARXIV_DOI.match(doi)):
        return _valid(m.group(1))
    for name in _TEXT_FIELDS:
        if m := _IN_TEXT.search(fields.get(name, "")):
            return _valid(m.group(1))
    return None


def _valid(text: str) -> str | None:
    try:
        return parse_arxiv_id(text)
    except InvalidPaperId:
        return None


def _classify(out: LibraryImport, fields: Mapping[str, str]) -> None:
    title = " ".join(fields.get("title", "").replace("{", "").replace("}", "").split())
    pid = _arxiv_id(fields)
    if pid is not None:
        out.kept.append(Entry(pid, title))
    elif fields.get("doi", "").strip():
        out.skipped.append(Skipped(title, "DOI not on arXiv"))
    else:
        out.skipped.append(Skipped(title, "no arXiv id"))


def _csl_fields(item: Mapping[str, Any]) -> dict[str, str]:
    """A CSL-JSON item's fields as strings, named as BibTeX names them where they differ."""
    out = {str(k).lower(): v for k, v in item.items() if isinstance(v, str)}
    if isinstance(item.get("number"), int | float):
        out["number"] = str(item["number"])
    return out


def _read_csl(data: Any) -> LibraryImport:
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ProfileError("a CSL-JSON export is a list of items")
    out = LibraryImport()
    for item in items:
        if isinstance(item, dict):
            _classify(out, _csl_fields(item))
        else:
            out.skipped.append(Skipped("", "unreadable"))
    return out


def _read_bibtex(text: str) -> LibraryImport:
    # Imported here: only an import needs it, not every process of the CLI (serve).
    from bibtexparser.entrypoint import parse_string

    library = parse_string(text)
    out = LibraryImport()
    for entry in library.entries:
        fields = {
            str(k).lower(): str(v.value) if hasattr(v, "value") else str(v)
            for k, v in entry.fields_dict.items()
        }
        _classify(out, fields)
    for block in library.failed_blocks:
        raw = getattr(block, "raw", "") or ""
        m = re.search(r"title\s*=\s*[{\"]([^}\"]{1,200})", raw, re.IGNORECASE)
        out.skipped.append(Skipped(m.group(1).strip() if m else "", "unreadable"))
    return out


def read_library(text: str) -> LibraryImport:
    """The seed papers in a BibTeX file or a CSL-JSON export (told apart by content)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("[", "{")) and not stripped.startswith("{@"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if data is not None:
            return _read_csl(data)
    if "@" not in text:
        raise ProfileError("neither BibTeX (no @entry) nor CSL-JSON")
    return _read_bibtex(text)


def reasons(skipped: Iterable[Skipped]) -> dict[Reason, int]:
    out: dict[Reason, int] = {}
    for s in skipped:
        out[s.reason] = out.get(s.reason, 0) + 1
    return out
