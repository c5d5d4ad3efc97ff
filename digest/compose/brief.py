"""A reader's Brief: its sections in the reference brief's order, made from the picks,
their summaries and the reader's notes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from digest.compose.context import Context, bare, prose, section, verified_repos
from digest.compose.header import WINDOW_SOURCES, BriefFacts, header_note
from digest.compose.llm_state import LLM_SOURCE, LLMState, llm_source, llm_state
from digest.compose.repos import repos_section
from digest.counts import Topics, check_counts
from digest.extractive import Writer
from digest.grouping.groups import Group, Plan
from digest.i18n import label
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
    Section,
    SourceItem,
    TextItem,
)
from digest.notes import ReaderNotes
from digest.profile import Profile
from digest.readernotes import matched_sentence
from digest.sentences import split_sentences

__all__ = ["compose_brief"]

MUST_READ: Final = 3


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

    `plan` groups related picks (`digest.grouping.groups.plan_picks`; its picks must be `picks`);
    `facts` feed the header; `deltas` are stars gained per repo URL since the Store's
    previous count, and over how many days. A `reports` entry for the LLM, when given, is
    kept; otherwise one is added from `mode` and `usage` (extractive with calls made means
    the LLM failed).
    """
    facts = facts or BriefFacts()
    writer = Writer(
        profile=profile,
        language=language,
        picks=picks,
        others=others,
        plan=plan,
        candidates=facts.candidates,
    )
    parts = _Parts(
        ctx=Context(
            language=language, summaries=summaries, verified=verified_repos(repos), writer=writer
        ),
        picks=picks,
        others=others,
        notes=notes,
        plan=plan,
        state=llm_state(mode, usage, facts.llm_off),
        extractive=mode == "extractive",
    )
    # In the order the reader sees them: the writer's texts vary with what it wrote before.
    overview = _overview(parts, profile, facts.candidates)
    sections = [
        section("overview", language, [TextItem(text=overview)]),
        _top_picks(parts),
        *_others(parts),
        *_must_read(parts),
        *repos_section(parts.ctx, [*picks, *others], notes, deltas or {}, reports),
        *_ideas(parts),
        section("conclusion", language, [TextItem(text=_conclusion(parts))]),
        section("sources", language, _source_items(parts, reports, usage)),
    ]
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
        header=header_note(
            language=language,
            generated_at=generated_at,
            timezone=profile.timezone,
            window_start=window_start,
            window_end=window_end,
            reports=reports,
            llm=parts.state,
            facts=facts,
        ),
    )


@dataclass(frozen=True)
class _Parts:
    """What the sections of one brief are made from."""

    ctx: Context
    picks: Sequence[Ranked]
    others: Sequence[Ranked]
    notes: ReaderNotes
    plan: Plan | None
    state: LLMState
    extractive: bool

    @property
    def language(self) -> Language:
        return self.ctx.language

    @property
    def writer(self) -> Writer:
        return self.ctx.writer


def _overview(parts: _Parts, profile: Profile, candidates: int | None) -> str:
    if parts.extractive:
        return parts.writer.overview()
    # The LLM's own overview, without a sentence of ours; a count it states that the
    # papers do not bear out is dropped.
    topics = Topics.of(
        picks=parts.picks,
        others=parts.others,
        profile=profile,
        phrases=parts.writer.lexicon.phrases,
        units=len(_units(parts.picks, parts.plan)),
        candidates=candidates,
    )
    return check_counts(prose(parts.notes.overview), topics)


def _top_picks(parts: _Parts) -> Section:
    """The picks, each group under its heading, with why each was picked for the reader."""
    writer = parts.writer
    top: list[Item] = []
    for group, members in _units(parts.picks, parts.plan):
        if group is not None:
            heading = prose(group.title) or writer.group_heading(group, members)
            top.append(TextItem(text=heading))
        for r in members:
            item = parts.ctx.paper_item(r, why=True, note=writer.why_picked(r))
            item.relation = _relation(parts, r)
            top.append(item)
    intro = label(f"extractive_note_{parts.state}", parts.language) if parts.extractive else ""
    return section("top_picks", parts.language, top, intro)


def _relation(parts: _Parts, r: Ranked) -> str:
    """The LLM's relation of a pick to the reader; ours when it gave none or only the
    matched interests (and always in an extractive brief)."""
    given = prose(parts.notes.relations.get(r.paper.paper_id, ""))
    if parts.extractive or not given or given == matched_sentence(r.matched, parts.language):
        return parts.writer.relation(r)
    return given


