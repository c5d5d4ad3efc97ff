"""Candidates for one reader and day: HF ∥ arXiv, widening the window when too few.

A failed source never sinks the result: the other's papers are used, and one report
per source says what answered, what failed and how, and what was used instead. Why the
window widened is `Candidates.window_note` (the brief's header says it), and how many
papers each source gave is `Candidates.counts`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from digest import telemetry
from digest.errors import SourceError
from digest.models import Language, Paper, SourceItem, SourceStatus
from digest.sources.arxiv_api import ArxivSource
from digest.sources.hf import HuggingFaceSource
from digest.sources.merge import merge_papers

__all__ = ["Candidates", "SourceOutcome", "collect_candidates"]

T = TypeVar("T")

HF_NAME = HuggingFaceSource.name
ARXIV_NAME = ArxivSource.name


@dataclass(frozen=True)
class SourceOutcome:
    """What one source gave, in no language: for a sentence written later in the reader's
    (the reports' details are already in the brief's language)."""

    source: str
    status: SourceStatus
    papers: int = 0
    failed_span: str = ""  # the days that failed ("2026-05-07..2026-05-08")
    reason: str = ""  # why they failed (the source's error)


@dataclass
class Candidates:
    papers: list[Paper]
    window_start: dt.date
    window_end: dt.date
    reports: list[SourceItem]
    widened: bool
    # Why the window widened, localised ("" when it did not), and papers per source name.
    window_note: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    outcomes: list[SourceOutcome] = field(default_factory=list)


def _span(start: dt.date, end: dt.date) -> str:
    return str(end) if start == end else f"{start}..{end}"


async def _attempt(call: Awaitable[T]) -> T | SourceError:
    try:
        return await call
    except SourceError as exc:
        telemetry.count_source_failure(exc.source)
        return exc


@dataclass
class _Outcome:
    """What one source gave: papers, the span that answered, and the first failure."""

    papers: list[Paper]
    start: dt.date | None = None  # earliest day that answered
    end: dt.date | None = None
    error: SourceError | None = None
    error_span: str = ""

    def add(self, got: list[Paper] | SourceError, start: dt.date, end: dt.date) -> None:
        if isinstance(got, SourceError):
            if self.error is None:
                self.error, self.error_span = got, _span(start, end)
            return
        self.papers.extend(got)
        self.start = start if self.start is None else min(self.start, start)
        self.end = end if self.end is None else max(self.end, end)

    @property
    def status(self) -> SourceStatus:
        if self.error is None:
            return "ok"
        return "failed" if self.start is None else "partial"

    def outcome(self, name: str) -> SourceOutcome:
        return SourceOutcome(
            source=name,
            status=self.status,
            papers=len({p.paper_id for p in self.papers}),
            failed_span=self.error_span if self.error is not None else "",
            reason=self.error.reason if self.error is not None else "",
        )


def _report(
    name: str,
    what: dict[Language, str],
    outcome: _Outcome | None,
    others: int,
    other_name: str,
    skipped: dict[Language, str],
    language: Language,
) -> SourceItem:
    zh = language == "zh"
    if outcome is None:
        return SourceItem(source=name, status="skipped", detail=skipped[language])
    count = len({p.paper_id for p in outcome.papers})
    parts: list[str] = []
    if outcome.start is not None and outcome.end is not None:
        span = _span(outcome.start, outcome.end)
        parts.append(
            f"{what['zh']} {span}:{count} 篇。" if zh else f"{what['en']} {span}: {count} papers."
        )
    if outcome.error is not None:
        reason = outcome.error.reason
        span = outcome.error_span
        parts.append(f"{span} 获取失败({reason})。" if zh else f"{span} failed ({reason}).")
        if outcome.start is None:
            if others:
                parts.append(
                    f"改用 {other_name} 的 {others} 篇。"
                    if zh
                    else f"Used {other_name} only ({others} papers)."
                )
            else:
                parts.append(
                    f"{other_name} 也无结果,本次没有候选论文。"
                    if zh
                    else f"{other_name} gave nothing either: no candidates."
                )
    return SourceItem(
        source=name, status=outcome.status, detail="".join(parts) if zh else " ".join(parts)
    )


async def collect_candidates(
    *,
    day: dt.date,
    categories: list[str],
    need: int,
    language: Language,
    hf: HuggingFaceSource | None,
    arxiv: ArxivSource | None,
    lookback_days: int,
    arxiv_max_results: int,
) -> Candidates:
    """Candidates for `day`: HF's list of `day`, widened back one day at a time (up to
    `lookback_days`) while fewer than `need`, plus arXiv submissions over the window
    (at least [day-1, day]) in `categories`. Never raises for a failed source."""
    use_arxiv = arxiv if arxiv is not None and categories else None
    hf_out = _Outcome([]) if hf is not None else None
    ax_out = _Outcome([]) if use_arxiv is not None else None
    ax_start = day - dt.timedelta(days=1)

    # The first HF day and arXiv's last 24 h (the usual case) run concurrently.
    async def nothing() -> list[Paper]:
        return []

    first_hf, first_ax = await asyncio.gather(
        _attempt(hf.daily(day)) if hf is not None else nothing(),
        _attempt(use_arxiv.recent(categories, ax_start, day, arxiv_max_results))
        if use_arxiv is not None
        else nothing(),
    )
    if hf_out is not None:
        hf_out.add(first_hf, day, day)
    if ax_out is not None:
        ax_out.add(first_ax, ax_start, day)

    def count() -> int:
        # The day's HF list decides the widening: arXiv always has a hundred fresh
        # submissions, but without community signal; early in the UTC day HF's list is
        # still empty and yesterday's is the one worth reading.
        if hf_out is not None and hf_out.error is None:
            return len(hf_out.papers)
        return len(merge_papers(hf_out.papers if hf_out else [], ax_out.papers if ax_out else []))

    def alive(out: _Outcome | None) -> bool:
        return out is not None and out.error is None

    first_count = count()
    by_hf = alive(hf_out)  # which count decided the widening, for the note
    back = 0
    # Only a source still answering can fill a wider window (arXiv: in one request below).
    while count() < need and back < lookback_days and (alive(hf_out) or alive(ax_out)):
        back += 1
        if hf is not None and hf_out is not None and hf_out.error is None:
            earlier = day - dt.timedelta(days=back)
            hf_out.add(await _attempt(hf.daily(earlier)), earlier, earlier)
    start = day - dt.timedelta(days=back)
    # Widened past arXiv's first range: one more request for the days before it.
    if use_arxiv is not None and ax_out is not None and ax_out.error is None and start < ax_start:
        extra_end = ax_start - dt.timedelta(days=1)
        got = await _attempt(use_arxiv.recent(categories, start, extra_end, arxiv_max_results))
        ax_out.add(got, start, extra_end)

    hf_papers = hf_out.papers if hf_out else []
    ax_papers = ax_out.papers if ax_out else []
    papers = merge_papers(hf_papers, ax_papers)
    hf_report = _report(
        HF_NAME,
        {"zh": "Daily Papers", "en": "Daily Papers"},
        hf_out,
        len(merge_papers(ax_papers)),
        ARXIV_NAME,
        {"zh": "未查询 Hugging Face。", "en": "Hugging Face was not queried."},
        language,
    )
    ax_what: dict[Language, str] = {
        "zh": f"{', '.join(categories)} 提交于",
        "en": f"{', '.join(categories)} submitted",
    }
    ax_report = _report(
        ARXIV_NAME,
        ax_what,
        ax_out,
        len(merge_papers(hf_papers)),
        HF_NAME,
        {
            "zh": "未查询 arXiv(未配置 arXiv 类别)。" if arxiv else "未查询 arXiv。",
            "en": "arXiv was not queried (no arXiv categories in the profile)."
            if arxiv
            else "arXiv was not queried.",
        },
        language,
    )
    reports = [hf_report, ax_report]
    widened = back > 0
    note = ""
    if widened:
        days = back + 1
        if language == "zh":
            note = (
                f"Hugging Face {day} 只列出 {first_count} 篇,放宽到最近 {days} 天"
                if by_hf
                else f"最近 24 小时只有 {first_count} 篇候选,放宽到最近 {days} 天"
            )
            note += (
                f",共 {len(papers)} 篇候选"
                if len(papers) >= need
                else f"(已到回溯 {lookback_days} 天的上限),共 {len(papers)} 篇候选"
            )
        else:
            note = (
                f"Hugging Face listed only {first_count} papers on {day}; widened to the "
                f"last {days} days"
                if by_hf
                else f"the last 24 h had only {first_count} candidates; widened to the last "
                f"{days} days"
            )
            note += (
                f", {len(papers)} candidates"
                if len(papers) >= need
                else f", the {lookback_days}-day lookback limit, {len(papers)} candidates"
            )
    counts: dict[str, int] = {}
    if hf_out is not None and hf_out.start is not None:
        counts[HF_NAME] = len({p.paper_id for p in hf_out.papers})
    if ax_out is not None and ax_out.start is not None:
        counts[ARXIV_NAME] = len({p.paper_id for p in ax_out.papers})
    # The window covers every day the papers came from (arXiv's range starts a day early).
    if ax_out is not None and ax_out.start is not None:
        start = min(start, ax_out.start)
    outcomes = [
        out.outcome(name) if out is not None else SourceOutcome(name, "skipped")
        for name, out in ((HF_NAME, hf_out), (ARXIV_NAME, ax_out))
    ]
    return Candidates(
        papers=papers,
        window_start=start,
        window_end=day,
        reports=reports,
        widened=widened,
        window_note=note,
        counts=counts,
        outcomes=outcomes,
    )
