"""The daily check of watched papers, run by the scheduler's leader once per UTC day.

    watching chats (Store index) ──► live watches (expired ones dropped)
      ──► digest.watch.lookup_states: one batched arXiv lookup + HF's page of each paper
      ──► digest.watch.changes ──► one message per notice, to the chat that watches
      ──► the watches saved with what was told (a notice that could not be sent is not
          marked told: the next day's check tries again)

Once a day across replicas: the day is claimed in the Store (`cache_add`) before anything
is looked up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from bot.core.observability import hashed
from bot.core.ports import Sender
from bot.core.ratelimit import Limiter
from bot.platforms import PLATFORMS
from digest.chatstate import chat_language
from digest.errors import ConfigError, PaperdropError
from digest.models import Language, Platform, Reply, Subscription, abs_url
from digest.pipeline import http_client
from digest.settings import Settings
from digest.sources.arxiv_api import ArxivSource
from digest.sources.hf import HuggingFaceSource
from digest.store.base import Store
from digest.watch import (
    Notice,
    PaperState,
    Watch,
    changes,
    get_watches,
    lookup_states,
    save_watches,
    watching_chats,
)

__all__ = ["WatchReport", "check_watches", "notice_text"]

log = logging.getLogger(__name__)

CHECK_NS: Final = "watchcheck"
CHECK_TTL: Final = dt.timedelta(days=3)

Lookup = Callable[[list[str]], Awaitable[dict[str, PaperState]]]


@dataclass
class WatchReport:
    checked: int = 0  # papers looked up
    expired: int = 0
    told: int = 0
    failed: list[str] = field(default_factory=list)


def notice_text(notice: Notice, language: Language) -> str:
    """What the chat is told: the paper, what changed, and the link (all from the sources)."""
    w, state = notice.watch, notice.state
    zh = language == "zh"
    name = f"{w.paper_id}({w.title})" if zh and w.title else w.paper_id
    if not zh and w.title:
        name = f"{w.title} ({w.paper_id})"
    if notice.event == "code":
        return (
            f"你关注的 {name} 有代码了:{state.repo}"
            if zh
            else f"{name}, which you watch, now has code: {state.repo}"
        )
    if notice.event == "version":
        url = f"{abs_url(w.paper_id)}v{state.version}"
        return (
            f"你关注的 {name} 在 arXiv 发布了新版本 v{state.version}:{url}"
            if zh
            else f"{name}, which you watch, has a new arXiv version, v{state.version}: {url}"
        )
    return (
        f"你关注的 {name} 在 Hugging Face 上的点赞从 {w.upvotes} 增至 {state.upvotes}。"
        if zh
        else f"{name}, which you watch, went from {w.upvotes} to {state.upvotes} upvotes "
        "on Hugging Face."
    )


async def _destination(
    store: Store, w: Watch, configured: str | None
) -> tuple[Subscription, Language]:
    """Where a notice goes, and in the language the chat is answered in."""
    sub = await store.get_subscription(w.platform, w.chat_id)
    language = await chat_language(store, sub, w.chat_key, configured)
    if sub is None:
        sub = Subscription(platform=w.platform, chat_id=w.chat_id, language=language)
    return sub, language


async def _send(
    settings: Settings, store: Store, notice: Notice, sender: Sender, day: dt.date
) -> None:
    sub, language = await _destination(store, notice.watch, settings.language)
    reply = Reply.text(language, notice_text(notice, language), title="")
    for msg in PLATFORMS[sub.platform].render(reply, sub):
        await sender.send(sub, msg, None, day=day)


async def check_watches(
    settings: Settings,
    store: Store,
    now: dt.datetime,
    *,
    senders: Mapping[Platform, Sender] | None = None,
    limiter: Limiter | None = None,
    lookup: Lookup | None = None,
) -> WatchReport | None:
    """Check every live watch once for `now`'s UTC day; None when already done today."""
    day = now.date()
    if not await store.cache_add(CHECK_NS, day.isoformat(), now.isoformat(), CHECK_TTL):
        return None
    report = WatchReport()
    live: dict[str, list[Watch]] = {}
    for chat in await watching_chats(store):
        watches = await get_watches(store, chat)
        kept = [w for w in watches if w.expires > now]
        report.expired += len(watches) - len(kept)
        if len(kept) != len(watches):
            await save_watches(store, chat, kept)
        if kept:
            live[chat] = kept
    ids = sorted({w.paper_id for ws in live.values() for w in ws})
    if not ids:
        return report
    report.checked = len(ids)
    states = await (lookup or _lookup(settings))(ids)
    owned: dict[Platform, Sender] = {}
    available = dict(senders or {})
    try:
        for chat, watches in live.items():
            updated: list[Watch] = []
            for w in watches:
                new, notices = changes(
                    w, states.get(w.paper_id, PaperState()), upvote_jump=settings.watch_upvote_jump
                )
                for notice in notices:
                    if not await _tell(settings, store, notice, available, owned, limiter, day):
                        report.failed.append(chat)
                        new = w  # unchanged: tomorrow's check finds the same news again
                        break
                    report.told += 1
                updated.append(new)
            await save_watches(store, chat, updated)
    finally:
        for sender in owned.values():
            await sender.aclose()
    return report


async def _tell(
    settings: Settings,
    store: Store,
    notice: Notice,
    available: dict[Platform, Sender],
    owned: dict[Platform, Sender],
    limiter: Limiter | None,
    day: dt.date,
) -> bool:
    platform = notice.watch.platform
    sender = available.get(platform)
    try:
        if sender is None:
            sender = PLATFORMS[platform].make_sender(settings, limiter=limiter, sleep=asyncio.sleep)
            available[platform] = owned[platform] = sender
        await _send(settings, store, notice, sender, day)
    except (ConfigError, PaperdropError) as exc:
        log.warning("watch notice not sent: chat=%s reason=%s", hashed(notice.watch.chat_key), exc)
        return False
    return True


def _lookup(settings: Settings) -> Lookup:
    async def lookup(ids: list[str]) -> dict[str, PaperState]:
        async with http_client(settings) as client:
            return await lookup_states(
                ids, arxiv=ArxivSource(settings), hf=HuggingFaceSource(settings, client)
            )

    return lookup
