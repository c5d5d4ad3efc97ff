"""What happens to an event before it is answered: claimed once across processes, and
admitted by its chat's flood gate.

Claims. A platform may deliver an event twice (Slack and Feishu retry an event whose ack
was late; Telegram delivers an update again until the offset confirms it). An event is
answered once:

    claim(event)  ── done marker already there ─────────────► a duplicate: ignored
        │          ── another process holds its lease ───────► a duplicate (or, for an
        │                                                      event the platform will
        │                                                      deliver again: Deferred)
        ▼
    lease (EVENT_LEASE, renewed while answering) ─► answered ─► done marker (a day)
                                                 └► failed before any answer ─► released

So a process killed while answering leaves a lease that runs out (and no done marker):
the redelivered event is answered after the restart, once. A done marker is written
only once the answer went out.

Command windows. Commands that cost LLM calls are limited per user and per chat
(`CommandLimiter`, sliding windows; a fleet shares them in Redis).

Flood gate. One chat may not hold more than `MAX_PENDING` answers in progress (and so in
its send queue), nor start more than `BURST` at once then one every `REFILL` seconds.
Beyond that its events are dropped, and the chat is told once per quiet spell; other
chats never wait behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from bot.core.leases import keep_lock
from digest.errors import PaperdropError
from digest.models import Language
from digest.store.base import Store
from handlers.context import tr

__all__ = [
    "BURST",
    "EVENT_LEASE",
    "EVENT_NS",
    "EVENT_TTL",
    "MAX_PENDING",
    "REFILL",
    "Claim",
    "CommandLimiter",
    "Deferred",
    "FloodGate",
    "busy_line",
    "claim_event",
    "flood_line",
    "one_moment",
    "process_owner",
]

log = logging.getLogger(__name__)

EVENT_NS: Final = "event"
# Platforms retry unacknowledged events for hours (Feishu: up to 6 h): remember ids a day.
EVENT_TTL: Final = dt.timedelta(days=1)
# An answer in progress holds its event this long, renewed every third of it: a process
# killed mid-answer frees it for the redelivery within this time.
EVENT_LEASE: Final = dt.timedelta(seconds=10)
DONE: Final = "done"

# One chat's flood gate: answers in progress, and a token bucket of events.
MAX_PENDING: Final = 5
BURST: Final = 10
REFILL: Final = 3.0  # seconds per event once the burst is spent: 20 a minute
_GATES_MAX = 10_000  # chats remembered; idle ones are forgotten past this


class Deferred(Exception):
    """The event was not handled and should be delivered again later: the Store is
    unreachable, or another process is answering it right now."""


def process_owner() -> str:
    """This process's name on leases: host, pid and a random part (a restart differs)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Claim:
    """An event held by this process while it is answered (see the module docstring)."""

    store: Store
    key: str | None  # None: an event without an id (nothing to deduplicate)
    owner: str
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _renew: asyncio.Task[bool] | None = None
    _claimed: set[str] | None = None

    @property
    def lock(self) -> str:
        return f"event:{self.key}"

    async def done(self) -> None:
        """Answered: the done marker, then the lease is let go (best effort: the answer
        went out; a Store that fails here only risks a repeat of a redelivered event)."""
        if self.key is None:
            return
        try:
            await self.store.cache_set(EVENT_NS, self.key, DONE, EVENT_TTL)
        except PaperdropError as exc:
            log.warning("event answered but not marked done: %s", exc)
        await self.release()

    async def release(self) -> None:
        """Not answered: let the lease go so a redelivery is answered."""
        if self.key is None:
            return
        self._stop.set()
        if self._renew is not None:
            await asyncio.gather(self._renew, return_exceptions=True)
            self._renew = None
        if self._claimed is not None:
            self._claimed.discard(self.key)
        with contextlib.suppress(PaperdropError):
            await self.store.release_lock(self.lock, self.owner)


