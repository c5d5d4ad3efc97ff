"""Atom feeds in the shape the arXiv API really answers with (for tests and fakes).

    entry = AtomEntry("2605.06651v1", "A title", "An abstract...", ["Ada Lovelace"],
                      published=datetime(2026, 5, 7, 17, 59, tzinfo=UTC),
                      categories=["cs.AI", "cs.LG"])
    atom_feed([entry], query="search_query=cat:cs.AI")  # -> bytes

Like arXiv, titles and abstracts are wrapped with newlines and indentation, the
arXiv-specific elements carry their own namespace declaration, and errors come back as
a feed with one `Error` entry (`error_feed`).
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "AtomEntry",
    "atom_feed",
    "entries_from_hf_fixture",
    "error_feed",
    "with_version",
]

ARXIV_NS = "http://arxiv.org/schemas/atom"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
# The real fixtures, as shipped with the package (copies of the shared fixtures).
FIXTURES = Path(__file__).resolve().parents[2] / "digest" / "data"


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _wrap(text: str, indent: str) -> str:
    """arXiv's line-wrapped text (the reason callers must normalise whitespace)."""
    return (
        ("\n" + indent).join(
            textwrap.wrap(text, 76, break_long_words=False, break_on_hyphens=False)
        )
        if text
        else ""
    )


@dataclass
class AtomEntry:
    arxiv_id: str  # with its version, as arXiv shows it: "2605.06651v1"
    title: str
    summary: str
    authors: list[str]
    published: dt.datetime
    updated: dt.datetime | None = None
    primary_category: str = "cs.AI"
    categories: list[str] = field(default_factory=list)  # all, primary included
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None

    @property
    def bare_id(self) -> str:
        head, _, tail = self.arxiv_id.rpartition("v")
        return head if head and tail.isdigit() else self.arxiv_id

    @property
    def all_categories(self) -> list[str]:
        return list(dict.fromkeys([self.primary_category, *self.categories]))

    def to_xml(self) -> str:
        abs_url = f"http://arxiv.org/abs/{self.arxiv_id}"
        pdf_url = f"http://arxiv.org/pdf/{self.arxiv_id}"
        lines = [
            "  <entry>",
            f"    <id>{abs_url}</id>",
            f"    <updated>{_stamp(self.updated or self.published)}</updated>",
            f"    <published>{_stamp(self.published)}</published>",
            f"    <title>{escape(_wrap(self.title, '  '))}</title>",
            f"    <summary>  {escape(_wrap(self.summary, ''))}\n</summary>",
        ]
        lines += [
            f"    <author>\n      <name>{escape(a)}</name>\n    </author>" for a in self.authors
        ]
        if self.doi:
            lines.append(f'    <arxiv:doi xmlns:arxiv="{ARXIV_NS}">{escape(self.doi)}</arxiv:doi>')
            lines.append(
                f'    <link title="doi" href="http://dx.doi.org/{escape(self.doi)}" rel="related"/>'
            )
        if self.comment:
            lines.append(
                f'    <arxiv:comment xmlns:arxiv="{ARXIV_NS}">{escape(_wrap(self.comment, "  "))}'
                "</arxiv:comment>"
            )
        if self.journal_ref:
            lines.append(
                f'    <arxiv:journal_ref xmlns:arxiv="{ARXIV_NS}">{escape(self.journal_ref)}'
                "</arxiv:journal_ref>"
            )
        lines += [
            f'    <link href="{abs_url}" rel="alternate" type="text/html"/>',
            f'    <link title="pdf" href="{pdf_url}" rel="related" type="application/pdf"/>',
            f'    <arxiv:primary_category xmlns:arxiv="{ARXIV_NS}" '
            f'term={quoteattr(self.primary_category)} scheme="http://arxiv.org/schemas/atom"/>',
        ]
        lines += [
            f'    <category term={quoteattr(c)} scheme="http://arxiv.org/schemas/atom"/>'
            for c in self.all_categories
        ]
        lines.append("  </entry>")
        return "\n".join(lines)


def _feed(
    entries_xml: list[str], *, query: str, total: int, start: int, per_page: int, now: dt.datetime
) -> bytes:
    self_link = quoteattr("http://arxiv.org/api/query?" + query)
    head = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href={self_link} rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: {escape(query)}</title>
  <id>http://arxiv.org/api/fake</id>
  <updated>{now:%Y-%m-%dT00:00:00-04:00}</updated>
  <opensearch:totalResults xmlns:opensearch="{OPENSEARCH_NS}">{total}</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="{OPENSEARCH_NS}">{start}</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="{OPENSEARCH_NS}">{per_page}</opensearch:itemsPerPage>
"""
    return (head + "\n".join(entries_xml) + "\n</feed>\n").encode("utf-8")


def atom_feed(
    entries: list[AtomEntry],
    *,
    query: str = "",
    total_results: int | None = None,
    start_index: int = 0,
    items_per_page: int | None = None,
    now: dt.datetime | None = None,
) -> bytes:
    """A results page. `total_results` may exceed the entries, as arXiv's often does."""
    return _feed(
        [e.to_xml() for e in entries],
        query=query,
        total=len(entries) if total_results is None else total_results,
        start=start_index,
        per_page=len(entries) if items_per_page is None else items_per_page,
        now=now or dt.datetime.now(dt.UTC),
    )


def error_feed(message: str, *, query: str = "", now: dt.datetime | None = None) -> bytes:
    """arXiv's error answer: one entry titled `Error` under http://arxiv.org/api/errors."""
    now = now or dt.datetime.now(dt.UTC)
    anchor = "http://arxiv.org/api/errors#" + message.replace(" ", "_")
    entry = f"""  <entry>
    <id>{escape(anchor)}</id>
    <title>Error</title>
    <summary>{escape(message)}</summary>
    <updated>{now:%Y-%m-%dT00:00:00-04:00}</updated>
    <link href={quoteattr(anchor)} rel="alternate" type="text/html"/>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>"""
    return _feed([entry], query=query, total=1, start=0, per_page=1, now=now)


def entries_from_hf_fixture(
    path: Path = FIXTURES / "hf-daily-2026-05-08.json",
    categories_path: Path = FIXTURES / "arxiv-categories-2026-05-08.json",
    *,
    default_category: str = "cs.CL",
) -> list[AtomEntry]:
    """arXiv entries for the real papers of the HF fixture (same ids, titles, abstracts).

    Categories come from the categories fixture where known, else `default_category`;
    `published` is the paper's publishedAt (the fixture has no exact times).
    """
    items = json.loads(path.read_text("utf-8"))
    known = json.loads(categories_path.read_text("utf-8"))
    entries = []
    for item in items:
        paper = item["paper"]
        cats = known.get(paper["id"], {})
        primary = cats.get("primary", default_category)
        published = dt.datetime.fromisoformat(paper["publishedAt"])
        entries.append(
            AtomEntry(
                arxiv_id=paper["id"] + "v1",
                title=paper["title"],
                summary=paper["summary"],
                authors=[a["name"] for a in paper.get("authors") or []],
                published=published,
                primary_category=primary,
                categories=list(cats.get("categories", [primary])),
            )
        )
    return entries


def with_version(entry: AtomEntry, version: int) -> AtomEntry:
    """The same paper as a later version (what arXiv returns after a revision)."""
    return replace(entry, arxiv_id=f"{entry.bare_id}v{version}")
