"""Merge papers known to several sources into one Paper per bare arXiv id."""

from __future__ import annotations

from collections.abc import Iterable

from digest.errors import InvalidPaperId
from digest.ids import bare_id
from digest.models import Paper

__all__ = ["merge_papers"]


def _key(paper: Paper) -> str:
    try:
        return bare_id(paper.paper_id)
    except InvalidPaperId:
        return paper.paper_id


def _union(a: list[str], b: list[str]) -> list[str]:
    return list(dict.fromkeys([*a, *b]))


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _combine(a: Paper, b: Paper) -> Paper:
    """`a` and `b` describe the same paper; keep the best of each field."""
    a_hf, b_hf = "hf" in a.sources or a.on_hf, "hf" in b.sources or b.on_hf
    a_arxiv, b_arxiv = "arxiv" in a.sources, "arxiv" in b.sources
    published = min((d for d in (a.published, b.published) if d), default=None)
    # The HF listing day belongs to HF; arXiv's primary category belongs to arXiv.
    listed = (a.listed if a_hf else None) or (b.listed if b_hf else None) or a.listed or b.listed
    primary = (
        (a.primary_category if a_arxiv else None)
        or (b.primary_category if b_arxiv else None)
        or a.primary_category
        or b.primary_category
    )
    return Paper(
        paper_id=_key(a),
        title=a.title or b.title,
        abstract=a.abstract if len(a.abstract) >= len(b.abstract) else b.abstract,
        authors=a.authors if len(a.authors) >= len(b.authors) else b.authors,
        published=published,
        listed=listed,
        upvotes=_max(a.upvotes, b.upvotes),
        num_comments=_max(a.num_comments, b.num_comments),
        ai_summary=a.ai_summary or b.ai_summary,
        keywords=_union(a.keywords, b.keywords),
        github_repo=a.github_repo or b.github_repo,
        repo_in_text=a.repo_in_text or b.repo_in_text,
        repo_promised=a.repo_promised or b.repo_promised,
        project_page=a.project_page or b.project_page,
        primary_category=primary,
        categories=_union(a.categories, b.categories),
        comment=a.comment or b.comment,
        withdrawn=a.withdrawn or b.withdrawn,
        version=_max(a.version, b.version),
        on_hf=a.on_hf or b.on_hf,
        sources=_union(a.sources, b.sources),
    )


def merge_papers(*groups: Iterable[Paper]) -> list[Paper]:
    """One Paper per bare id from every group, best fields kept, withdrawn papers dropped.

    Order is stable by first appearance. A paper withdrawn on any source is dropped.
    """
    merged: dict[str, Paper] = {}
    for group in groups:
        for paper in group:
            key = _key(paper)
            seen = merged.get(key)
            merged[key] = (
                paper.model_copy(update={"paper_id": key}, deep=True)
                if seen is None
                else _combine(seen, paper)
            )
    return [p for p in merged.values() if not p.withdrawn]
