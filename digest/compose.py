"""Composing the Brief: the reader's picks, summaries and notes as typed sections.

Links, ids, numbers and dates are copied from `Paper` and `RepoInfo`; the LLM's prose
(summaries, notes) fills text fields only and is stripped of URLs once more here, so a
link in a brief can only come from source data. Every source text shown (titles, quoted
sentences, LLM prose) goes through `digest.cleaning` (LaTeX to plain text).

What no model wrote comes from `digest.extractive.Writer`: the why-picked line of every
pick (both modes), and in an extractive brief the relations, the reasons to read closely,
the overview and the conclusion; related picks share one group heading
(`digest.grouping`; the LLM's title when it gave one). An LLM's overview is its own, with
any count of papers the papers do not bear out dropped (`digest.counts`). The header
under the title says when the brief was retrieved (in the reader's time zone), over which
window and why it widened, which sources answered, and how many papers the reader's
avoid list or 👎 kept out.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal
from zoneinfo import ZoneInfo

from digest.cleaning import clean_title, latex_to_text
from digest.counts import Topics, check_counts
from digest.errors import InvalidPaperId
from digest.extractive import Writer, extractive_summary
from digest.grouping.groups import Group, Plan
from digest.i18n import label
from digest.ids import parse_arxiv_id
from digest.models import (
    Brief,
    IdeaItem,
    Item,
    Language,
    LLMUsage,
    Paper,
    PaperItem,
    PaperSummary,
    Ranked,
    RepoInfo,
    RepoItem,
    Section,
    SourceItem,
    SourceStatus,
    TextItem,
)
from digest.notes import ReaderNotes
from digest.profile import Profile
from digest.readernotes import matched_sentence
from digest.sentences import split_sentences, strip_urls

__all__ = ["BriefFacts", "LLMState", "compose_brief", "header_note", "repo_key"]

MAX_REPOS: Final = 3
MUST_READ: Final = 3
LLM_SOURCE: Final = "LLM"
GITHUB_SOURCE: Final = "GitHub"
# Reports that are about the window, not a source (older callers still send one).
WINDOW_SOURCES: Final = frozenset({"Window", "时间窗口"})
# Cleaned texts kept (a day's summaries and notes, in each language, and then some).
PROSE_CACHE: Final = 8192

# used: the LLM wrote text; not_configured: no key; off: a key is set but the run turned the
# LLM off (--no-llm); failed: it was called and failed.
LLMState = Literal["used", "not_configured", "off", "failed"]

_GITHUB = re.compile(r"^(?:https?://)?(?:www\.)?github\.com/([^/\s]+)/([^/\s#?]+)", re.IGNORECASE)


@dataclass(frozen=True)
class BriefFacts:
    """How the brief was made, for its header: all optional, all from code."""

    sample: bool = False  # the offline sample shipped in the package
    candidates: int | None = None  # papers the sources gave
    counts: Mapping[str, int] = field(default_factory=dict)  # papers per source name
    widened: str = ""  # why the window widened (localised), "" when it did not
    hidden_avoid: int = 0  # papers the avoid list kept out of the brief
    hidden_feedback: int = 0  # papers the reader's model pushed out of the brief
    llm_off: bool = False  # a key is configured but this run was told not to use it


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


@functools.lru_cache(maxsize=PROSE_CACHE)
def _prose(text: str) -> str:
    """Model or source prose for display: no URLs, no LaTeX. Cached: the day's summaries
    are shown to every reader of the day."""
    return strip_urls(latex_to_text(text))


@dataclass(frozen=True)
class _Context:
    language: Language
    summaries: Mapping[str, PaperSummary]
    # GitHub's answers by repo_key: the facts, or None when there is no such repo.
    verified: Mapping[str, RepoInfo | None]
    writer: Writer

    def summary(self, r: Ranked) -> PaperSummary:
        s = self.summaries.get(r.paper.paper_id)
        if s is None or s.mode == "extractive":
            # The cleaned, quoted extractive texts (summaries made elsewhere may predate them).
            return extractive_summary(r.paper, self.language)
        return s

    def repo_links(self, p: Paper) -> tuple[str | None, str | None]:
        """(a repo known to exist, a repo announced but not verified) of the paper.

        HF's githubRepo names a repo that exists, and so does a GitHub answer (this run's
        or the Store's cache). A repo only the text names is announced until GitHub
        answers; one it answered holds nothing yet ("coming soon" and empty) stays
        announced; a 404 (or an archived, empty repo) is no link at all."""
        for url, named_by_hf in ((p.github_repo, True), (p.repo_in_text, False)):
            if not url:
                continue
            key = repo_key(url)
            if key in self.verified:
                info = self.verified[key]
                if info is None:
                    continue
                if not named_by_hf and p.repo_promised and info.empty:
                    return None, url
                return info.url, None
            return (url, None) if named_by_hf else (None, url)
        return None, None

    def paper_item(
        self, r: Ranked, *, contribution: bool = True, why: bool = False, note: str = ""
    ) -> PaperItem:
        p = r.paper
        s = self.summary(r)
        return PaperItem(
            paper_id=p.paper_id,
            title=clean_title(p.title),
            authors=list(p.authors),
            links=p.links().model_copy(
                update=dict(zip(("repo", "announced"), self.repo_links(p), strict=True))
            ),
            date=p.day,
            category=_prose(s.category),
            arxiv_category=p.primary_category,
            upvotes=p.upvotes,
            contribution=_prose(s.contribution) if contribution else "",
            why=_prose(s.why) if why else "",
            matched=list(r.matched),
            matched_labels=[self.writer.label(m) for m in r.matched],
            note=_prose(note),
        )


def _llm_state(mode: Literal["llm", "extractive"], usage: LLMUsage, off: bool) -> LLMState:
    if mode == "llm":
        return "used"
    # Extractive after calls were made means the LLM was configured and failed.
    if usage.calls > 0:
        return "failed"
    return "off" if off else "not_configured"


_LLM_SKIPPED: Final[dict[str, dict[Language, str]]] = {
    "not_configured": {
        "zh": "未配置 LLM:本简报为摘录模式,引号内是论文摘要或 Hugging Face AI 摘要的原文,"
        "其余文字由规则根据你的兴趣写成;不生成研究 idea。",
        "en": "LLM not configured: an extractive brief. Quoted text is the abstracts' or "
        "Hugging Face AI summaries' own words; the rest is written by rules from your "
        "interests; no research ideas.",
    },
    "off": {
        "zh": "LLM 已关闭:本次未调用 LLM,简报为摘录模式,引号内是论文原文;不生成研究 idea。",
        "en": "LLM switched off for this brief: extractive texts, quoted from the papers; no "
        "research ideas.",
    },
}


def _llm_source(
    state: LLMState,
    language: Language,
    usage: LLMUsage,
    fallbacks: int,
) -> SourceItem:
    zh = language == "zh"
    if state in _LLM_SKIPPED:
        # The same word as the header's ("未配置", not "未查询").
        status: SourceStatus = "not_configured" if state == "not_configured" else "off"
        return SourceItem(source=LLM_SOURCE, status=status, detail=_LLM_SKIPPED[state][language])
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


# --- header ----------------------------------------------------------------------------

_LLM_WORDS: Final[dict[Language, dict[LLMState, str]]] = {
    "zh": {"used": "已使用", "not_configured": "未配置", "off": "已关闭", "failed": "失败"},
    "en": {
        "used": "used",
        "not_configured": "not configured",
        "off": "switched off",
        "failed": "failed",
    },
}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def header_note(
    *,
    language: Language,
    generated_at: dt.datetime,
    timezone: str,
    window_start: dt.date,
    window_end: dt.date,
    reports: Sequence[SourceItem],
    llm: LLMState,
    facts: BriefFacts,
) -> str:
    """The retrieval note under the title, in the reader's language and time zone."""
    zh = language == "zh"
    zone = _zone(timezone)
    stamp = generated_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    window = (
        str(window_end)
        if window_start == window_end
        else (f"{window_start} 至 {window_end}" if zh else f"{window_start} to {window_end}")
    )
    parts: list[str] = []
    if facts.sample:
        parts.append(
            f"离线样例:随包附带的真实数据,未联网;生成于 {stamp}({timezone})"
            if zh
            else f"Offline sample: real data shipped with the package, no network used; "
            f"made {stamp} ({timezone})"
        )
    else:
        parts.append(f"检索时间:{stamp}({timezone})" if zh else f"Retrieved {stamp} ({timezone})")
    window_text = f"时间范围:{window}" if zh else f"Window: {window}"
    if facts.widened:
        window_text += f"({facts.widened})" if zh else f" ({facts.widened})"
    parts.append(window_text)
    names: list[str] = []
    for r in reports:
        if r.source in WINDOW_SOURCES or r.source == LLM_SOURCE:
            continue
        count = facts.counts.get(r.source)
        word = label(f"status_{r.status}", language)  # the source note's word too
        if count is not None and r.status in ("ok", "partial"):
            what = (
                (f"{count} 篇" if r.status == "ok" else f"{count} 篇,{word}")
                if zh
                else (f"{count} papers" if r.status == "ok" else f"{count} papers, {word}")
            )
        else:
            what = word
        names.append(f"{r.source}({what})" if zh else f"{r.source} ({what})")
    names.append(f"LLM({_LLM_WORDS['zh'][llm]})" if zh else f"LLM ({_LLM_WORDS['en'][llm]})")
    parts.append(("来源:" + "、".join(names)) if zh else ("Sources: " + ", ".join(names)))
    hidden: list[str] = []
    if facts.hidden_avoid:
        n = facts.hidden_avoid
        hidden.append(
            f"{n} 篇因你的 avoid 列表未显示"
            if zh
            else f"{n} {'paper' if n == 1 else 'papers'} hidden by your avoid list"
        )
    if facts.hidden_feedback:
        n = facts.hidden_feedback
        hidden.append(
            f"{n} 篇因你的 👍/👎 与论文学到的偏好未显示"
            if zh
            else f"{n} {'paper' if n == 1 else 'papers'} hidden by what your 👍/👎 and "
            "papers taught"
        )
    if hidden:
        parts.append(("另有 " + ",".join(hidden)) if zh else "; ".join(hidden))
    if zh:
        return "。".join(parts) + "。"
    return ". ".join(p[0].upper() + p[1:] for p in parts) + "."


