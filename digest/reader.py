"""What a chat has taught paperdrop about its reader, kept in the Store.

* its own seed papers and followed authors (`/interests add paper|author`, `/follow`),
  on top of those of its profile file;
* the papers it asked `/paper` about (a weak positive);
* when it last reset its learning (votes and asks before that are forgotten);
* the texts of the reader's papers, kept longer than the day's paper cache, so a vote
  keeps its meaning long after the day it was cast.

`reader_profile` puts it all on a Profile: the chat's seeds and authors, and its
`Evidence` (seeds, 👍/👎 from `digest.chatstate`, asks, and a sample of the papers the
chat was shown and ignored). The chat key is the conversation's (a group's votes are the
group's), whatever the language or the day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, Field, ValidationError

from digest.chatstate import (
    LAST_NS,
    VOTE_NS,
    LastBrief,
    Vote,
    get_paper,
    parse_last_briefs,
    parse_votes,
    put_papers,
)
from digest.evidence import Evidence
from digest.models import Paper
from digest.profile import Profile
from digest.store.base import Store

__all__ = [
    "ReaderData",
    "ReaderState",
    "evidence_of",
    "forget_learning",
    "get_reader",
    "put_reader_papers",
    "reader_data",
    "reader_papers",
    "reader_profile",
    "record_ask",
    "save_reader",
    "with_reader",
]

READER_NS: Final = "reader"
READER_PAPER_NS: Final = "readerpaper"
# A reader's papers outlive the day's paper cache (60 days): votes keep their meaning.
READER_PAPER_TTL: Final = dt.timedelta(days=730)
MAX_ASKED: Final = 200  # newest kept
# Shown-and-ignored papers sampled as weak negatives: twice the positives, within bounds.
IGNORED_MIN: Final = 10
IGNORED_MAX: Final = 40

Fetch = Callable[[list[str]], Awaitable[dict[str, Paper]]]


class ReaderState(BaseModel):
    papers: list[str] = Field(default_factory=list)  # seed ids the chat added
    authors: list[str] = Field(default_factory=list)  # authors the chat follows
    asked: list[str] = Field(default_factory=list)  # /paper asks, oldest first
    reset_at: dt.datetime | None = None  # learning before this is forgotten


async def get_reader(store: Store, chat_key: str) -> ReaderState:
    return _parse_reader(await store.cache_get(READER_NS, chat_key))


def _parse_reader(raw: str | None) -> ReaderState:
    if raw is None:
        return ReaderState()
    try:
        return ReaderState.model_validate_json(raw)
    except ValidationError:
        return ReaderState()


@dataclass(frozen=True)
class ReaderData:
    """What the Store holds about one chat's reader: its state, votes and last briefs."""

    state: ReaderState
    votes: list[Vote]
    briefs: list[LastBrief]


async def reader_data(store: Store, chat_keys: Iterable[str]) -> dict[str, ReaderData]:
    """Each chat's ReaderData, read for all of them at once (three MGETs on Redis)."""
    keys = list(dict.fromkeys(chat_keys))
    states = await store.cache_get_many(READER_NS, keys)
    votes = await store.cache_get_many(VOTE_NS, keys)
    briefs = await store.cache_get_many(LAST_NS, keys)
    return {
        k: ReaderData(
            _parse_reader(states.get(k)),
            parse_votes(votes.get(k)),
            parse_last_briefs(briefs.get(k)),
        )
        for k in keys
    }


async def save_reader(store: Store, chat_key: str, state: ReaderState) -> None:
    await store.cache_set(READER_NS, chat_key, state.model_dump_json())


async def record_ask(store: Store, chat_key: str, paper: Paper) -> None:
    """The chat asked about `paper`: a weak positive (asking twice counts once)."""
    state = await get_reader(store, chat_key)
    asked = [p for p in state.asked if p != paper.paper_id] + [paper.paper_id]
    await save_reader(store, chat_key, state.model_copy(update={"asked": asked[-MAX_ASKED:]}))
    await put_reader_papers(store, [paper])


