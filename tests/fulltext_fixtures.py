"""The fixture papers of the full-text tests and the benchmark, parsed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from digest.fulltext.latexml import parse_latexml
from digest.fulltext.model import FullText
from digest.fulltext.pdftext import structure_pdf
from tests.fakes.arxiv_web import FIXTURES, fixture_html

__all__ = ["SCALING_PAGES", "fixture_paper", "questions", "scaling_pdf_text"]

FETCHED = dt.datetime(2026, 5, 8, 6, 0, tzinfo=dt.UTC)

SCALING_PAGES = [
    [
        "Prescriptive Scaling Laws for Data Constrained Training",
        "Abstract",
        "We derive scaling laws that say how to spend compute when unique data is scarce.",
        "1 Introduction",
        "Language models are running out of unique text. Repeating data for several "
        "epochs is the usual answer, but how many epochs are worth it is unclear.",
    ],
    [
        "2 Method",
        "We fit a loss model L(N, D, R) over parameters N, unique tokens D and repetitions "
        "R on 412 training runs from 70M to 3B parameters.",
        "Table 1: Fitted exponents of the loss model.",
        "3 Results",
        "Up to 4 epochs of repeated data are almost as good as fresh data: the loss rises "
        "by less than 0.5%. Beyond 16 epochs, extra compute is better spent on parameters.",
        *["We repeat each configuration with three seeds and report the mean loss."] * 12,
    ],
    [
        "4 Limitations",
        "Our runs stop at 3B parameters; the fitted exponents may shift at larger scales.",
        "References",
        "[1] J. Hoffmann et al. Training compute-optimal large language models. 2022.",
    ],
]


def fixture_paper(pid: str, name: str, origin: str = "https://arxiv.org") -> FullText:
    version = name.split("v")[-1].split(".")[0]
    return parse_latexml(
        fixture_html(name),
        paper_id=pid,
        page_url=f"{origin}/html/{pid}v{version}",
        fetched_at=FETCHED,
    )


def scaling_pdf_text(origin: str = "https://arxiv.org") -> FullText:
    """The PDF-only fixture as the parent builds it from pypdf's page texts."""
    pages = ["\n".join(lines) + "\n" for lines in SCALING_PAGES]
    return structure_pdf(
        pages, paper_id="2605.01640", url=f"{origin}/pdf/2605.01640", fetched_at=FETCHED
    )


def questions() -> list[tuple[FullText, str, str]]:
    """(paper, question, the section that answers it) for every written pair."""
    data: dict[str, Any] = json.loads((FIXTURES / "questions.json").read_text("utf-8"))
    out: list[tuple[FullText, str, str]] = []
    for pid, entry in data["papers"].items():
        text = fixture_paper(pid, entry["html"]) if "html" in entry else scaling_pdf_text()
        out.extend((text, q, where) for q, where in entry["questions"])
    return out
