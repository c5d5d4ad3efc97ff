"""Which picks answer the same question: related papers under one pick (`plan_picks`),
groups an LLM proposed merged in (`merge_groups`), each group with the day's key phrases
all its papers use."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from digest.grouping.lexicon import Lexicon, lexicon_of
from digest.keyphrases import normal_words
from digest.models import Paper, Ranked

__all__ = ["Group", "Plan", "merge_groups", "plan_picks"]

MAX_GROUP: Final = 3  # papers under one pick (the reference groups two and three)
RELATED_SIMILARITY: Final = 0.2
MIN_SHARED_TERMS: Final = 2
GROUP_TERMS: Final = 2  # phrases a group heading names


@dataclass(frozen=True)
class Group:
    """Papers under one pick, best first, with what they share."""

    paper_ids: tuple[str, ...]
    terms: tuple[str, ...] = ()  # shared distinctive terms, as shown in the texts
    interest: str | None = None  # the matched interest they share (the profile's phrase)
    title: str = ""  # a heading written by the LLM that proposed the group
    proposed_by_llm: bool = False


@dataclass(frozen=True)
class Plan:
    picks: list[Ranked]  # every pick, groups' members together, best group first
    others: list[Ranked]
    groups: list[Group]  # groups of two or more papers only
    lexicon: Lexicon

    def group_of(self, paper_id: str) -> Group | None:
        return next((g for g in self.groups if paper_id in g.paper_ids), None)


def _bare(paper_id: str) -> str:
    return re.sub(r"v\d+$", "", paper_id.strip().lower().removeprefix("arxiv:"))


def _shared_interest(a: Ranked, b: Ranked) -> str | None:
    common = [m for m in a.matched if m in b.matched]
    return common[0] if common else None


def _related(lex: Lexicon, a: Ranked, b: Ranked) -> bool:
    if _shared_interest(a, b) is None:
        return False
    if lex.similarity(a.paper, b.paper) < RELATED_SIMILARITY:
        return False
    shared = lex.shared(a.paper, b.paper)
    if len(shared) < MIN_SHARED_TERMS:
        return False
    ta, tb = lex.title_keys(a.paper), lex.title_keys(b.paper)
    return any(" " in k or (k in ta and k in tb) for k in shared)


def _describe(lex: Lexicon, members: Sequence[Ranked]) -> Group:
    """The group with what all its papers share: the day's key phrases each of them uses
    (said in a title first, then the most specific), not the words of the interest they
    share (the heading names that interest already)."""
    first = members[0]
    interest = first.matched[0] if first.matched else None
    for m in first.matched:
        if all(m in r.matched for r in members[1:]):
            interest = m
            break
    day = lex.phrases
    ids = [r.paper.paper_id for r in members]
    shared = set.intersection(*(set(day.keys_of(pid)) for pid in ids))
    said = set(normal_words(interest)) if interest else set()

    def order(key: str) -> tuple[int, int, int, str]:
        titled = sum(key in day.in_title.get(pid, ()) for pid in ids)
        return (-titled, day.df(key), -len(key.split()), key)

    terms: list[str] = []
    used: list[set[str]] = []
    for key in sorted(shared, key=order):
        words = set(key.split())
        if words <= said or any(words & u for u in used):
            continue  # the interest's own words; or a word a chosen phrase already says
        terms.append(day.name(key))
        used.append(words)
        if len(terms) >= GROUP_TERMS:
            break
    return Group(paper_ids=tuple(ids), terms=tuple(terms), interest=interest)


def plan_picks(
    picks: Sequence[Ranked],
    others: Sequence[Ranked],
    *,
    top_picks: int,
    corpus: Iterable[Paper] = (),
) -> Plan:
    """The picks as groups: related papers (among picks and others) under one pick, as
    many picks as the reader asked for, the rest worth a glance (in their order)."""
    pool = [*picks, *others]
    papers = {p.paper_id: p for p in corpus}
    for r in pool:
        papers.setdefault(r.paper.paper_id, r.paper)
    lex = lexicon_of(papers.values())
    placed: set[str] = set()
    units: list[list[Ranked]] = []
    for i, anchor in enumerate(pool):
        if len(units) >= top_picks:
            break
        pid = anchor.paper.paper_id
        if pid in placed:
            continue
        members = [anchor]
        placed.add(pid)
        # The most similar related papers join first, each related to every member.
        later = [c for c in pool[i + 1 :] if c.paper.paper_id not in placed]
        later.sort(key=lambda c: -lex.similarity(anchor.paper, c.paper))
        for cand in later:
            if len(members) >= MAX_GROUP:
                break
            if all(_related(lex, m, cand) for m in members):
                members.append(cand)
                placed.add(cand.paper.paper_id)
        # Members keep the ranking's order under the pick.
        rank_of = {r.paper.paper_id: n for n, r in enumerate(pool)}
        members.sort(key=lambda r: rank_of[r.paper.paper_id])
        units.append(members)
    flat = [r for unit in units for r in unit]
    rest = [r for r in pool if r.paper.paper_id not in placed]
    groups = [_describe(lex, unit) for unit in units if len(unit) > 1]
    return Plan(picks=flat, others=rest, groups=groups, lexicon=lex)


def merge_groups(plan: Plan, proposed: Sequence[tuple[Sequence[str], str]]) -> Plan:
    """The plan with groups an LLM proposed among the picks: (pick ids, heading) pairs,
    each of 2-MAX_GROUP picks, disjoint from each other; lexical groups they overlap are
    dissolved. Unknown ids and malformed groups are ignored."""
    by_id = {r.paper.paper_id: r for r in plan.picks}
    bare = {_bare(pid): pid for pid in by_id}
    taken: set[str] = set()
    llm_groups: list[tuple[tuple[str, ...], str]] = []
    for ids, title in proposed:
        known = (bare.get(_bare(i)) for i in ids)
        clean = tuple(dict.fromkeys(i for i in known if i is not None))
        if 2 <= len(clean) <= MAX_GROUP and not taken & set(clean):
            llm_groups.append((clean, " ".join(title.split())))
            taken |= set(clean)
    if not llm_groups:
        return plan
    kept = [g for g in plan.groups if not taken & set(g.paper_ids)]
    order = {r.paper.paper_id: i for i, r in enumerate(plan.picks)}
    described: list[Group] = []
    for ids, title in llm_groups:
        members = sorted((by_id[i] for i in ids), key=lambda r: order[r.paper.paper_id])
        g = _describe(plan.lexicon, members)
        described.append(
            Group(
                g.paper_ids,
                terms=g.terms,
                interest=g.interest,
                title=title,
                proposed_by_llm=True,
            )
        )
    groups = kept + described
    # Re-order the picks: each unit at its best member's place, members together.
    unit_of: dict[str, tuple[str, ...]] = {}
    for g in groups:
        for pid in g.paper_ids:
            unit_of[pid] = g.paper_ids
    seen: set[str] = set()
    picks: list[Ranked] = []
    for r in plan.picks:
        pid = r.paper.paper_id
        if pid in seen:
            continue
        unit = unit_of.get(pid, (pid,))
        for member in sorted(unit, key=lambda x: order[x]):
            picks.append(by_id[member])
            seen.add(member)
    groups.sort(key=lambda g: min(order[p] for p in g.paper_ids))
    return Plan(picks=picks, others=plan.others, groups=groups, lexicon=plan.lexicon)