# --- repos -----------------------------------------------------------------------------

_REPO_INTRO: Final[dict[str, dict[Language, str]]] = {
    "skipped": {
        "zh": "未查询 GitHub:以下仓库的 star 数与最近更新未核实。",
        "en": "GitHub was not queried: stars and last push of these repos are not checked.",
    },
    "failed": {
        "zh": "GitHub 查询失败:以下仓库的 star 数与最近更新未核实(原因见来源说明)。",
        "en": "GitHub failed: stars and last push of these repos are not checked (see Sources).",
    },
    "partial": {
        "zh": "部分仓库未能从 GitHub 核实:没有 star 数的即未核实。",
        "en": "Some repos could not be checked with GitHub: those without stars are not checked.",
    },
}


def _github_status(reports: Sequence[SourceItem]) -> SourceStatus | None:
    return next((r.status for r in reports if r.source == GITHUB_SOURCE), None)


def _repo_items(
    ctx: _Context,
    shown: Sequence[Ranked],
    notes: ReaderNotes,
    deltas: Mapping[str, tuple[int, int]],
) -> list[RepoItem]:
    # Repos known to exist: with GitHub's facts, or (HF names it, GitHub not asked) without
    # stars. One GitHub says does not exist, or only the text announces, is not listed.
    ranked: list[tuple[tuple[bool, bool, float, int, int], RepoItem]] = []
    seen: set[str] = set()
    for order, r in enumerate(shown):
        url, _ = ctx.repo_links(r.paper)
        if not url:
            continue
        key = repo_key(url)
        if key in seen:
            continue
        info = ctx.verified.get(key)
        note = _prose(notes.repo_notes.get(r.paper.paper_id, ""))
        title = clean_title(r.paper.title)
        if info is not None:
            delta = deltas.get(repo_key(info.url)) or deltas.get(key)
            item = RepoItem(
                url=info.url,
                full_name=info.full_name,
                stars=info.stars,
                pushed_at=info.pushed_at,
                description=latex_to_text(info.description) if info.description else None,
                archived=info.archived,
                paper_id=r.paper.paper_id,
                paper_title=title,
                note=note,
                stars_delta=delta[0] if delta else None,
                delta_days=delta[1] if delta else None,
            )
        else:
            item = RepoItem(
                url=url,
                full_name=_full_name(url),
                paper_id=r.paper.paper_id,
                paper_title=title,
                note=note,
            )
        seen.add(key)
        rank_key = (item.archived, item.stars is None, -r.score, -(item.stars or 0), order)
        ranked.append((rank_key, item))
    ranked.sort(key=lambda pair: pair[0])
    return [item for _, item in ranked[:MAX_REPOS]]


