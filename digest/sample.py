"""The offline sample day shipped with the package: real Hugging Face Daily Papers of
2026-05-08, with the arXiv categories recorded for them (no network)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from digest.models import Language, Paper, SourceItem
from digest.sources.collect import Candidates
from digest.sources.hf import parse_daily
from digest.sources.merge import merge_papers

__all__ = ["SAMPLE_DATE", "papers_of_day", "sample_candidates"]

SAMPLE_DATE = dt.date(2026, 5, 8)


def papers_of_day(items: object, cats: Mapping[str, Any], day: dt.date) -> list[Paper]:
    """A Daily Papers listing (HF's JSON) with the arXiv categories known for its papers
    (`{"id": {"primary", "categories"}}`), merged by bare id: a shipped or labelled day."""
    papers = []
    for paper in parse_daily(items, day):
        known = cats.get(paper.paper_id)
        if isinstance(known, dict):
            paper = paper.model_copy(
                update={
                    "primary_category": known.get("primary"),
                    "categories": list(known.get("categories") or [known.get("primary")]),
                }
            )
        papers.append(paper)
    return merge_papers(papers)


@functools.cache
def _sample_papers() -> tuple[Paper, ...]:
    # Read and parsed once per process: every reader of the sample shares the papers.
    data = resources.files("digest.data")
    items = json.loads(data.joinpath("hf-daily-2026-05-08.json").read_text("utf-8"))
    cats = json.loads(data.joinpath("arxiv-categories-2026-05-08.json").read_text("utf-8"))
    return tuple(papers_of_day(items, cats, SAMPLE_DATE))


def sample_candidates(language: Language) -> Candidates:
    """The offline sample day shipped with the package (real HF data of 2026-05-08)."""
    papers = list(_sample_papers())
    days = [p.day for p in papers if p.day]
    start = min(days, default=SAMPLE_DATE)
    span = str(SAMPLE_DATE) if start == SAMPLE_DATE else f"{start} – {SAMPLE_DATE}"
    detail = {
        "zh": f"离线样例:使用随包附带的 Hugging Face Daily Papers 真实数据"
        f"({span},{len(papers)} 篇),未联网。",
        "en": f"Offline sample: real Hugging Face Daily Papers data shipped with the package "
        f"({span}, {len(papers)} papers); no network used.",
    }[language]
    return Candidates(
        papers=papers,
        window_start=start,
        window_end=SAMPLE_DATE,
        reports=[
            SourceItem(source="Hugging Face", status="ok", detail=detail),
            SourceItem(
                source="arXiv",
                status="skipped",
                detail={
                    "zh": "离线样例未查询 arXiv;类别取自随包附带的记录。",
                    "en": "Not queried in the offline sample; categories come from the "
                    "shipped record.",
                }[language],
            ),
        ],
        widened=False,
        counts={"Hugging Face": len(papers)},
    )
