"""The Store: everything paperdrop must remember, behind one async interface.

Two implementations pass the same contract tests: Redis (production, several processes)
and SQLite (the embedded default). Keys are bare arXiv ids. Typed operations that are
plain key/value (summaries, thread context, caches) are written once here on top of the
`cache_*` primitives; the rest are abstract.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from digest.models import Language, PaperSummary, Platform, Subscription

__all__ = [
    "CacheDelete",
    "CacheSet",
    "DropLock",
    "MarkDelivered",
    "MarkSeen",
    "ReleaseLock",
    "Store",
    "Write",
    "thread_write",
]

SUMMARY_NS = "summary"
THREAD_NS = "thread"


# --- writes that `Store.write` applies together (one round trip on Redis) ---------------


@dataclass(frozen=True)
class CacheSet:
    """`cache_set(namespace, key, value, ttl)`."""

    namespace: str
    key: str
    value: str
    ttl: dt.timedelta | None = None


@dataclass(frozen=True)
class CacheDelete:
    """`cache_delete(namespace, key)`."""

    namespace: str
    key: str


@dataclass(frozen=True)
class MarkSeen:
    """`mark_seen(reader, paper_ids, ttl)`."""

    reader: str
    paper_ids: tuple[str, ...]
    ttl: dt.timedelta


@dataclass(frozen=True)
class MarkDelivered:
    """`mark_delivered(chat_key, day, part, ref)`."""

    chat_key: str
    day: dt.date
    part: int
    ref: str


@dataclass(frozen=True)
class ReleaseLock:
    """`release_lock(name, owner)`."""

    name: str
    owner: str


@dataclass(frozen=True)
class DropLock:
    """`drop_lock(name)`: whoever holds it. Only for a lease whose work is done for good
    (a chat's brief complete): a holder it takes away finds nothing left to do."""

    name: str


Write = CacheSet | CacheDelete | MarkSeen | MarkDelivered | ReleaseLock | DropLock


def thread_write(
    key: str, context: dict[str, Any], ttl: dt.timedelta = dt.timedelta(days=14)
) -> CacheSet:
    """`save_thread(key, context, ttl)` as a write."""
    return CacheSet(THREAD_NS, key, json.dumps(context, ensure_ascii=False), ttl)


class Store(abc.ABC):
    # --- primitives every implementation provides -------------------------------------

    @abc.abstractmethod
    async def cache_get(self, namespace: str, key: str) -> str | None:
        """The value stored under (namespace, key), or None when absent or expired."""

    @abc.abstractmethod
    async def cache_set(
        self, namespace: str, key: str, value: str, ttl: dt.timedelta | None = None
    ) -> None:
        """Store a value; with a ttl it expires after that long."""

    @abc.abstractmethod
    async def cache_add(self, namespace: str, key: str, value: str, ttl: dt.timedelta) -> bool:
        """Store a value only if none is there (or it expired), atomically across
        processes; True when this call stored it. Deduplicates events and clicks."""

    @abc.abstractmethod
    async def cache_delete(self, namespace: str, key: str) -> None: ...

    # Seen papers, per reader, each mark expiring after its ttl.
    @abc.abstractmethod
    async def seen(self, reader: str) -> set[str]:
        """Bare ids of the papers already shown to this reader (unexpired marks)."""

    @abc.abstractmethod
    async def mark_seen(self, reader: str, paper_ids: Iterable[str], ttl: dt.timedelta) -> None:
        """Mark papers as shown to this reader; a later mark of the same paper extends it."""

    # Subscriptions, keyed by (platform, chat id).
    @abc.abstractmethod
    async def save_subscription(self, sub: Subscription) -> None:
        """Insert or replace the subscription of (sub.platform, sub.chat_id)."""

    @abc.abstractmethod
    async def get_subscription(self, platform: Platform, chat_id: str) -> Subscription | None: ...

    @abc.abstractmethod
    async def delete_subscription(self, platform: Platform, chat_id: str) -> bool:
        """Remove it; False when there was none."""

    @abc.abstractmethod
    async def list_subscriptions(self) -> list[Subscription]:
        """Every subscription, active or not, ordered by (platform, chat id)."""

    # Delivery records: a part of a day's brief delivered to a chat.
    @abc.abstractmethod
    async def delivered_parts(self, chat_key: str, day: dt.date) -> dict[int, str]:
        """Part index -> platform message reference, for what already reached the chat."""

    @abc.abstractmethod
    async def mark_delivered(self, chat_key: str, day: dt.date, part: int, ref: str) -> None:
        """Record that `part` reached the chat (idempotent)."""

    # A lease-style lock, so that one scheduler runs among several replicas.
    @abc.abstractmethod
    async def acquire_lock(self, name: str, owner: str, ttl: dt.timedelta) -> bool:
        """Take the lock, or renew it when `owner` holds it; False when another holds it."""

    @abc.abstractmethod
    async def release_lock(self, name: str, owner: str) -> None:
        """Release the lock if `owner` holds it."""

    @abc.abstractmethod
    async def drop_lock(self, name: str) -> None:
        """Remove the lock whoever holds it (see DropLock)."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    # --- batch forms: the same semantics as the single ones, in one round trip where the
    # implementation can (Redis: MGET, one pipeline); these defaults call the single forms.

    async def cache_get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, str]:
        """The values of those of `keys` that are present (and unexpired)."""
        found: dict[str, str] = {}
        for key in dict.fromkeys(keys):
            value = await self.cache_get(namespace, key)
            if value is not None:
                found[key] = value
        return found

    async def cache_set_many(
        self, namespace: str, items: Mapping[str, str], ttl: dt.timedelta | None = None
    ) -> None:
        await self.write([CacheSet(namespace, k, v, ttl) for k, v in items.items()])

    async def cache_add_many(
        self, namespace: str, keys: Iterable[str], value: str, ttl: dt.timedelta
    ) -> list[str]:
        """`cache_add` for each key; the keys this call stored, in order."""
        return [k for k in dict.fromkeys(keys) if await self.cache_add(namespace, k, value, ttl)]

    async def cache_delete_many(self, namespace: str, keys: Iterable[str]) -> None:
        await self.write([CacheDelete(namespace, k) for k in dict.fromkeys(keys)])

    async def get_subscriptions(self, keys: Iterable[str]) -> dict[str, Subscription]:
        """The subscriptions of these keys ("platform:chat_id") that exist, by key."""
        found: dict[str, Subscription] = {}
        for key in dict.fromkeys(keys):
            platform, _, chat_id = key.partition(":")
            sub = await self.get_subscription(platform, chat_id)
            if sub is not None:
                found[key] = sub
        return found

    async def lease_delivery(
        self, lock: str, owner: str, ttl: dt.timedelta, chat_key: str, day: dt.date
    ) -> dict[int, str] | None:
        """`acquire_lock(lock, owner, ttl)`, then, when it is held, `delivered_parts`;
        None when another owner holds the lock."""
        if not await self.acquire_lock(lock, owner, ttl):
            return None
        return await self.delivered_parts(chat_key, day)

    async def write(self, writes: Sequence[Write]) -> None:
        """Apply the writes in order. Not a transaction: a failure may leave a prefix of
        them applied, so each must be safe to apply again (all of these are)."""
        for w in writes:
            if isinstance(w, CacheSet):
                await self.cache_set(w.namespace, w.key, w.value, w.ttl)
            elif isinstance(w, CacheDelete):
                await self.cache_delete(w.namespace, w.key)
            elif isinstance(w, MarkSeen):
                await self.mark_seen(w.reader, w.paper_ids, w.ttl)
            elif isinstance(w, MarkDelivered):
                await self.mark_delivered(w.chat_key, w.day, w.part, w.ref)
            elif isinstance(w, ReleaseLock):
                await self.release_lock(w.name, w.owner)
            else:
                await self.drop_lock(w.name)

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- typed operations built on the primitives --------------------------------------

    @staticmethod
    def summary_key(paper_id: str, language: Language, prompt_version: str) -> str:
        return f"{paper_id}|{language}|{prompt_version}"

    async def get_summary(
        self, paper_id: str, language: Language, prompt_version: str
    ) -> PaperSummary | None:
        raw = await self.cache_get(SUMMARY_NS, self.summary_key(paper_id, language, prompt_version))
        if raw is None:
            return None
        try:
            return PaperSummary.model_validate_json(raw)
        except ValueError:
            return None  # a corrupt or outdated entry is a cache miss

    async def put_summary(
        self,
        paper_id: str,
        language: Language,
        prompt_version: str,
        summary: PaperSummary,
        ttl: dt.timedelta | None = dt.timedelta(days=180),
    ) -> None:
        await self.cache_set(
            SUMMARY_NS,
            self.summary_key(paper_id, language, prompt_version),
            summary.model_dump_json(),
            ttl,
        )

    async def get_thread(self, key: str) -> dict[str, Any] | None:
        """Context of a conversation thread (what a brief or a reply in it was about)."""
        raw = await self.cache_get(THREAD_NS, key)
        if raw is None:
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    async def save_thread(
        self, key: str, context: dict[str, Any], ttl: dt.timedelta = dt.timedelta(days=14)
    ) -> None:
        await self.write([thread_write(key, context, ttl)])
