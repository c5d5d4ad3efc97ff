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
import dataclasses
import datetime as dt
import functools
import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from importlib import resources
from typing import Any, Literal

import httpx

from digest.authors import followed_in
from digest.chatstate import put_papers
from digest.clients import build_gate, http_session, shared_http, shared_llm
from digest.compose import BriefFacts, compose_brief
from digest.errors import PaperdropError, SourceError, StoreError
from digest.evidence import Learned
from digest.extractive import reader_notes as extractive_reader_notes
from digest.fulltext.model import FullText
from digest.fulltext.picks import fulltext_report, picks_to_read, read_picks
from digest.grouping.groups import Plan, merge_groups, plan_picks
from digest.grouping.themes import themes
from digest.learning import fit_reader
from digest.llm import LLM, usage_of
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
    SourceStatus,
)
from digest.notes import ReaderNotes
from digest.profile import Profile
from digest.ranking import llm_rerank, rank, semantic_blend
from digest.reader import Fetch, reader_papers
from digest.readernotes import NoteHints, reader_notes
from digest.settings import Settings
from digest.sources.arxiv_api import ArxivSource
from digest.sources.collect import Candidates, SourceOutcome, collect_candidates
from digest.sources.github import GitHubSource, normalize_repo_url
from digest.sources.hf import HuggingFaceSource, parse_daily
from digest.sources.merge import merge_papers
from digest.store.base import Store
from digest.summarize import summarize_papers

__all__ = [
    "SAMPLE_DATE",
    "NoBrief",
    "build_brief",
    "fetch_repos",
    "hidden_counts",
    "http_client",
    "learn",
    "llm_failed_note",
    "mark_seen",
    "papers_of_day",
    "sample_candidates",
    "select",
    "with_followed",
    "write_notes",
]

SAMPLE_DATE = dt.date(2026, 5, 8)
MAX_OTHERS = 15  # the reference brief lists 17 others
MIN_OTHERS = 5
# A followed author's papers are shown beyond MAX_OTHERS, up to this many a day.
MAX_FOLLOWED = 10
# The reader's model wants the top fifth of the day (its scores are places in its order).
MODEL_WANTS = 0.8
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


def select(ranked: Sequence[Ranked], top_picks: int) -> tuple[list[Ranked], list[Ranked]]:
    """The picks, then others worth a glance: those matching an interest or the reader's
    model, at least a few, and every paper by a followed author (however off-topic)."""
    picks = list(ranked[:top_picks])
    rest = list(ranked[top_picks:])
    others = [r for r in rest if _wanted(r)][:MAX_OTHERS]
    if len(others) < MIN_OTHERS:
        chosen = {r.paper.paper_id for r in others}
        others += [r for r in rest if r.paper.paper_id not in chosen][: MIN_OTHERS - len(others)]
    chosen = {r.paper.paper_id for r in others}
    others += [r for r in rest if r.followed and r.paper.paper_id not in chosen][:MAX_FOLLOWED]
    others.sort(key=lambda r: -r.score)
    return picks, others


def _wanted(r: Ranked) -> bool:
    return bool(r.matched) or r.signals.get("model", 0.0) >= MODEL_WANTS


def hidden_counts(
    papers: Sequence[Paper],
    profile: Profile,
    *,
    today: dt.date,
    seen: Collection[str],
    shown: Collection[str],
    ranked: Sequence[Ranked],
    learned: Learned | None = None,
) -> tuple[int, int]:
    """How many papers the avoid list, and how many the reader's model, kept out.

    A paper counts when the same ranking without that signal would have shown it, it is
    not shown, and the signal did weigh on it (`signals["avoid"]` above zero; a model
    probability below one half). Nothing is hidden silently.
    """
    signals = {r.paper.paper_id: r.signals for r in ranked}

    def would_show(variant: Profile, model: Learned | None) -> set[str]:
        order = rank(papers, variant, today=today, seen=seen, learned=model)
        picks, others = select(order, variant.top_picks)
        return {r.paper.paper_id for r in (*picks, *others)}

    avoid = feedback = 0
    if profile.avoid:
        missing = would_show(profile.model_copy(update={"avoid": []}), learned) - set(shown)
        avoid = sum(1 for pid in missing if signals.get(pid, {}).get("avoid", 0.0) > 0)
    if learned is not None and learned.weight > 0:
        missing = would_show(profile, None) - set(shown)
        feedback = sum(1 for pid in missing if signals.get(pid, {}).get("model", 1.0) < 0.5)
    return avoid, feedback


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