async def claim_event(
    store: Store,
    key: str | None,
    owner: str,
    *,
    claimed: set[str],
    lease: dt.timedelta = EVENT_LEASE,
) -> Claim | None:
    """This process's claim on event `key`, renewed until released; None when it is a
    duplicate (answered already, or being answered here or by another process).

    Raises StoreError when the Store cannot be asked (the caller defers the event).
    """
    if key is None:
        return Claim(store, None, owner)
    if key in claimed:
        return None  # this process is answering it (its lease would say yes to us too)
    claimed.add(key)  # before any await: a twin delivery in this process sees it at once
    try:
        if await store.cache_get(EVENT_NS, key) is not None:
            claimed.discard(key)
            return None
        if not await store.acquire_lock(f"event:{key}", owner, lease):
            claimed.discard(key)
            return None  # another process is answering it now
    except BaseException:
        claimed.discard(key)
        raise
    claim = Claim(store, key, owner, _claimed=claimed)
    try:
        answered = await _answered(store, key)  # answered between our two looks?
    except BaseException:
        await claim.release()
        raise
    if answered:
        await claim.release()
        return None
    claim._renew = asyncio.ensure_future(
        keep_lock(store, claim.lock, owner, lease, claim._stop, asyncio.sleep)
    )
    return claim


async def _answered(store: Store, key: str) -> bool:
    return await store.cache_get(EVENT_NS, key) is not None


@dataclass
class _Bucket:
    tokens: float
    at: float
    pending: int = 0
    told: bool = False  # the chat was told it is flooding, since it last got through


class FloodGate:
    """Per-chat admission of events (see the module docstring); one per process."""

    def __init__(
        self,
        *,
        burst: int = BURST,
        refill: float = REFILL,
        max_pending: int = MAX_PENDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._burst = burst
        self._refill = refill
        self._max_pending = max_pending
        self._clock = clock
        self._chats: dict[str, _Bucket] = {}

    def admit(self, chat_key: str) -> bool:
        """Whether an event of this chat may be answered now (it then counts as pending
        until `finished`)."""
        now = self._clock()
        bucket = self._chats.get(chat_key)
        if bucket is None:
            if len(self._chats) >= _GATES_MAX:
                self._forget(now)
            bucket = self._chats[chat_key] = _Bucket(tokens=float(self._burst), at=now)
        bucket.tokens = min(float(self._burst), bucket.tokens + (now - bucket.at) / self._refill)
        bucket.at = now
        if bucket.pending >= self._max_pending or bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        bucket.pending += 1
        bucket.told = False
        return True

    def finished(self, chat_key: str) -> None:
        bucket = self._chats.get(chat_key)
        if bucket is not None and bucket.pending > 0:
            bucket.pending -= 1

    def tell(self, chat_key: str) -> bool:
        """Whether to tell this chat it is flooding: once, until one of its events gets
        through again."""
        bucket = self._chats.get(chat_key)
        if bucket is None or bucket.told:
            return False
        bucket.told = True
        return True

    def pending(self, chat_key: str) -> int:
        bucket = self._chats.get(chat_key)
        return 0 if bucket is None else bucket.pending

    def _forget(self, now: float) -> None:
        full = float(self._burst)
        for key in [
            k
            for k, b in self._chats.items()
            if b.pending == 0 and b.tokens + (now - b.at) / self._refill >= full
        ]:
            del self._chats[key]


class CommandLimiter:
    """Sliding windows per user and per chat for commands that cost LLM calls."""

    def __init__(
        self, per_user: int, per_chat: int, window: float, clock: Callable[[], float]
    ) -> None:
        self._limits = {"user": per_user, "chat": per_chat}
        self._window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, user_key: str, chat_key: str) -> bool:
        now = self._clock()
        keys = {f"user:{user_key}": self._limits["user"], f"chat:{chat_key}": self._limits["chat"]}
        for key in keys:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self._window:
                hits.popleft()
        if any(len(self._hits[k]) >= limit for k, limit in keys.items()):
            return False
        for key in keys:
            self._hits[key].append(now)
        if len(self._hits) > 10_000:  # forget idle keys: memory stays bounded
            self._hits = {k: v for k, v in self._hits.items() if v}
        return True

    async def check(self, user_key: str, chat_key: str) -> bool:
        """`allow`, as the fleet's RedisCommandLimiter is called."""
        return self.allow(user_key, chat_key)


# --- what a chat is told (without the Store: it may be what is down) ------------------


def one_moment(language: Language) -> str:
    return tr(
        language,
        "One moment: my storage is briefly unavailable. I'll answer as soon as it's back.",
        "稍等:存储暂时不可用,恢复后我会马上回答。",
    )


def busy_line(language: Language) -> str:
    return tr(
        language,
        "Busy just now: please try again in a minute.",
        "现在有点忙,请一分钟后再试。",
    )


def flood_line(language: Language) -> str:
    return tr(
        language,
        "Too many messages at once: I'm skipping some. Please send one at a time.",
        "消息太多了:我会跳过一部分,请一条一条地发。",
    )