# --- the brief -------------------------------------------------------------------------


def _units(picks: Sequence[Ranked], plan: Plan | None) -> list[tuple[Group | None, list[Ranked]]]:
    """The picks in order, each group's members together under it."""
    out: list[tuple[Group | None, list[Ranked]]] = []
    done: set[str] = set()
    for r in picks:
        pid = r.paper.paper_id
        if pid in done:
            continue
        group = plan.group_of(pid) if plan is not None else None
        if group is None:
            out.append((None, [r]))
            done.add(pid)
            continue
        members = [m for m in picks if m.paper.paper_id in group.paper_ids]
        out.append((group, members))
        done.update(m.paper.paper_id for m in members)
    return out


def compose_brief(
    *,
    day: dt.date,
    profile: Profile,
    language: Language,
    picks: Sequence[Ranked],
    others: Sequence[Ranked],
    summaries: Mapping[str, PaperSummary],
    notes: ReaderNotes,
    repos: Mapping[str, RepoInfo | None],
    reports: Sequence[SourceItem],
    window_start: dt.date,
    window_end: dt.date,
    mode: Literal["llm", "extractive"],
    usage: LLMUsage,
    generated_at: dt.datetime,
    plan: Plan | None = None,
    facts: BriefFacts | None = None,
    deltas: Mapping[str, tuple[int, int]] | None = None,
) -> Brief:
    """The day's Brief for one reader, sections in the reference brief's order.

    `plan` groups related picks (`digest.grouping.plan_picks`; its picks must be `picks`);
    `facts` feed the header; `deltas` are stars gained per repo URL since the Store's
    previous count, and over how many days. A `reports` entry for the LLM, when given, is
    kept; otherwise one is added from `mode` and `usage` (extractive with calls made means
    the LLM failed).
    """
    facts = facts or BriefFacts()
    verified: dict[str, RepoInfo | None] = {}
    for url, info in repos.items():
        verified.setdefault(repo_key(url), info)
        if info is not None:  # GitHub's own spelling of the name (a renamed repo)
            verified.setdefault(repo_key(info.url), info)
    writer = Writer(
        profile=profile,
        language=language,
        picks=picks,
        others=others,
        plan=plan,
        candidates=facts.candidates,
    )
    ctx = _Context(language=language, summaries=summaries, verified=verified, writer=writer)
    state = _llm_state(mode, usage, facts.llm_off)
    extractive = mode == "extractive"
    pick_ids = {_bare(r.paper.paper_id): r for r in picks}
    shown_ids = {_bare(r.paper.paper_id) for r in (*picks, *others)}
    template = {r.paper.paper_id: matched_sentence(r.matched, language) for r in picks}

    def relation_of(r: Ranked) -> str:
        given = _prose(notes.relations.get(r.paper.paper_id, ""))
        if extractive or not given or given == template[r.paper.paper_id]:
            return writer.relation(r)
        return given

    if extractive:
        overview = writer.overview()
    else:
        # The LLM's own overview, without a sentence of ours; a count it states that the
        # papers do not bear out is dropped.
        topics = Topics.of(
            picks=picks,
            others=others,
            profile=profile,
            phrases=writer.lexicon.phrases,
            units=len(_units(picks, plan)),
            candidates=facts.candidates,
        )
        overview = check_counts(_prose(notes.overview), topics)
    sections: list[Section] = [
        Section(kind="overview", title=label("overview", language), items=[TextItem(text=overview)])
    ]

    top: list[Item] = []
    for group, members in _units(picks, plan):
        if group is not None:
            heading = _prose(group.title) or writer.group_heading(group, members)
            top.append(TextItem(text=heading))
        for r in members:
            item = ctx.paper_item(r, why=True, note=writer.why_picked(r))
            item.relation = relation_of(r)
            top.append(item)
    intro = ""
    if extractive:
        intro = label(f"extractive_note_{state}", language)
    sections.append(
        Section(kind="top_picks", title=label("top_picks", language), intro=intro, items=top)
    )

    if others:
        items: list[Item] = []
        for r in others:
            comment = _prose(notes.others_comments.get(r.paper.paper_id, ""))
            note = writer.glance(r, comment) if comment else _quick_take(ctx, r)
            items.append(ctx.paper_item(r, note=note))
        sections.append(Section(kind="others", title=label("others", language), items=items))

    must = _must_read(ctx, picks, pick_ids, notes, extractive)
    if must:
        sections.append(Section(kind="must_read", title=label("must_read", language), items=must))

    deltas = deltas or {}
    keyed_deltas = {repo_key(k): v for k, v in deltas.items()}
    repo_list = _repo_items(ctx, [*picks, *others], notes, keyed_deltas)
    if repo_list:
        status = _github_status(reports)
        repo_intro = ""
        if any(i.stars is None for i in repo_list):
            repo_intro = _REPO_INTRO.get(status or "skipped", _REPO_INTRO["skipped"])[language]
        sections.append(
            Section(
                kind="repos",
                title=label("repos", language),
                intro=repo_intro,
                items=list(repo_list),
            )
        )

    idea_items: list[Item] = []
    if state == "failed":
        idea_items.append(TextItem(text=label("ideas_failed", language)))
    elif not extractive:
        for idea in notes.ideas:
            ids = [_bare(x) for x in idea.paper_ids]
            title, body = _prose(idea.title), _prose(idea.body)
            if ids and all(x in shown_ids for x in ids) and title and body:
                idea_items.append(
                    IdeaItem(title=title, body=body, paper_ids=list(dict.fromkeys(ids)))
                )
    if idea_items:
        sections.append(Section(kind="ideas", title=label("ideas", language), items=idea_items))

    conclusion = writer.conclusion() if extractive else _prose(notes.conclusion)
    sections.append(
        Section(
            kind="conclusion",
            title=label("conclusion", language),
            items=[TextItem(text=conclusion)],
        )
    )

    source_items: list[Item] = [r for r in reports if r.source not in WINDOW_SOURCES]
    if not any(r.source == LLM_SOURCE for r in reports):
        fallbacks = sum(
            1
            for r in (*picks, *others)
            if (s := summaries.get(r.paper.paper_id)) is None or s.mode == "extractive"
        )
        source_items.append(_llm_source(state, language, usage, fallbacks))
    sections.append(Section(kind="sources", title=label("sources", language), items=source_items))

    header = header_note(
        language=language,
        generated_at=generated_at,
        timezone=profile.timezone,
        window_start=window_start,
        window_end=window_end,
        reports=reports,
        llm=state,
        facts=facts,
    )
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
        header=header,
    )


