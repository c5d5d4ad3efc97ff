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
    run = _Collecting.of(day, categories, hf, arxiv if categories else None, arxiv_max_results)
    await run.first_round()
    widening = await run.widen(need, lookback_days)
    await run.reach_back(widening.start)
    papers = run.papers()
    return Candidates(
        papers=papers,
        window_start=run.window_start(widening.start),
        window_end=day,
        reports=[
            _hf_report(run, language),
            _arxiv_report(run, language, asked=arxiv is not None),
        ],
        widened=widening.back > 0,
        window_note=widening.note(len(papers), need, lookback_days, language),
        counts=run.counts(),
        outcomes=run.outcomes(),
    )


async def _nothing() -> list[Paper]:
    return []


def _alive(out: _Outcome | None) -> bool:
    return out is not None and out.error is None


@dataclass
class _Collecting:
    """One collection's sources (arXiv only with categories) and what each gave so far."""

    day: dt.date
    categories: list[str]
    hf: HuggingFaceSource | None
    arxiv: ArxivSource | None
    arxiv_max_results: int
    hf_out: _Outcome | None
    ax_out: _Outcome | None

    @classmethod
    def of(
        cls,
        day: dt.date,
        categories: list[str],
        hf: HuggingFaceSource | None,
        arxiv: ArxivSource | None,
        arxiv_max_results: int,
    ) -> _Collecting:
        return cls(
            day=day,
            categories=categories,
            hf=hf,
            arxiv=arxiv,
            arxiv_max_results=arxiv_max_results,
            hf_out=_Outcome([]) if hf is not None else None,
            ax_out=_Outcome([]) if arxiv is not None else None,
        )

    @property
    def ax_start(self) -> dt.date:
        return self.day - dt.timedelta(days=1)

    async def first_round(self) -> None:
        """The first HF day and arXiv's last 24 h (the usual case), concurrently."""
        first_hf, first_ax = await asyncio.gather(
            _attempt(self.hf.daily(self.day)) if self.hf is not None else _nothing(),
            _attempt(
                self.arxiv.recent(self.categories, self.ax_start, self.day, self.arxiv_max_results)
            )
            if self.arxiv is not None
            else _nothing(),
        )
        if self.hf_out is not None:
            self.hf_out.add(first_hf, self.day, self.day)
        if self.ax_out is not None:
            self.ax_out.add(first_ax, self.ax_start, self.day)

    def count(self) -> int:
        # The day's HF list decides the widening: arXiv always has a hundred fresh
        # submissions, but without community signal; early in the UTC day HF's list is
        # still empty and yesterday's is the one worth reading.
        if self.hf_out is not None and self.hf_out.error is None:
            return len(self.hf_out.papers)
        return len(merge_papers(self.hf_papers, self.ax_papers))

    async def widen(self, need: int, lookback_days: int) -> _Widening:
        """HF's earlier days, one at a time, while too few papers came."""
        first_count = self.count()
        by_hf = _alive(self.hf_out)  # which count decided the widening, for the note
        back = 0
        # Only a source still answering can fill a wider window (arXiv: in one request).
        while (
            self.count() < need
            and back < lookback_days
            and (_alive(self.hf_out) or _alive(self.ax_out))
        ):
            back += 1
            if self.hf is not None and self.hf_out is not None and self.hf_out.error is None:
                earlier = self.day - dt.timedelta(days=back)
                self.hf_out.add(await _attempt(self.hf.daily(earlier)), earlier, earlier)
        return _Widening(day=self.day, first_count=first_count, by_hf=by_hf, back=back)

    async def reach_back(self, start: dt.date) -> None:
        """Widened past arXiv's first range: one more request for the days before it."""
        out = self.ax_out
        if self.arxiv is None or out is None or out.error is not None or start >= self.ax_start:
            return
        extra_end = self.ax_start - dt.timedelta(days=1)
        got = await _attempt(
            self.arxiv.recent(self.categories, start, extra_end, self.arxiv_max_results)
        )
        out.add(got, start, extra_end)

    @property
    def hf_papers(self) -> list[Paper]:
        return self.hf_out.papers if self.hf_out else []

    @property
    def ax_papers(self) -> list[Paper]:
        return self.ax_out.papers if self.ax_out else []

    def papers(self) -> list[Paper]:
        return merge_papers(self.hf_papers, self.ax_papers)

    def window_start(self, start: dt.date) -> dt.date:
        """The window covers every day the papers came from (arXiv's starts a day early)."""
        if self.ax_out is not None and self.ax_out.start is not None:
            return min(start, self.ax_out.start)
        return start

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name, out in ((HF_NAME, self.hf_out), (ARXIV_NAME, self.ax_out)):
            if out is not None and out.start is not None:
                counts[name] = len({p.paper_id for p in out.papers})
        return counts

    def outcomes(self) -> list[SourceOutcome]:
        return [
            out.outcome(name) if out is not None else SourceOutcome(name, "skipped")
            for name, out in ((HF_NAME, self.hf_out), (ARXIV_NAME, self.ax_out))
        ]


def _hf_report(run: _Collecting, language: Language) -> SourceItem:
    return _report(
        HF_NAME,
        {"zh": "Daily Papers", "en": "Daily Papers"},
        run.hf_out,
        len(merge_papers(run.ax_papers)),
        ARXIV_NAME,
        {"zh": "未查询 Hugging Face。", "en": "Hugging Face was not queried."},
        language,
    )


def _arxiv_report(run: _Collecting, language: Language, *, asked: bool) -> SourceItem:
    """arXiv's report; `asked`: a source was given (skipped then for want of categories)."""
    return _report(
        ARXIV_NAME,
        {
            "zh": f"{', '.join(run.categories)} 提交于",
            "en": f"{', '.join(run.categories)} submitted",
        },
        run.ax_out,
        len(merge_papers(run.hf_papers)),
        HF_NAME,
        {
            "zh": "未查询 arXiv(未配置 arXiv 类别)。" if asked else "未查询 arXiv。",
            "en": "arXiv was not queried (no arXiv categories in the profile)."
            if asked
            else "arXiv was not queried.",
        },
        language,
    )


@dataclass(frozen=True)
class _Widening:
    """How far back the window went, and the count (HF's list, or both) that decided it."""

    day: dt.date
    first_count: int
    by_hf: bool
    back: int

    @property
    def start(self) -> dt.date:
        return self.day - dt.timedelta(days=self.back)

    def note(self, found: int, need: int, lookback_days: int, language: Language) -> str:
        """Why the window widened, localised; "" when it did not."""
        if self.back == 0:
            return ""
        days, day, first = self.back + 1, self.day, self.first_count
        if language == "zh":
            note = (
                f"Hugging Face {day} 只列出 {first} 篇,放宽到最近 {days} 天"
                if self.by_hf
                else f"最近 24 小时只有 {first} 篇候选,放宽到最近 {days} 天"
            )
            return note + (
                f",共 {found} 篇候选"
                if found >= need
                else f"(已到回溯 {lookback_days} 天的上限),共 {found} 篇候选"
            )
        note = (
            f"Hugging Face listed only {first} papers on {day}; widened to the last {days} days"
            if self.by_hf
            else f"the last 24 h had only {first} candidates; widened to the last {days} days"
        )
        return note + (
            f", {found} candidates"
            if found >= need
            else f", the {lookback_days}-day lookback limit, {found} candidates"
        )