async def fetch_repos(
    github: GitHubSource | None, papers: Sequence[Paper], language: Language
) -> tuple[dict[str, RepoInfo | None], SourceItem]:
    """What GitHub says of the papers' repos, picks first (the ones HF names, and the ones
    only their text names), and the source note saying how that went.

    By normalised URL: the repo's facts; None when GitHub answered that there is no such
    repo (404), or only an archived, empty one; absent when it was not asked (offline, a
    rate limit, an error). Answers are cached in the Store (`GitHubSource`).
    """
    urls = list(dict.fromkeys(u for p in papers for u in (p.github_repo, p.repo_in_text) if u))
    if github is None:
        return {}, SourceItem(
            source="GitHub",
            status="skipped",
            detail={
                "zh": "离线样例未查询 GitHub:仓库的 star 数与最近更新未核实。",
                "en": "Not queried in the offline sample: repo stars and last push are "
                "not checked.",
            }[language],
        )
    if not urls:
        return {}, SourceItem(
            source="GitHub",
            status="ok",
            detail={"zh": "入选论文没有关联仓库。", "en": "No selected paper links a repo."}[
                language
            ],
        )
    try:
        found = await github.repos(urls)
    except SourceError as exc:
        return {}, SourceItem(
            source="GitHub",
            status="failed",
            detail={
                "zh": f"GitHub 查询失败({exc.reason}):仓库照常列出,star 数与活跃度未核实。",
                "en": f"GitHub failed ({exc.reason}): repos are listed without stars and activity.",
            }[language],
        )
    answers: dict[str, RepoInfo | None] = {}
    for url in urls:
        norm = normalize_repo_url(url)
        if norm is None or norm in github.failures:
            continue  # not asked: unverified
        info = found.get(norm)
        answers[norm] = None if info is None or (info.archived and info.empty) else info
    missing = sum(1 for v in answers.values() if v is None)
    checked = len(answers)
    status: SourceStatus = "ok" if checked == len(urls) else "partial"
    detail = {
        "zh": f"已通过 GitHub API 验证 {checked}/{len(urls)} 个仓库",
        "en": f"Checked {checked}/{len(urls)} repos with the GitHub API",
    }[language]
    if missing:
        detail += (
            f",其中 {missing} 个不存在(或已归档且为空),不显示链接"
            if language == "zh"
            else f"; {missing} do not exist (or are archived and empty) and are not linked"
        )
    detail += "。" if language == "zh" else "."
    if github.deltas:
        detail += (
            f"{len(github.deltas)} 个仓库与此前记录的 star 数比较。"
            if language == "zh"
            else f" {len(github.deltas)} compared with the star counts kept from earlier days."
        )
    return answers, SourceItem(source="GitHub", status=status, detail=detail)


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
    say = progress or (lambda _msg: None)
    language = profile.language
    usage = LLMUsage()
    # The process's clients (digest.clients), never one per build: a morning builds
    # hundreds of briefs, and the LLM's concurrency bound must hold across all of them.
    if not use_llm:
        llm = None
    elif llm is None:
        llm = shared_llm(settings)
    client = shared_http(settings)
    async with build_gate(settings):  # at most PAPERDROP_BUILD_CONCURRENCY builds at once
        arxiv = None if sample else ArxivSource(settings)  # one, so its requests are spaced
        if arxiv is None:
            say("loading the offline sample")
            candidates = sample_candidates(language)
            github = None
        else:
            say(f"collecting candidates for {day}")
            need = settings.min_candidates or max(20, profile.top_picks * 4)
            candidates = await collect_candidates(
                day=day,
                categories=profile.categories,
                need=need,
                language=language,
                hf=HuggingFaceSource(settings, client),
                arxiv=arxiv,
                lookback_days=settings.lookback_days,
                arxiv_max_results=settings.arxiv_max_results,
            )
            github = GitHubSource(settings, client, store=store)
            candidates = await with_followed(candidates, profile, arxiv, day, settings, say)
        if not candidates.papers:
            raise NoBrief(
                _nothing_collected(day, candidates.outcomes, language),
                candidates.reports,
                day=day,
                outcomes=candidates.outcomes,
            )

        seen: set[str] = set()
        if readers and not include_seen:
            sets = [await store.seen(r) for r in readers]
            seen = set.intersection(*sets) if sets else set()
        learned = await learn(
            store,
            profile,
            candidates.papers,
            fetch=arxiv.lookup if arxiv is not None else None,
            progress=say,
        )
        await _yield()  # the CPU-bound steps take turns with the other builds' I/O
        ranked = rank(candidates.papers, profile, today=day, seen=seen, learned=learned)
        if not ranked:
            raise NoBrief(
                f"all {len(candidates.papers)} candidates were already shown to this reader "
                "(use --include-seen to show them again)"
            )
        say(f"ranked {len(ranked)} candidates")

        rerank_failed: list[str] = []
        if llm is not None:
            if settings.embeddings_model:
                ranked, u = await semantic_blend(ranked, profile, llm)
                usage.add(u)
            if settings.llm_rerank:
                say("re-ranking with the LLM")
                # The head as the reader's model ranks it, its wanted papers counted in.
                matched = sum(1 for r in ranked if _wanted(r) or r.followed)
                top_n = min(RERANK_TOP_N, matched + RERANK_UNMATCHED)
                ranked, u = await llm_rerank(
                    ranked,
                    profile,
                    llm,
                    top_n=top_n,
                    batch_size=RERANK_TOP_N,
                    failures=rerank_failed,
                )
                usage.add(u)
        await _yield()
        picks, others = select(ranked, profile.top_picks)
        # Related papers under one pick; the shown papers stay the same set.
        plan = plan_picks(picks, others, top_picks=profile.top_picks, corpus=candidates.papers)
        picks, others = plan.picks, plan.others
        shown = [r.paper for r in (*picks, *others)]
        hidden_avoid, hidden_feedback = hidden_counts(
            candidates.papers,
            profile,
            today=day,
            seen=seen,
            shown={p.paper_id for p in shown},
            ranked=ranked,
            learned=learned,
        )
        # Abstracts for follow-up questions and /paper, without asking arXiv again.
        try:
            await put_papers(store, shown)
        except StoreError as exc:
            say(f"papers not cached for follow-ups: {exc}")

        say(f"summarising {len(shown)} papers" + (" with the LLM" if llm else ""))
        # The top picks are read in full first; the other papers do not wait for them.
        wanted = settings.fulltext_picks
        count = profile.top_picks if wanted is None else wanted
        to_read = picks_to_read(plan, count) if llm is not None and not sample else []
        rest = [p for p in shown if p not in to_read]

        async def pick_summaries() -> tuple[dict[str, PaperSummary], LLMUsage, dict[str, Any]]:
            texts = await read_picks(to_read, settings, store) if to_read else {}
            if to_read:
                say(f"read {sum(isinstance(t, FullText) for t in texts.values())} picks in full")
            full = {pid: t for pid, t in texts.items() if isinstance(t, FullText)}
            made, used = await summarize_papers(
                to_read,
                language,
                store=store,
                llm=llm,
                languages=languages,
                fulltexts=full,
                fulltext_tokens=settings.fulltext_summary_tokens,
            )
            return made, used, texts

        (summaries, u), (pick_made, u2, texts), (repos, github_note) = await asyncio.gather(
            summarize_papers(rest, language, store=store, llm=llm, languages=languages),
            pick_summaries(),
            fetch_repos(github, shown, language),
        )
        summaries = {**summaries, **pick_made}
        usage.add(u)
        usage.add(u2)
        fulltext_note = fulltext_report(
            texts, language, sample=sample, llm=llm is not None, off=wanted == 0
        )
        llm_used = any(s.mode == "llm" for s in summaries.values())

        notes, llm_used, llm_note = await write_notes(
            picks,
            others,
            summaries,
            profile,
            language,
            llm,
            usage,
            llm_used=llm_used,
            plan=plan,
            candidates=len(candidates.papers),
        )
        plan = _with_llm_groups(plan, notes)
        if llm is not None:
            _warn_once(summaries, shown, llm_note)
        await _yield()

    mode: Literal["llm", "extractive"] = "llm" if llm_used else "extractive"
    reports = [*candidates.reports, github_note, fulltext_note]
    if llm_note is not None:
        reports.append(llm_note)
    facts = BriefFacts(
        sample=sample,
        candidates=len(candidates.papers),
        counts=candidates.counts,
        widened=candidates.window_note,
        hidden_avoid=hidden_avoid,
        hidden_feedback=hidden_feedback,
        # A key is configured, but this run was told not to use it (--no-llm).
        llm_off=not use_llm and settings.llm_enabled,
    )
    brief = compose_brief(
        day=day,
        profile=profile,
        language=language,
        picks=plan.picks,
        others=plan.others,
        summaries=summaries,
        notes=notes,
        repos=repos,
        reports=reports,
        window_start=candidates.window_start,
        window_end=candidates.window_end,
        mode=mode,
        usage=usage,
        generated_at=now(),
        plan=plan,
        facts=facts,
        deltas=github.deltas if github is not None else {},
    )
    if rerank_failed:
        brief = _say_rerank_failed(brief, rerank_failed[0])
    return brief


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


