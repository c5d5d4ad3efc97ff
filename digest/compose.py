"""Composing the Brief: the reader's picks, summaries and notes as typed sections.

Links, ids, numbers and dates are copied from `Paper` and `RepoInfo`; the LLM's prose
(summaries, notes) fills text fields only and is stripped of URLs once more here, so a
link in a brief can only come from source data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from digest.errors import InvalidPaperId
from digest.i18n import label
from digest.ids import parse_arxiv_id
from digest.models import (
    Brief,
    IdeaItem,
    Item,
    Language,
    LLMUsage,
    PaperItem,
    PaperSummary,
    Ranked,
    RepoInfo,
    RepoItem,
    Section,
    SourceItem,
    TextItem,
)
from digest.profile import Profile
from digest.summarize import (
    ReaderNotes,
    extractive_summary,
    matched_sentence,
    split_sentences,
    strip_urls,
)

__all__ = ["compose_brief", "repo_key"]

MAX_REPOS: Final = 3
MUST_READ: Final = 3
LLM_SOURCE: Final = "LLM"
GITHUB_SOURCE: Final = "GitHub"

LLMState = Literal["used", "not_configured", "failed"]

_GITHUB = re.compile(r"^(?:https?://)?(?:www\.)?github\.com/([^/\s]+)/([^/\s#?]+)", re.IGNORECASE)

_FAILED_NOTE: Final[dict[Language, str]] = {
    "zh": "摘录模式:LLM 调用失败,以下文字取自 Hugging Face AI 摘要与论文摘要原文。",
    "en": "Extractive mode: the LLM failed; texts below are taken from Hugging Face AI "
    "summaries and the abstracts themselves.",
}


def repo_key(url: str) -> str:
    """`https://github.com/Owner/Name.git/` -> `github.com/owner/name` (for lookups only)."""
    m = _GITHUB.match(url.strip())
    if not m:
        return url.strip().rstrip("/").lower()
    name = m.group(2).removesuffix(".git")
    return f"github.com/{m.group(1)}/{name}".lower()


def _full_name(url: str) -> str:
    m = _GITHUB.match(url.strip())
    return f"{m.group(1)}/{m.group(2).removesuffix('.git')}" if m else url.strip()


def _bare(paper_id: str) -> str:
    try:
        return parse_arxiv_id(paper_id)
    except InvalidPaperId:
        return paper_id.strip()


@dataclass(frozen=True)
class _Context:
    language: Language
    summaries: Mapping[str, PaperSummary]
    verified: Mapping[str, RepoInfo]  # by repo_key

    def summary(self, r: Ranked) -> PaperSummary:
        s = self.summaries.get(r.paper.paper_id)
        return s if s is not None else extractive_summary(r.paper, self.language)

    def repo_url(self, r: Ranked) -> str | None:
        url = r.paper.github_repo
        if not url:
            return None
        info = self.verified.get(repo_key(url))
        return info.url if info is not None else url

    def paper_item(
        self, r: Ranked, *, contribution: bool = True, why: bool = False, note: str = ""
    ) -> PaperItem:
        p = r.paper
        s = self.summary(r)
        return PaperItem(
            paper_id=p.paper_id,
            title=p.title,
            authors=list(p.authors),
            links=p.links(repo=self.repo_url(r)),
            date=p.day,
            category=strip_urls(s.category),
            arxiv_category=p.primary_category,
            upvotes=p.upvotes,
            contribution=strip_urls(s.contribution) if contribution else "",
            why=strip_urls(s.why) if why else "",
            matched=list(r.matched),
            note=strip_urls(note),
        )


def _llm_state(mode: Literal["llm", "extractive"], usage: LLMUsage) -> LLMState:
    if mode == "llm":
        return "used"
    # Extractive after calls were made means the LLM was configured and failed.
    return "failed" if usage.calls > 0 else "not_configured"


def _llm_source(
    state: LLMState,
    language: Language,
    usage: LLMUsage,
    fallbacks: int,
) -> SourceItem:
    zh = language == "zh"
    if state == "not_configured":
        return SourceItem(
            source=LLM_SOURCE,
            status="skipped",
            detail="未配置 LLM:使用摘录模式,文字取自 Hugging Face AI 摘要与论文摘要;"
            "设置 PAPERDROP_LLM_API_KEY 后启用 LLM 摘要与研究 idea。"
            if zh
            else "No LLM configured: extractive mode, texts taken from Hugging Face AI "
            "summaries and abstracts. Set PAPERDROP_LLM_API_KEY to enable LLM summaries "
            "and ideas.",
        )
    if state == "failed":
        return SourceItem(
            source=LLM_SOURCE,
            status="failed",
            detail="LLM 调用失败:改用摘录模式,未生成研究 idea。"
            if zh
            else "The LLM failed: fell back to extractive texts; no ideas were generated.",
        )
    detail = (
        f"用于摘要与个性化点评:调用 {usage.calls} 次,共 {usage.total_tokens} tokens;"
        f"{usage.cached_summaries} 篇摘要来自缓存。"
        if zh
        else f"Used for summaries and notes: {usage.calls} calls, {usage.total_tokens} "
        f"tokens; {usage.cached_summaries} summaries from the cache."
    )
    if fallbacks:
        detail += (
            f"{fallbacks} 篇摘要调用失败,改用摘录。"
            if zh
            else f" {fallbacks} summaries fell back to extractive text."
        )
    return SourceItem(source=LLM_SOURCE, status="partial" if fallbacks else "ok", detail=detail)


def _repo_items(
    ctx: _Context,
    shown: Sequence[Ranked],
    notes: ReaderNotes,
    reports: Sequence[SourceItem],
) -> list[RepoItem]:
    # When GitHub answered for every repo, a missing one does not exist: leave it out.
    # Otherwise (failed, partial, not queried) list it as not verified.
    github_ok = any(r.source == GITHUB_SOURCE and r.status == "ok" for r in reports)
    ranked: list[tuple[tuple[bool, bool, float, int, int], RepoItem]] = []
    seen: set[str] = set()
    for order, r in enumerate(shown):
        url = r.paper.github_repo
        if not url:
            continue
        key = repo_key(url)
        if key in seen:
            continue
        info = ctx.verified.get(key)
        note = strip_urls(notes.repo_notes.get(r.paper.paper_id, ""))
        if info is not None:
            item = RepoItem(
                url=info.url,
                full_name=info.full_name,
                stars=info.stars,
                pushed_at=info.pushed_at,
                description=info.description,
                archived=info.archived,
                paper_id=r.paper.paper_id,
                paper_title=r.paper.title,
                note=note,
            )
        elif not github_ok:
            item = RepoItem(
                url=url,
                full_name=_full_name(url),
                paper_id=r.paper.paper_id,
                paper_title=r.paper.title,
                note=note,
            )
        else:
            continue
        seen.add(key)
        rank_key = (item.archived, item.stars is None, -r.score, -(item.stars or 0), order)
        ranked.append((rank_key, item))
    ranked.sort(key=lambda pair: pair[0])
    return [item for _, item in ranked[:MAX_REPOS]]


def compose_brief(
    *,
    day: dt.date,
    profile: Profile,
    language: Language,
    picks: Sequence[Ranked],
    others: Sequence[Ranked],
    summaries: Mapping[str, PaperSummary],
    notes: ReaderNotes,
    repos: Mapping[str, RepoInfo],
    reports: Sequence[SourceItem],
    window_start: dt.date,
    window_end: dt.date,
    mode: Literal["llm", "extractive"],
    usage: LLMUsage,
    generated_at: dt.datetime,
) -> Brief:
    """The day's Brief for one reader, sections in the reference brief's order.

    A `reports` entry for the LLM, when given, is kept; otherwise one is added from
    `mode` and `usage` (extractive with calls made means the LLM failed).
    """
    verified: dict[str, RepoInfo] = {}
    for url, info in repos.items():
        verified.setdefault(repo_key(url), info)
        verified.setdefault(repo_key(info.url), info)
    ctx = _Context(language=language, summaries=summaries, verified=verified)
    state = _llm_state(mode, usage)
    pick_ids = {_bare(r.paper.paper_id): r for r in picks}
    shown_ids = {_bare(r.paper.paper_id) for r in (*picks, *others)}

    overview = strip_urls(notes.overview)
    sections: list[Section] = [
        Section(kind="overview", title=label("overview", language), items=[TextItem(text=overview)])
    ]

    top: list[Item] = []
    for r in picks:
        item = ctx.paper_item(r, why=True)
        relation = strip_urls(notes.relations.get(r.paper.paper_id, ""))
        item.relation = relation or matched_sentence(r.matched, language)
        top.append(item)
    intro = ""
    if mode == "extractive":
        intro = _FAILED_NOTE[language] if state == "failed" else label("extractive_note", language)
    sections.append(
        Section(kind="top_picks", title=label("top_picks", language), intro=intro, items=top)
    )

    if others:
        items: list[Item] = [
            ctx.paper_item(
                r, note=notes.others_comments.get(r.paper.paper_id) or _quick_take(ctx, r)
            )
            for r in others
        ]
        sections.append(Section(kind="others", title=label("others", language), items=items))

    must: list[Item] = []
    chosen: set[str] = set()
    for m in notes.must_read:
        picked = pick_ids.get(_bare(m.paper_id))
        if picked is None or picked.paper.paper_id in chosen or len(must) >= MUST_READ:
            continue
        chosen.add(picked.paper.paper_id)
        reason = strip_urls(m.reason) or matched_sentence(picked.matched, language)
        must.append(_must_item(ctx, picked, reason))
    for r in picks:  # complete with the best remaining picks
        if len(must) >= MUST_READ:
            break
        if r.paper.paper_id not in chosen:
            chosen.add(r.paper.paper_id)
            must.append(_must_item(ctx, r, matched_sentence(r.matched, language)))
    if must:
        sections.append(Section(kind="must_read", title=label("must_read", language), items=must))

    repo_items: list[Item] = list(_repo_items(ctx, [*picks, *others], notes, reports))
    if repo_items:
        sections.append(Section(kind="repos", title=label("repos", language), items=repo_items))

    idea_items: list[Item] = []
    if mode == "extractive":
        idea_items.append(TextItem(text=label("ideas_disabled", language)))
    else:
        for idea in notes.ideas:
            ids = [_bare(x) for x in idea.paper_ids]
            title, body = strip_urls(idea.title), strip_urls(idea.body)
            if ids and all(x in shown_ids for x in ids) and title and body:
                idea_items.append(
                    IdeaItem(title=title, body=body, paper_ids=list(dict.fromkeys(ids)))
                )
    if idea_items:
        sections.append(Section(kind="ideas", title=label("ideas", language), items=idea_items))

    sections.append(
        Section(
            kind="conclusion",
            title=label("conclusion", language),
            items=[TextItem(text=strip_urls(notes.conclusion))],
        )
    )

    source_items: list[Item] = list(reports)
    if not any(r.source == LLM_SOURCE for r in reports):
        fallbacks = sum(
            1
            for r in (*picks, *others)
            if (s := summaries.get(r.paper.paper_id)) is None or s.mode == "extractive"
        )
        source_items.append(_llm_source(state, language, usage, fallbacks))
    sections.append(Section(kind="sources", title=label("sources", language), items=source_items))

    return Brief(
        date=day,
        language=language,
        reader=profile.name,
        title=label("brief_title", language, date=day.isoformat(), reader=profile.name),
        overview=overview,
        mode=mode,
        generated_at=generated_at,
        window_start=window_start,
        window_end=window_end,
        sections=sections,
        usage=usage.model_copy(),
    )


def _quick_take(ctx: _Context, r: Ranked) -> str:
    """An other's comment: the first sentence of its shared "why it matters"."""
    sentences = split_sentences(ctx.summary(r).why)
    return sentences[0] if sentences else ""


def _must_item(ctx: _Context, r: Ranked, reason: str) -> PaperItem:
    # The card above already has the texts; here only the reason to read it closely.
    return ctx.paper_item(r, contribution=False, note=reason)