async def forget_learning(store: Store, chat_key: str, now: dt.datetime) -> None:
    """Forget the chat's votes and asks, and ignore the briefs it received until now; its
    seed papers and followed authors stay (it told them, nothing was learned)."""
    await store.cache_delete(VOTE_NS, chat_key)
    state = await get_reader(store, chat_key)
    await save_reader(store, chat_key, state.model_copy(update={"asked": [], "reset_at": now}))


def _sample(chat_key: str, ids: Iterable[str], n: int) -> list[str]:
    """A deterministic sample: the same chat and papers give the same negatives."""

    def order(pid: str) -> str:
        return hashlib.sha256(f"{chat_key}\x1f{pid}".encode()).hexdigest()

    return sorted(ids, key=order)[:n]


async def evidence_of(store: Store, chat_key: str, seeds: Sequence[str]) -> Evidence:
    """The chat's evidence: `seeds` (the profile's and the chat's), its votes and asks,
    and a sample of what it was shown (since its last reset) and left alone."""
    return _evidence(chat_key, seeds, (await reader_data(store, [chat_key]))[chat_key])


def _evidence(chat_key: str, seeds: Sequence[str], data: ReaderData) -> Evidence:
    state, votes = data.state, data.votes
    if state.reset_at is not None:
        votes = [v for v in votes if v.at > state.reset_at]
    liked = [v.paper_id for v in votes if v.value > 0]
    disliked = [v.paper_id for v in votes if v.value < 0]
    told = set(liked) | set(disliked) | set(state.asked) | set(seeds)
    shown: dict[str, None] = {}
    for brief in data.briefs:
        if state.reset_at is not None and brief.date <= state.reset_at.date():
            continue
        for item in brief.items:
            if item.paper_id not in told:
                shown.setdefault(item.paper_id, None)
    positives = len(set(seeds) | set(liked) | set(state.asked))
    n = min(IGNORED_MAX, max(IGNORED_MIN, 2 * positives))
    return Evidence(
        seeds=tuple(dict.fromkeys(seeds)),
        liked=tuple(liked),
        asked=tuple(state.asked),
        disliked=tuple(disliked),
        ignored=tuple(sorted(_sample(chat_key, shown, n))),
    )


async def reader_profile(store: Store, chat_key: str, profile: Profile) -> Profile:
    """`profile` with the chat's own seeds and followed authors, and its evidence."""
    return with_reader(profile, chat_key, (await reader_data(store, [chat_key]))[chat_key])


def with_reader(profile: Profile, chat_key: str, data: ReaderData) -> Profile:
    """`reader_profile` from the chat's ReaderData (read for many chats at once)."""
    papers = list(dict.fromkeys([*profile.papers, *data.state.papers]))
    authors = list(dict.fromkeys([*profile.authors, *data.state.authors]))
    evidence = _evidence(chat_key, papers, data)
    return profile.model_copy(update={"papers": papers, "authors": authors, "evidence": evidence})


async def put_reader_papers(store: Store, papers: Iterable[Paper]) -> None:
    items = {paper.paper_id: paper.model_dump_json() for paper in papers}
    if items:
        await store.cache_set_many(READER_PAPER_NS, items, READER_PAPER_TTL)


async def reader_papers(
    store: Store,
    ids: Iterable[str],
    *,
    known: Iterable[Paper] = (),
    fetch: Fetch | None = None,
) -> dict[str, Paper]:
    """The texts of the reader's papers: kept ones, then the day's (`known`), then the
    day's paper cache; the rest are fetched once (`fetch`, arXiv) and kept."""
    wanted = list(dict.fromkeys(ids))
    day = {p.paper_id: p for p in known}
    found: dict[str, Paper] = {}
    missing: list[str] = []
    unkept: list[Paper] = []
    for pid in wanted:
        raw = await store.cache_get(READER_PAPER_NS, pid)
        paper: Paper | None = None
        if raw is not None:
            try:
                paper = Paper.model_validate_json(raw)
            except ValidationError:
                paper = None
        elif (paper := day.get(pid) or await get_paper(store, pid)) is not None:
            unkept.append(paper)
        if paper is None:
            missing.append(pid)
        else:
            found[pid] = paper
    await put_reader_papers(store, unkept)
    if missing and fetch is not None:
        fetched = await fetch(missing)
        found.update(fetched)
        await put_reader_papers(store, fetched.values())
        await put_papers(store, fetched.values())
    return found