def _must_read(
    ctx: _Context,
    picks: Sequence[Ranked],
    pick_ids: Mapping[str, Ranked],
    notes: ReaderNotes,
    extractive: bool,
) -> list[Item]:
    """Three picks to read closely, each with a reason of its own (not its relation)."""
    writer = ctx.writer
    must: list[Item] = []
    chosen: set[str] = set()
    if not extractive:
        for m in notes.must_read:
            picked = pick_ids.get(_bare(m.paper_id))
            if picked is None or picked.paper.paper_id in chosen or len(must) >= MUST_READ:
                continue
            chosen.add(picked.paper.paper_id)
            reason = _prose(m.reason)
            relation = _prose(notes.relations.get(picked.paper.paper_id, ""))
            template = matched_sentence(picked.matched, ctx.language)
            given = {i.note for i in must if isinstance(i, PaperItem)}
            # Each paper its own reason: not its relation, not another paper's reason.
            if not reason or reason in (relation, template) or reason in given:
                reason = writer.read_reason(picked)
            must.append(_must_item(ctx, picked, reason))
    # Complete with the first paper of each pick (a group counts once), then the rest.
    for r in [*writer.must_read(), *picks]:
        if len(must) >= MUST_READ:
            break
        if r.paper.paper_id not in chosen:
            chosen.add(r.paper.paper_id)
            must.append(_must_item(ctx, r, writer.read_reason(r)))
    return must


def _quick_take(ctx: _Context, r: Ranked) -> str:
    """An other's one line: its LLM "why" first sentence, or its telling sentence quoted;
    led by what the reader told us that put it here (a followed author, a liked paper)."""
    s = ctx.summary(r)
    if s.mode == "llm":
        sentences = split_sentences(_prose(s.contribution)) or split_sentences(_prose(s.why))
        if sentences:
            return ctx.writer.glance(r, sentences[0])
    return ctx.writer.glance(r)


def _must_item(ctx: _Context, r: Ranked, reason: str) -> PaperItem:
    # The card above already has the texts and the full title: here its short name and
    # the reason to read it closely.
    item = ctx.paper_item(r, contribution=False, note=reason)
    return item.model_copy(update={"title": ctx.writer.name(r.paper)})
