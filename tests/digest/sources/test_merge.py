"""merge_papers: one paper per bare id, best fields of each source, withdrawn dropped."""

from __future__ import annotations

import datetime as dt

from digest.models import Paper
from digest.sources.merge import merge_papers


def hf(paper_id: str, **kw: object) -> Paper:
    fields: dict[str, object] = {"title": f"HF {paper_id}", "on_hf": True, "sources": ["hf"]}
    fields.update(kw)
    return Paper(paper_id=paper_id, **fields)  # type: ignore[arg-type]


def ax(paper_id: str, **kw: object) -> Paper:
    fields: dict[str, object] = {"title": f"arXiv {paper_id}", "sources": ["arxiv"]}
    fields.update(kw)
    return Paper(paper_id=paper_id, **fields)  # type: ignore[arg-type]


def test_versions_of_one_paper_become_one_with_the_best_fields() -> None:
    from_hf = hf(
        "2605.00001v2",
        abstract="Short.",
        authors=["A. One", "B. Two"],
        published=dt.date(2026, 5, 7),
        listed=dt.date(2026, 5, 8),
        upvotes=12,
        ai_summary="HF's summary",
        keywords=["agents", "rl"],
        github_repo="https://github.com/o/first",
        categories=[],
    )
    from_arxiv = ax(
        "2605.00001",
        abstract="A much longer abstract from arXiv itself.",
        authors=["A. One"],
        published=dt.date(2026, 5, 6),
        listed=dt.date(2026, 5, 1),
        upvotes=3,
        keywords=["rl", "planning"],
        github_repo="https://github.com/o/second",
        primary_category="cs.LG",
        categories=["cs.LG", "cs.AI"],
        comment="12 pages",
    )
    (merged,) = merge_papers([from_hf], [from_arxiv])
    assert merged.paper_id == "2605.00001"
    assert merged.title == from_hf.title  # first non-empty
    assert merged.abstract == from_arxiv.abstract  # longer
    assert merged.authors == from_hf.authors  # fuller list
    assert merged.published == dt.date(2026, 5, 6)  # earliest
    assert merged.listed == dt.date(2026, 5, 8)  # HF's listing day
    assert merged.upvotes == 12
    assert merged.ai_summary == "HF's summary" and merged.comment == "12 pages"
    assert merged.keywords == ["agents", "rl", "planning"]
    assert merged.categories == ["cs.LG", "cs.AI"]
    assert merged.primary_category == "cs.LG"
    assert merged.github_repo == "https://github.com/o/first"
    assert merged.sources == ["hf", "arxiv"] and merged.on_hf


def test_primary_category_comes_from_arxiv_whatever_the_order() -> None:
    (merged,) = merge_papers(
        [hf("2605.00002", primary_category="cs.CV")], [ax("2605.00002", primary_category="cs.CL")]
    )
    assert merged.primary_category == "cs.CL"
    (merged,) = merge_papers(
        [ax("2605.00002", listed=dt.date(2026, 5, 1))],
        [hf("2605.00002", listed=dt.date(2026, 5, 8))],
    )
    assert merged.listed == dt.date(2026, 5, 8)


def test_empty_fields_never_win_and_none_upvotes_are_ignored() -> None:
    (merged,) = merge_papers(
        [ax("2605.00003", title="", upvotes=None)], [hf("2605.00003", upvotes=0)]
    )
    assert merged.title == "HF 2605.00003" and merged.upvotes == 0


def test_withdrawn_on_either_source_is_dropped() -> None:
    papers = merge_papers(
        [hf("2605.00004"), hf("2605.00005", withdrawn=True), hf("2605.00006")],
        [ax("2605.00004v3", withdrawn=True), ax("2605.00006")],
    )
    assert [p.paper_id for p in papers] == ["2605.00006"]


def test_order_is_stable_by_first_appearance_and_inputs_untouched() -> None:
    first = [hf("2605.00010"), hf("2605.00011v1")]
    second = [ax("2605.00012"), ax("2605.00010"), ax("2605.00011")]
    papers = merge_papers(first, second)
    assert [p.paper_id for p in papers] == ["2605.00010", "2605.00011", "2605.00012"]
    assert first[1].paper_id == "2605.00011v1" and first[0].sources == ["hf"]
    assert merge_papers() == []
