"""From sources to a Brief for one reader profile and day.

    collect candidates (HF ∥ arXiv, widening window)
      → rank (BM25 blend; semantic and LLM rerank when configured)
      → select picks and others, related papers grouped into one pick (digest.grouping)
      → summaries (shared, cached) ∥ GitHub repos (and their star velocity)
          ∥ the top picks read in full (digest.fulltext), each pick's summary then
            written from its body (within PAPERDROP_FULLTEXT_BRIEF_BUDGET seconds)
      → reader notes (one short per-profile call; rule-written without an LLM)
      → compose (with the header's facts: sources, window, papers the avoid list hid)

Independent LLM calls run concurrently; the chain rerank → summaries → notes is the
critical path. Nothing here prints: progress goes to the optional callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import httpx

from digest.brief_notes import write_notes
from digest.chatstate import put_papers
from digest.clients import build_gate, http_session, shared_http, shared_llm
from digest.compose.brief import compose_brief
from digest.compose.header import BriefFacts
from digest.errors import PaperdropError, SourceError, StoreError
from digest.evidence import Learned
from digest.fulltext.model import FullText, Missing
from digest.fulltext.picks import fulltext_report, picks_to_read, read_picks
from digest.grouping.groups import Plan, merge_groups, plan_picks
from digest.learning import fit_reader
from digest.llm import LLM
from digest.models import (
    Brief,
    Item,
    Language,
    LLMUsage,
    Paper,
    PaperSummary,
    Ranked,
    RepoInfo,
    SourceItem,
)
from digest.notes import ReaderNotes
from digest.profile import Profile
from digest.ranking import llm_rerank, rank, semantic_blend
from digest.reader import Fetch, reader_papers
from digest.sample import sample_candidates
from digest.selection import hidden_counts, select, wanted
from digest.settings import Settings
from digest.sources.arxiv_api import ArxivSource
from digest.sources.collect import Candidates, SourceOutcome, collect_candidates
from digest.sources.followed import with_followed
from digest.sources.github import GitHubSource
from digest.sources.hf import HuggingFaceSource
from digest.sources.repos import fetch_repos
from digest.store.base import Store
from digest.summarize import summarize_papers

__all__ = [
    "NoBrief",
    "build_brief",
    "http_client",
    "learn",
    "mark_seen",
]

# One rerank call per reader over the head of the lexical ranking: one batch, so the
# instructions are paid once (this call repeats for every reader; summaries do not).
RERANK_TOP_N = 24
# Cheap filters first: the LLM rates the papers that matched an interest lexically, plus
# a few unmatched ones from the head (where a semantic match could hide), not the rest.
RERANK_UNMATCHED = 4
Progress = Callable[[str], None]

log = logging.getLogger(__name__)


class NoBrief(PaperdropError):
    """No brief could be made at all (every source failed or returned nothing).

    `reports` are the sources' reports when nothing could be collected (empty when the
    candidates were all shown before): callers tell "failed" from "answered with none".
    `sentence(language)` says what each source did, once per source, in any language (the
    command line speaks its own, a chat the reader's); `str()` is the reader's.
    """

    def __init__(
        self,
        message: str,
        reports: Sequence[SourceItem] = (),
        *,
        day: dt.date | None = None,
        outcomes: Sequence[SourceOutcome] = (),
    ) -> None:
        super().__init__(message)
        self.reports = list(reports)
        self.day = day
        self.outcomes = list(outcomes)

    def sentence(self, language: Language) -> str:
        if self.day is None or not self.outcomes:
            return str(self)
        return _nothing_collected(self.day, self.outcomes, language)


def _nothing_collected(day: dt.date, outcomes: Sequence[SourceOutcome], language: Language) -> str:
    zh = language == "zh"
    parts = [_outcome_phrase(o, zh) for o in outcomes]
    if zh:
        return f"{day} 没有收集到任何论文:{';'.join(parts)}。"
    return f"no papers could be collected for {day}: {'; '.join(parts)}."


def _outcome_phrase(o: SourceOutcome, zh: bool) -> str:
    """One source in a NoBrief sentence: failed (when, why), answered with none, skipped."""
    if o.status in ("failed", "partial"):
        if zh:
            return f"{o.source} 获取 {o.failed_span} 失败({o.reason})"
        return f"{o.source} failed for {o.failed_span} ({o.reason})"
    if o.status == "skipped":
        return f"未查询 {o.source}" if zh else f"{o.source} was not queried"
    return f"{o.source} 没有论文" if zh else f"{o.source} listed no papers"


def http_client(settings: Settings) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    """`async with http_client(settings) as client:` the process's HTTP pool for the
    sources (digest.clients), lent: it stays open for the next build or command."""
    return http_session(settings)


async def build_brief(
    settings: Settings,
    profile: Profile,
    day: dt.date,
    *,
    store: Store,
    readers: Sequence[str] = (),
    include_seen: bool = False,
    use_llm: bool = True,
    sample: bool = False,
    llm: LLM | None = None,
    progress: Progress | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    languages: Collection[Language] | None = None,
) -> Brief:
    """Build the brief of `day` for `profile`.

    `readers` are the seen-paper keys whose shared history filters the candidates (a
    paper is dropped only when every reader has seen it). `languages` are the languages
    the day's readers need (push knows them from its groups): a paper's summary is then
    written in all of them by one call, so other-language readers find theirs cached.
    Raises NoBrief when nothing could be collected.
    """
    run = _Run(
        settings=settings,
        profile=profile,
        day=day,
        store=store,
        readers=readers,
        include_seen=include_seen,
        use_llm=use_llm,
        sample=sample,
        # The process's clients (digest.clients), never one per build: a morning builds
        # hundreds of briefs, and the LLM's concurrency bound must hold across all of them.
        llm=_llm_of(settings, llm, use_llm),
        http=shared_http(settings),
        say=progress or _quiet,
        now=now,
        languages=languages,
    )
    async with build_gate(settings):  # at most PAPERDROP_BUILD_CONCURRENCY builds at once
        found = await _collect(run)
        ranking = await _rank(run, found)
        shown = await _show(run, found, ranking)
        texts = await _summarise(run, found, shown)
        written = await _write(run, found, shown, texts)
    brief = _compose(run, found, shown, texts, written)
    if ranking.rerank_failed:
        brief = _say_rerank_failed(brief, ranking.rerank_failed[0])
    return brief


def _quiet(_msg: str) -> None:
    return None


def _llm_of(settings: Settings, llm: LLM | None, use_llm: bool) -> LLM | None:
    if not use_llm:
        return None
    return shared_llm(settings) if llm is None else llm


@dataclass(frozen=True)
class _Run:
    """One build's inputs, its clients, and the LLM usage its steps add up."""

    settings: Settings
    profile: Profile
    day: dt.date
    store: Store
    readers: Sequence[str]
    include_seen: bool
    use_llm: bool
    sample: bool
    llm: LLM | None
    http: httpx.AsyncClient
    say: Progress
    now: Callable[[], dt.datetime]
    languages: Collection[Language] | None
    usage: LLMUsage = field(default_factory=LLMUsage)

    @property
    def language(self) -> Language:
        return self.profile.language


@dataclass(frozen=True)
class _Found:
    """The day's candidates, and the sources asked again later (None offline)."""

    candidates: Candidates
    arxiv: ArxivSource | None
    github: GitHubSource | None

    @property
    def papers(self) -> list[Paper]:
        return self.candidates.papers


async def _collect(run: _Run) -> _Found:
    """The offline sample, or the sources' candidates with the followed authors' papers.
    Raises NoBrief when there are none."""
    arxiv = None if run.sample else ArxivSource(run.settings)  # one, so its requests are spaced
    github = None
    if arxiv is None:
        run.say("loading the offline sample")
        candidates = sample_candidates(run.language)
    else:
        run.say(f"collecting candidates for {run.day}")
        candidates = await collect_candidates(
            day=run.day,
            categories=run.profile.categories,
            need=run.settings.min_candidates or max(20, run.profile.top_picks * 4),
            language=run.language,
            hf=HuggingFaceSource(run.settings, run.http),
            arxiv=arxiv,
            lookback_days=run.settings.lookback_days,
            arxiv_max_results=run.settings.arxiv_max_results,
        )
        github = GitHubSource(run.settings, run.http, store=run.store)
        candidates = await with_followed(
            candidates, run.profile, arxiv, run.day, run.settings, run.say
        )
    if not candidates.papers:
        raise NoBrief(
            _nothing_collected(run.day, candidates.outcomes, run.language),
            candidates.reports,
            day=run.day,
            outcomes=candidates.outcomes,
        )
    return _Found(candidates=candidates, arxiv=arxiv, github=github)


@dataclass(frozen=True)
class _Ranking:
    """The candidates in the reader's order, and what that order was made with."""

    ranked: list[Ranked]
    seen: set[str]
    learned: Learned | None
    rerank_failed: list[str]  # why the LLM's re-ranking failed (empty when it did not)


async def _rank(run: _Run, found: _Found) -> _Ranking:
    """Ranked by the profile and the reader's model, then by the LLM when configured.
    Raises NoBrief when every candidate was shown before."""
    seen = await _seen(run)
    learned = await learn(
        run.store,
        run.profile,
        found.papers,
        fetch=found.arxiv.lookup if found.arxiv is not None else None,
        progress=run.say,
    )
    await _yield()  # the CPU-bound steps take turns with the other builds' I/O
    ranked = rank(found.papers, run.profile, today=run.day, seen=seen, learned=learned)
    if not ranked:
        raise NoBrief(
            f"all {len(found.papers)} candidates were already shown to this reader "
            "(use --include-seen to show them again)"
        )
    run.say(f"ranked {len(ranked)} candidates")
    rerank_failed: list[str] = []
    if run.llm is not None:
        ranked = await _rerank(run, run.llm, ranked, rerank_failed)
    await _yield()
    return _Ranking(ranked=ranked, seen=seen, learned=learned, rerank_failed=rerank_failed)


async def _seen(run: _Run) -> set[str]:
    """The papers every one of the readers has seen (none with include_seen)."""
    if not run.readers or run.include_seen:
        return set()
    sets = [await run.store.seen(r) for r in run.readers]
    return set.intersection(*sets) if sets else set()


async def _rerank(run: _Run, llm: LLM, ranked: list[Ranked], failures: list[str]) -> list[Ranked]:
    """The semantic blend and the LLM's re-ranking of the head, as configured."""
    if run.settings.embeddings_model:
        ranked, u = await semantic_blend(ranked, run.profile, llm)
        run.usage.add(u)
    if run.settings.llm_rerank:
        run.say("re-ranking with the LLM")
        # The head as the reader's model ranks it, its wanted papers counted in.
        matched = sum(1 for r in ranked if wanted(r) or r.followed)
        top_n = min(RERANK_TOP_N, matched + RERANK_UNMATCHED)
        ranked, u = await llm_rerank(
            ranked,
            run.profile,
            llm,
            top_n=top_n,
            batch_size=RERANK_TOP_N,
            failures=failures,
        )
        run.usage.add(u)
    return ranked


@dataclass(frozen=True)
class _Shown:
    """The papers the brief shows (related ones grouped), and how many were kept out."""

    plan: Plan
    papers: list[Paper]
    hidden_avoid: int
    hidden_feedback: int


async def _show(run: _Run, found: _Found, ranking: _Ranking) -> _Shown:
    """The picks and others, grouped; cached in the Store for follow-up questions."""
    picks, others = select(ranking.ranked, run.profile.top_picks)
    # Related papers under one pick; the shown papers stay the same set.
    plan = plan_picks(picks, others, top_picks=run.profile.top_picks, corpus=found.papers)
    shown = [r.paper for r in (*plan.picks, *plan.others)]
    hidden_avoid, hidden_feedback = hidden_counts(
        found.papers,
        run.profile,
        today=run.day,
        seen=ranking.seen,
        shown={p.paper_id for p in shown},
        ranked=ranking.ranked,
        learned=ranking.learned,
    )
    # Abstracts for follow-up questions and /paper, without asking arXiv again.
    try:
        await put_papers(run.store, shown)
    except StoreError as exc:
        run.say(f"papers not cached for follow-ups: {exc}")
    return _Shown(
        plan=plan, papers=shown, hidden_avoid=hidden_avoid, hidden_feedback=hidden_feedback
    )


@dataclass(frozen=True)
class _Texts:
    """The shown papers' summaries and repos, and the GitHub and full-text notes."""

    summaries: dict[str, PaperSummary]
    repos: dict[str, RepoInfo | None]
    reports: list[SourceItem]


async def _summarise(run: _Run, found: _Found, shown: _Shown) -> _Texts:
    """Summaries (the top picks' from their full text) ∥ GitHub's answers on the repos."""
    run.say(f"summarising {len(shown.papers)} papers" + (" with the LLM" if run.llm else ""))
    # The top picks are read in full first; the other papers do not wait for them.
    wanted_picks = run.settings.fulltext_picks
    count = run.profile.top_picks if wanted_picks is None else wanted_picks
    to_read = picks_to_read(shown.plan, count) if run.llm is not None and not run.sample else []
    rest = [p for p in shown.papers if p not in to_read]
    (summaries, u), (pick_made, u2, texts), (repos, github_note) = await asyncio.gather(
        summarize_papers(rest, run.language, store=run.store, llm=run.llm, languages=run.languages),
        _pick_summaries(run, to_read),
        fetch_repos(found.github, shown.papers, run.language),
    )
    run.usage.add(u)
    run.usage.add(u2)
    fulltext_note = fulltext_report(
        texts, run.language, sample=run.sample, llm=run.llm is not None, off=wanted_picks == 0
    )
    return _Texts(
        summaries={**summaries, **pick_made}, repos=repos, reports=[github_note, fulltext_note]
    )


async def _pick_summaries(
    run: _Run, to_read: list[Paper]
) -> tuple[dict[str, PaperSummary], LLMUsage, dict[str, FullText | Missing]]:
    """The top picks read in full, then summarised from their bodies (from the abstract
    when a pick's body did not come in time)."""
    texts = await read_picks(to_read, run.settings, run.store) if to_read else {}
    if to_read:
        run.say(f"read {sum(isinstance(t, FullText) for t in texts.values())} picks in full")
    full = {pid: t for pid, t in texts.items() if isinstance(t, FullText)}
    made, used = await summarize_papers(
        to_read,
        run.language,
        store=run.store,
        llm=run.llm,
        languages=run.languages,
        fulltexts=full,
        fulltext_tokens=run.settings.fulltext_summary_tokens,
    )
    return made, used, texts


@dataclass(frozen=True)
class _Written:
    """The reader's notes, the plan with the groups they name, and how the LLM did."""

    notes: ReaderNotes
    plan: Plan
    llm_used: bool  # some LLM text is in the brief
    llm_note: SourceItem | None  # the LLM's failure note, when it failed


async def _write(run: _Run, found: _Found, shown: _Shown, texts: _Texts) -> _Written:
    """The per-reader notes (one call; rule-written without an LLM)."""
    notes, llm_used, llm_note = await write_notes(
        shown.plan.picks,
        shown.plan.others,
        texts.summaries,
        run.profile,
        run.language,
        run.llm,
        run.usage,
        llm_used=any(s.mode == "llm" for s in texts.summaries.values()),
        plan=shown.plan,
        candidates=len(found.papers),
    )
    plan = _with_llm_groups(shown.plan, notes)
    if run.llm is not None:
        _warn_once(texts.summaries, shown.papers, llm_note)
    await _yield()
    return _Written(notes=notes, plan=plan, llm_used=llm_used, llm_note=llm_note)


def _compose(run: _Run, found: _Found, shown: _Shown, texts: _Texts, written: _Written) -> Brief:
    """The Brief, with the header's facts: sources, window, papers kept out."""
    candidates = found.candidates
    mode: Literal["llm", "extractive"] = "llm" if written.llm_used else "extractive"
    reports = [*candidates.reports, *texts.reports]
    if written.llm_note is not None:
        reports.append(written.llm_note)
    facts = BriefFacts(
        sample=run.sample,
        candidates=len(candidates.papers),
        counts=candidates.counts,
        widened=candidates.window_note,
        hidden_avoid=shown.hidden_avoid,
        hidden_feedback=shown.hidden_feedback,
        # A key is configured, but this run was told not to use it (--no-llm).
        llm_off=not run.use_llm and run.settings.llm_enabled,
    )
    return compose_brief(
        day=run.day,
        profile=run.profile,
        language=run.language,
        picks=written.plan.picks,
        others=written.plan.others,
        summaries=texts.summaries,
        notes=written.notes,
        repos=texts.repos,
        reports=reports,
        window_start=candidates.window_start,
        window_end=candidates.window_end,
        mode=mode,
        usage=run.usage,
        generated_at=run.now(),
        plan=written.plan,
        facts=facts,
        deltas=found.github.deltas if found.github is not None else {},
    )


async def _yield() -> None:
    """Let the event loop run other tasks: a morning runs hundreds of builds in one loop,
    and a build's synchronous steps must not hold up the others' LLM and HTTP calls."""
    await asyncio.sleep(0)


def _say_rerank_failed(brief: Brief, reason: str) -> Brief:
    """The brief whose LLM source note also says the re-ranking failed (its papers are in
    their keyword-match order); a note already saying the LLM failed says enough."""
    zh = brief.language == "zh"
    sentence = (
        f"重排调用失败({reason}):论文按关键词匹配排序。"
        if zh
        else f"The re-ranking failed ({reason}): papers are in their keyword-match order."
    )
    sections = []
    for section in brief.sections:
        if section.kind == "sources":
            items: list[Item] = []
            for item in section.items:
                if (
                    isinstance(item, SourceItem)
                    and item.source == "LLM"
                    and item.status != "failed"
                ):
                    detail = f"{item.detail}{sentence}" if zh else f"{item.detail} {sentence}"
                    item = item.model_copy(update={"status": "partial", "detail": detail})
                items.append(item)
            section = section.model_copy(update={"items": items})
        sections.append(section)
    return brief.model_copy(update={"sections": sections})


async def learn(
    store: Store,
    profile: Profile,
    candidates: Sequence[Paper],
    *,
    fetch: Fetch | None,
    progress: Progress | None = None,
) -> Learned | None:
    """The reader's model on the day's candidates (None in the cold start): the profile's
    seed papers join its evidence; texts come from the Store, the day, or arXiv (once)."""
    evidence = profile.evidence
    seeds = tuple(dict.fromkeys([*profile.papers, *evidence.seeds]))
    evidence = evidence.model_copy(update={"seeds": seeds})
    if not evidence.active:
        return None
    try:
        papers = await reader_papers(
            store, [*evidence.positives, *evidence.negatives], known=candidates, fetch=fetch
        )
    except (SourceError, StoreError) as exc:
        log.warning("reader papers unavailable, ranking by interests: %s", exc)
        return None
    learned = fit_reader(candidates, papers, evidence)
    if learned is not None and progress is not None:
        progress(f"reader model: {len(evidence.positives)} positives, weight {learned.weight:.2f}")
    return learned


def _with_llm_groups(plan: Plan, notes: ReaderNotes) -> Plan:
    """The plan with the groups the LLM's notes propose, when they propose any."""
    pairs = [(list(g.paper_ids), g.title) for g in notes.groups]
    return merge_groups(plan, pairs) if pairs else plan


def _warn_once(
    summaries: Mapping[str, PaperSummary], shown: Sequence[Paper], notes_failed: SourceItem | None
) -> None:
    """One warning for the run when the LLM failed: `summarize_papers` logs the summaries'
    (once for all papers); the reader notes' failure is logged here only when the
    summaries went well, so a broken LLM is reported once."""
    fell_back = any(
        (s := summaries.get(p.paper_id)) is None or s.mode == "extractive" for p in shown
    )
    if notes_failed is not None and not fell_back:
        log.info("LLM reader notes failed: %s", notes_failed.detail)


async def mark_seen(store: Store, reader: str, brief: Brief, settings: Settings) -> None:
    """Remember the brief's papers as shown to `reader` (after it was produced/delivered)."""
    await store.mark_seen(reader, brief.paper_ids(), dt.timedelta(days=settings.seen_ttl_days))