def _others(parts: _Parts) -> list[Section]:
    """The others worth a glance, a line each (none when there are none)."""
    if not parts.others:
        return []
    items: list[Item] = []
    for r in parts.others:
        comment = prose(parts.notes.others_comments.get(r.paper.paper_id, ""))
        note = parts.writer.glance(r, comment) if comment else _quick_take(parts.ctx, r)
        items.append(parts.ctx.paper_item(r, note=note))
    return [section("others", parts.language, items)]


def _must_read(parts: _Parts) -> list[Section]:
    """Three picks to read closely, each with a reason of its own (not its relation)."""
    must = [] if parts.extractive else _llm_must_read(parts)
    chosen = {i.paper_id for i in must}
    # Complete with the first paper of each pick (a group counts once), then the rest.
    for r in [*parts.writer.must_read(), *parts.picks]:
        if len(must) >= MUST_READ:
            break
        if r.paper.paper_id not in chosen:
            chosen.add(r.paper.paper_id)
            must.append(_must_item(parts.ctx, r, parts.writer.read_reason(r)))
    return [section("must_read", parts.language, [*must])] if must else []


def _llm_must_read(parts: _Parts) -> list[PaperItem]:
    """The LLM's choices among the picks, in its order, with its reasons where they are
    its own (not the paper's relation, not another paper's reason)."""
    pick_ids = {bare(r.paper.paper_id): r for r in parts.picks}
    must: list[PaperItem] = []
    chosen: set[str] = set()
    for m in parts.notes.must_read:
        picked = pick_ids.get(bare(m.paper_id))
        if picked is None or picked.paper.paper_id in chosen or len(must) >= MUST_READ:
            continue
        chosen.add(picked.paper.paper_id)
        reason = prose(m.reason)
        relation = prose(parts.notes.relations.get(picked.paper.paper_id, ""))
        template = matched_sentence(picked.matched, parts.language)
        given = {i.note for i in must}
        if not reason or reason in (relation, template) or reason in given:
            reason = parts.writer.read_reason(picked)
        must.append(_must_item(parts.ctx, picked, reason))
    return must


def _ideas(parts: _Parts) -> list[Section]:
    """The LLM's research ideas on shown papers; a line saying why there are none when it
    failed; nothing in an extractive brief."""
    items: list[Item] = []
    if parts.state == "failed":
        items.append(TextItem(text=label("ideas_failed", parts.language)))
    elif not parts.extractive:
        shown_ids = {bare(r.paper.paper_id) for r in (*parts.picks, *parts.others)}
        for idea in parts.notes.ideas:
            ids = [bare(x) for x in idea.paper_ids]
            title, body = prose(idea.title), prose(idea.body)
            if ids and all(x in shown_ids for x in ids) and title and body:
                items.append(IdeaItem(title=title, body=body, paper_ids=list(dict.fromkeys(ids))))
    return [section("ideas", parts.language, items)] if items else []


def _conclusion(parts: _Parts) -> str:
    return parts.writer.conclusion() if parts.extractive else prose(parts.notes.conclusion)


def _source_items(parts: _Parts, reports: Sequence[SourceItem], usage: LLMUsage) -> list[Item]:
    """The sources' reports, and the LLM's note when the caller sent none."""
    items: list[Item] = [r for r in reports if r.source not in WINDOW_SOURCES]
    if not any(r.source == LLM_SOURCE for r in reports):
        fallbacks = sum(
            1
            for r in (*parts.picks, *parts.others)
            if (s := parts.ctx.summaries.get(r.paper.paper_id)) is None or s.mode == "extractive"
        )
        items.append(llm_source(parts.state, parts.language, usage, fallbacks))
    return items


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


def _quick_take(ctx: Context, r: Ranked) -> str:
    """An other's one line: its LLM "why" first sentence, or its telling sentence quoted;
    led by what the reader told us that put it here (a followed author, a liked paper)."""
    s = ctx.summary(r)
    if s.mode == "llm":
        sentences = split_sentences(prose(s.contribution)) or split_sentences(prose(s.why))
        if sentences:
            return ctx.writer.glance(r, sentences[0])
    return ctx.writer.glance(r)


def _must_item(ctx: Context, r: Ranked, reason: str) -> PaperItem:
    # The card above already has the texts and the full title: here its short name and
    # the reason to read it closely.
    item = ctx.paper_item(r, contribution=False, note=reason)
    return item.model_copy(update={"title": ctx.writer.name(r.paper)})
