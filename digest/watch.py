"""Watched papers: a chat is told once when a paper it watches gets its first code
repository, a new arXiv version, or a big jump in Hugging Face upvotes.

    /watch 2605.06614 ──► Watch (baseline: version, repo, upvotes; expires in 90 days)
    daily check ──► one batched arXiv lookup (+ HF's page of each paper) ──► PaperState
        ──► changes(watch, state) ──► Notice (each kind told once; a new version each)

The Store keeps each chat's watches under its chat key and an index of the chats that
watch anything, so the daily check reads only those. Nothing here sends: the scheduler
(`bot.delivery.watching`) renders and delivers the notices.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from pydantic import BaseModel, Field, ValidationError

from digest.errors import SourceError
from digest.models import Paper, Platform
from digest.sources.arxiv_api import ArxivSource
from digest.sources.hf import HuggingFaceSource
from digest.store.base import Store

__all__ = [
    "MAX_WATCHES",
    "Notice",
    "PaperState",
    "Watch",
    "add_watch",
    "changes",
    "get_watches",
    "lookup_states",
    "remove_watch",
    "save_watches",
    "watching_chats",
]

log = logging.getLogger(__name__)

WATCH_NS: Final = "watch"
INDEX_NS: Final = "watchindex"
INDEX_KEY: Final = "chats"
MAX_WATCHES: Final = 50  # per chat

Event = Literal["code", "version", "upvotes"]


class Watch(BaseModel):
    paper_id: str
    title: str = ""
    platform: Platform
    chat_id: str
    since: dt.datetime
    expires: dt.datetime
    # The baseline, as known when watched (None: not known yet, filled in silently).
    version: int | None = None
    repo: str | None = None
    upvotes: int | None = None
    told: list[str] = Field(default_factory=list)  # "code", "upvotes", "version:3"

    @property
    def chat_key(self) -> str:
        return f"{self.platform}:{self.chat_id}"


@dataclass(frozen=True)
class PaperState:
    """What the sources say of a watched paper today."""

    version: int | None = None
    repo: str | None = None
    upvotes: int | None = None


@dataclass(frozen=True)
class Notice:
    watch: Watch
    event: Event
    state: PaperState


def changes(watch: Watch, state: PaperState, *, upvote_jump: int) -> tuple[Watch, list[Notice]]:
    """The watch updated with `state`, and what to tell the chat (each event once; every
    new version once). An unknown baseline is filled in without a notice."""
    told = list(watch.told)
    notices: list[Notice] = []
    update: dict[str, object] = {}
    if state.repo and not watch.repo:
        if "code" not in told:
            notices.append(Notice(watch, "code", state))
            told.append("code")
        update["repo"] = state.repo
    if state.version is not None:
        if watch.version is None:
            update["version"] = state.version
        elif state.version > watch.version:
            key = f"version:{state.version}"
            if key not in told:
                notices.append(Notice(watch, "version", state))
                told.append(key)
            update["version"] = state.version
    if state.upvotes is not None:
        if watch.upvotes is None:
            update["upvotes"] = state.upvotes
        elif state.upvotes - watch.upvotes >= upvote_jump and "upvotes" not in told:
            notices.append(Notice(watch, "upvotes", state))
            told.append("upvotes")
    update["told"] = told
    return watch.model_copy(update=update), notices


# --- the Store -------------------------------------------------------------------------


async def get_watches(store: Store, chat_key: str) -> list[Watch]:
    raw = await store.cache_get(WATCH_NS, chat_key)
    if raw is None:
        return []
    try:
        data = json.loads(raw)
        return [Watch.model_validate(w) for w in data] if isinstance(data, list) else []
    except (ValueError, ValidationError):
        return []


async def save_watches(store: Store, chat_key: str, watches: Sequence[Watch]) -> None:
    chats = await watching_chats(store)
    if watches:
        payload = json.dumps([w.model_dump(mode="json") for w in watches], ensure_ascii=False)
        await store.cache_set(WATCH_NS, chat_key, payload)
        if chat_key not in chats:
            await _save_index(store, [*chats, chat_key])
    else:
        await store.cache_delete(WATCH_NS, chat_key)
        if chat_key in chats:
            await _save_index(store, [c for c in chats if c != chat_key])


async def watching_chats(store: Store) -> list[str]:
    raw = await store.cache_get(INDEX_NS, INDEX_KEY)
    if raw is None:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    return [c for c in data if isinstance(c, str)] if isinstance(data, list) else []


async def _save_index(store: Store, chats: Sequence[str]) -> None:
    await store.cache_set(INDEX_NS, INDEX_KEY, json.dumps(sorted(set(chats))))


async def add_watch(store: Store, watch: Watch) -> Literal["new", "renewed", "full"]:
    """Watch a paper (watching it again renews its 90 days and keeps what was told)."""
    watches = await get_watches(store, watch.chat_key)
    old = next((w for w in watches if w.paper_id == watch.paper_id), None)
    if old is not None:
        renewed = old.model_copy(update={"expires": watch.expires})
        kept = [renewed if w.paper_id == watch.paper_id else w for w in watches]
        await save_watches(store, watch.chat_key, kept)
        return "renewed"
    if len(watches) >= MAX_WATCHES:
        return "full"
    await save_watches(store, watch.chat_key, [*watches, watch])
    return "new"


async def remove_watch(store: Store, chat_key: str, paper_id: str) -> bool:
    watches = await get_watches(store, chat_key)
    kept = [w for w in watches if w.paper_id != paper_id]
    if len(kept) == len(watches):
        return False
    await save_watches(store, chat_key, kept)
    return True


# --- the daily lookup ---------------------------------------------------------------------

HF_CONCURRENCY: Final = 4  # HF has no batch endpoint for papers: a few pages at a time


async def lookup_states(
    ids: Sequence[str], *, arxiv: ArxivSource, hf: HuggingFaceSource
) -> dict[str, PaperState]:
    """Today's state of the watched papers: one batched arXiv lookup (versions, a repo
    the abstract or comment names) and Hugging Face's page of each (upvotes, githubRepo).
    A source that fails leaves its fields unknown (None): nothing is told from a gap."""
    wanted = list(dict.fromkeys(ids))
    try:
        on_arxiv = await arxiv.lookup(wanted)
    except SourceError as exc:
        log.warning("watch: arXiv lookup failed: %s", exc)
        on_arxiv = {}
    gate = asyncio.Semaphore(HF_CONCURRENCY)

    async def hf_page(pid: str) -> Paper | None:
        async with gate:
            try:
                return await hf.paper(pid)
            except SourceError as exc:
                log.info("watch: HF page of %s unavailable: %s", pid, exc)
                return None

    pages = await asyncio.gather(*(hf_page(pid) for pid in wanted))
    out: dict[str, PaperState] = {}
    for pid, page in zip(wanted, pages, strict=True):
        paper = on_arxiv.get(pid)
        repo = (page.github_repo if page else None) or (paper.repo_in_text if paper else None)
        out[pid] = PaperState(
            version=paper.version if paper else None,
            repo=repo,
            upvotes=page.upvotes if page else None,
        )
    return out