async def with_followed(
    candidates: Candidates,
    profile: Profile,
    arxiv: ArxivSource,
    day: dt.date,
    settings: Settings,
    say: Progress,
) -> Candidates:
    """The candidates with the followed authors' papers of the window, wherever arXiv
    filed them (their papers are shown whatever their topic or category)."""
    if not profile.authors:
        return candidates
    try:
        found = await arxiv.by_authors(
            profile.authors,
            candidates.window_start - dt.timedelta(days=1),
            day,
            settings.arxiv_max_results,
        )
    except SourceError as exc:
        say(f"followed authors' papers not looked up: {exc}")
        return candidates
    theirs = [p for p in found if followed_in(p.authors, profile.authors)]
    if not theirs:
        return candidates
    papers = merge_papers(candidates.papers, theirs)
    return dataclasses.replace(candidates, papers=papers)


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


async def write_notes(
    picks: Sequence[Ranked],
    others: Sequence[Ranked],
    summaries: Mapping[str, PaperSummary],
    profile: Profile,
    language: Language,
    llm: LLM | None,
    usage: LLMUsage,
    *,
    llm_used: bool,
    plan: Plan | None = None,
    candidates: int | None = None,
) -> tuple[ReaderNotes, bool, SourceItem | None]:
    """The per-reader notes, rule-written without an LLM or when its call fails.

    Returns the notes, whether any LLM text is in the result, and the LLM's source note
    when it failed (the same wording for the brief and the paper card).
    """

    def fallback() -> ReaderNotes:
        return extractive_reader_notes(
            picks, others, summaries, profile, language, plan=plan, candidates=candidates
        )

    if llm is None:
        return fallback(), llm_used, None
    hints = None
    if plan is not None:  # the themes and groups the code found, for the LLM to name
        found = themes([*picks, *others], plan.lexicon, interests=profile.interests)
        hints = NoteHints(
            themes=[(t.name, len(t.paper_ids)) for t in found],
            groups=[(g.paper_ids, g.terms) for g in plan.groups],
        )
    try:
        notes, u = await reader_notes(picks, others, summaries, profile, language, llm, hints)
    except PaperdropError as exc:
        usage.add(usage_of(exc))
        return fallback(), llm_used, llm_failed_note(language, str(exc), partial=llm_used)
    usage.add(u)
    return notes, True, None


def llm_failed_note(language: Language, reason: str, *, partial: bool) -> SourceItem:
    if partial:  # summaries came from the LLM, the per-reader notes did not
        return SourceItem(
            source="LLM",
            status="partial",
            detail={
                "zh": f"个性化点评调用失败({reason}):与你研究的关系改为列出匹配的兴趣,"
                "今日未生成研究 idea。",
                "en": f"The per-reader notes failed ({reason}): relations list the matched "
                "interests and no ideas were generated today.",
            }[language],
        )
    return SourceItem(
        source="LLM",
        status="failed",
        detail={
            "zh": f"LLM 调用失败({reason}):改用摘录模式,未生成研究 idea。",
            "en": f"The LLM failed ({reason}): fell back to extractive texts; no ideas "
            "were generated.",
        }[language],
    )


async def mark_seen(store: Store, reader: str, brief: Brief, settings: Settings) -> None:
    """Remember the brief's papers as shown to `reader` (after it was produced/delivered)."""
    await store.mark_seen(reader, brief.paper_ids(), dt.timedelta(days=settings.seen_ttl_days))
