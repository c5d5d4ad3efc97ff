"""A PDF's page texts as a FullText: sections from numbered headings, paragraphs with the
page they start on, table and figure captions, references.

PDF text has no structure, so this is heuristic and conservative: a line is a heading
when it looks like one ("3 Experiments", "3.2 Training details", "Limitations"), and
paragraphs are cut from the running text at sentence ends into passages of about
`PASSAGE_WORDS` words, each remembering its page, which is what citations need.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from digest.fulltext.model import Figure, FullText, Paragraph, Section, Table

__all__ = ["PASSAGE_WORDS", "structure_pdf"]

PASSAGE_WORDS = 120
_KNOWN = (
    "abstract|introduction|related work|background|preliminaries|method|methods|methodology|"
    "approach|experiments|experimental setup|results|evaluation|discussion|analysis|"
    "conclusion|conclusions|limitations|broader impact|ethics statement|"
    "acknowledgments|acknowledgements|references|bibliography|appendix"
)
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,2})\.?\s+([A-Z][^\n]{1,80})$")
_APPENDIX = re.compile(r"^(?:Appendix\s+)?([A-H](?:\.\d{1,2})?)\.?\s+([A-Z][^\n]{1,80})$")
_UNNUMBERED = re.compile(rf"^(?:{_KNOWN})$", re.IGNORECASE)
_CAPTION = re.compile(r"^(Table|Figure|Fig\.)\s*([A-Z]?\d{1,3})\s*[:.]\s*(.+)$")
_REFS = re.compile(r"^(references|bibliography)$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")


@dataclass
class _Open:
    section: Section
    words: list[tuple[str, int]] = field(default_factory=list)  # (word, page)


def _lines(pages: Sequence[str]) -> list[tuple[str, int]]:
    """Every line with its page; words broken by a hyphen at a line end are joined."""
    out: list[tuple[str, int]] = []
    for number, text in enumerate(pages, 1):
        for raw in text.splitlines():
            line = " ".join(raw.split())
            if not line:
                continue
            if out and out[-1][0].endswith("-") and line[:1].islower() and len(out[-1][0]) > 1:
                prev, page = out[-1]
                if prev[-2].isalpha():
                    out[-1] = (prev[:-1] + line, page)
                    continue
            out.append((line, number))
    return out


def _heading(line: str, last_top: int) -> tuple[str, str] | None:
    if len(line) > 90 or line.endswith((".", ",", ";")):
        return None
    m = _NUMBERED.match(line)
    if m:
        number, title = m.group(1), m.group(2).strip()
        top = int(number.split(".")[0])
        # A table row or a list item starting with a number is not a heading: numbers
        # go up one at a time, and titles are a few words.
        if 1 <= top <= last_top + 1 and len(title.split()) <= 10 and not title[-1].isdigit():
            return number, title
        return None
    if _UNNUMBERED.match(line):
        return "", line.strip().title() if line.isupper() else line.strip()
    return None


def _passages(words: list[tuple[str, int]]) -> list[Paragraph]:
    """The running text cut at sentence ends into passages of about PASSAGE_WORDS."""
    out: list[Paragraph] = []
    start = 0
    while start < len(words):
        end = min(len(words), start + PASSAGE_WORDS)
        if end < len(words):
            # Prefer a sentence end in the last third of the window.
            for i in range(end, start + PASSAGE_WORDS * 2 // 3, -1):
                if words[i - 1][0].endswith((".", "?", "!")):
                    end = i
                    break
        text = " ".join(w for w, _ in words[start:end])
        out.append(Paragraph(text=text, page=words[start][1]))
        start = end
    return out


def structure_pdf(
    pages: Sequence[str],
    *,
    paper_id: str,
    url: str,
    fetched_at: dt.datetime,
    version: int | None = None,
) -> FullText:
    lines = _lines(pages)
    title = lines[0][0] if lines else ""
    sections: list[_Open] = []
    current = _Open(Section(title="Front matter"))
    tables: list[Table] = []
    figures: list[Figure] = []
    references: list[str] = []
    in_refs = False
    last_top = 0
    for line, page in lines[1:]:
        if in_refs:
            if _APPENDIX.match(line) and len(line) < 60 and not line.endswith("."):
                in_refs = False  # an appendix after the references
            else:
                references.append(line)
                continue
        found = _heading(line, last_top)
        if found is None and in_refs is False and _APPENDIX.match(line) and last_top > 0:
            m = _APPENDIX.match(line)
            if m and len(line) < 60 and not line.endswith(".") and sections:
                found = (m.group(1), m.group(2).strip())
        if found is not None:
            number, heading = found
            if _REFS.match(heading):
                in_refs = True
                continue
            sections.append(current)
            if number and number[0].isdigit():
                last_top = max(last_top, int(number.split(".")[0]))
            current = _Open(
                Section(number=number, title=heading, level=number.count(".") + 1 if number else 1)
            )
            continue
        cap = _CAPTION.match(line)
        if cap:
            kind, number, text = cap.groups()
            where = current.section.number
            if kind == "Table":
                tables.append(Table(number=number, caption=text, section=where, page=page))
            else:
                figures.append(Figure(number=number, caption=text, section=where, page=page))
            continue
        current.words.extend((w, page) for w in line.split())
    sections.append(current)

    abstract = ""
    out: list[Section] = []
    for part in sections:
        paragraphs = _passages(part.words)
        if part.section.title.lower() == "abstract":
            abstract = " ".join(p.text for p in paragraphs)
            continue
        if not paragraphs and part.section.title == "Front matter":
            continue
        out.append(part.section.model_copy(update={"paragraphs": paragraphs}))
    return FullText(
        paper_id=paper_id,
        kind="pdf",
        version=version,
        url=url,
        fetched_at=fetched_at,
        title=title,
        abstract=abstract,
        sections=out,
        tables=tables,
        figures=figures,
        references=_merge_references(references),
        pages=len(pages),
    )


_REF_START = re.compile(r"^(\[\d+\]|\d+\.\s)")


def _merge_references(lines: list[str]) -> list[str]:
    """Reference lines joined into entries ("[3] A. Author …" starts one)."""
    if not any(_REF_START.match(x) for x in lines):
        return lines
    out: list[str] = []
    for line in lines:
        if _REF_START.match(line) or not out:
            out.append(line)
        else:
            out[-1] += " " + line
    return out
