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
from typing import Final

from pydantic import BaseModel, Field, ValidationError

from digest.chatstate import VOTE_NS, get_paper, get_votes, last_briefs, put_papers
from digest.evidence import Evidence
from digest.models import Paper
from digest.profile import Profile
from digest.store.base import Store

__all__ = [
    "ReaderState",
    "evidence_of",
    "forget_learning",
    "get_reader",
    "put_reader_papers",
    "reader_papers",
    "reader_profile",
    "record_ask",
    "save_reader",
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
    raw = await store.cache_get(READER_NS, chat_key)
    if raw is None:
        return ReaderState()
    try:
        return ReaderState.model_validate_json(raw)
    except ValidationError:
        return ReaderState()


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
    state = await get_reader(store, chat_key)
    votes = await get_votes(store, chat_key)
    if state.reset_at is not None:
        votes = [v for v in votes if v.at > state.reset_at]
    liked = [v.paper_id for v in votes if v.value > 0]
    disliked = [v.paper_id for v in votes if v.value < 0]
    told = set(liked) | set(disliked) | set(state.asked) | set(seeds)
    shown: dict[str, None] = {}
    for brief in await last_briefs(store, chat_key):
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
    state = await get_reader(store, chat_key)
    papers = list(dict.fromkeys([*profile.papers, *state.papers]))
    authors = list(dict.fromkeys([*profile.authors, *state.authors]))
    evidence = await evidence_of(store, chat_key, papers)
    return profile.model_copy(update={"papers": papers, "authors": authors, "evidence": evidence})


async def put_reader_papers(store: Store, papers: Iterable[Paper]) -> None:
    for paper in papers:
        await store.cache_set(
            READER_PAPER_NS, paper.paper_id, paper.model_dump_json(), READER_PAPER_TTL
        )


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
