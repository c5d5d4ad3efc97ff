"""The shared Store: Redis (redis.asyncio), for production and several processes.

Every key lives under the store's prefix:

    {prefix}cache:{namespace}:{key}        string (SET PX when it has a ttl)
    {prefix}seen:{reader}                  sorted set, score = expiry (epoch s, store clock)
    {prefix}subscriptions                  hash "platform:chat_id" -> Subscription JSON
    {prefix}delivered:{chat_key}:{day}     hash part -> message ref, kept DELIVERY_RETENTION
    {prefix}lock:{name}                    string holding the owner (SET NX PX)

Seen marks expire against the injected clock (scores), so expiry is testable without
sleeping; the key itself gets a TTL at the latest mark so an idle reader vanishes. Cache
ttls and locks expire on the server's clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import logging
from collections.abc import Awaitable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError

from digest.errors import StoreError
from digest.models import Platform, Subscription
from digest.redaction import error_text, redact_url, url_password
from digest.store._common import (
    DELIVERY_RETENTION,
    Clock,
    check_namespace,
    epoch,
    ttl_ms,
    utc_now,
)
from digest.store.base import (
    CacheDelete,
    CacheSet,
    DropLock,
    MarkDelivered,
    MarkSeen,
    ReleaseLock,
    Store,
    Write,
)

__all__ = ["RedisStore", "make_client", "reconnecting"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Fail fast when Redis is down rather than hang a command or the scheduler.
CONNECT_TIMEOUT = 5.0  # seconds
SOCKET_TIMEOUT = 10.0  # seconds
# redis-py's default pool raises "Too many connections" past 100 concurrent commands;
# a blocking pool makes a burst (delivery fan-out) wait for a free connection instead.
MAX_CONNECTIONS = 50
POOL_TIMEOUT = 20.0  # seconds to wait for a free connection before StoreError
# A pooled connection Redis closed (it restarted) fails once, then a new one is made:
# a command is tried this many times more, a few ms apart, before StoreError. Longer
# outages are the caller's to wait out (delivery and the conversation do, with backoff).
COMMAND_RETRIES = 2
HEALTH_CHECK = 30  # seconds an idle pooled connection may sit before a PING checks it
# Keys per command or pipeline of a batch form (MGET, HMGET, DEL, SET NX).
BATCH = 500

# Called after SET NX failed: renew when the owner holds the lock; take it when it expired
# in between; refuse otherwise.
_RENEW_LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisStore(Store):
    """A Store on a Redis client; `from_url()` builds, checks and owns its own client.

    A client passed in is the caller's: `close()` only closes a client the store owns.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        clock: Clock = utc_now,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._clock = clock
        self._owns_client = owns_client
        self._closed = False
        self._where = "Redis"  # for error messages; from_url() adds the redacted URL
        self._renew_lock_script = client.register_script(_RENEW_LOCK)
        self._release_lock_script = client.register_script(_RELEASE_LOCK)

    @classmethod
    async def from_url(cls, url: str, prefix: str, *, clock: Clock = utc_now) -> RedisStore:
        """Connect to `url` and check that Redis answers; StoreError when it does not."""
        shown = redact_url(url)
        try:
            client = make_client(url)
        except ValueError as exc:
            # `from None`: a malformed URL's parse error may quote the password.
            raise StoreError(f"invalid Redis URL {shown}: {_scrub(exc, url)}") from None
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            raise StoreError(f"cannot reach Redis at {shown}: {_scrub(exc, url)}") from None
        store = cls(client, prefix=prefix, clock=clock, owns_client=True)
        store._where = f"Redis at {shown}"
        return store

    @property
    def client(self) -> aioredis.Redis:
        return self._client

    @property
    def prefix(self) -> str:
        return self._prefix

    def __repr__(self) -> str:
        return f"RedisStore({self._where}, prefix={self._prefix!r})"

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns_client:
            await self._client.aclose()

    # --- plumbing ------------------------------------------------------------------------

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    def _now(self) -> float:
        return epoch(self._clock())

    @contextlib.contextmanager
    def _op(self) -> Iterator[aioredis.Redis]:
        if self._closed:
            raise StoreError(f"{self._where}: the store is closed")
        try:
            yield self._client
        except RedisError as exc:
            raise StoreError(f"{self._where}: {_scrub(exc)}") from exc

    # --- cache -----------------------------------------------------------------------------

    async def cache_get(self, namespace: str, key: str) -> str | None:
        check_namespace(namespace)
        with self._op() as r:
            value = await r.get(self._key("cache", namespace, key))
        return None if value is None else _text(value)

    async def cache_set(
        self, namespace: str, key: str, value: str, ttl: dt.timedelta | None = None
    ) -> None:
        check_namespace(namespace)
        name = self._key("cache", namespace, key)
        with self._op() as r:
            if ttl is None:
                await r.set(name, value)
            elif ttl <= dt.timedelta(0):
                await r.delete(name)  # already expired, as SQLite would see it
            else:
                await r.set(name, value, px=ttl_ms(ttl))

    async def cache_add(self, namespace: str, key: str, value: str, ttl: dt.timedelta) -> bool:
        check_namespace(namespace)
        name = self._key("cache", namespace, key)
        with self._op() as r:
            return bool(await r.set(name, value, px=max(1, ttl_ms(ttl)), nx=True))

    async def cache_delete(self, namespace: str, key: str) -> None:
        check_namespace(namespace)
        with self._op() as r:
            await r.delete(self._key("cache", namespace, key))

    # --- seen papers -------------------------------------------------------------------------

    async def seen(self, reader: str) -> set[str]:
        name = self._key("seen", reader)
        now = self._now()
        with self._op() as r:
            async with r.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(name, "-inf", now)
                pipe.zrangebyscore(name, f"({now!r}", "+inf")
                _, members = await pipe.execute()
        return {_text(m) for m in members}

    async def mark_seen(self, reader: str, paper_ids: Iterable[str], ttl: dt.timedelta) -> None:
        await self.write([MarkSeen(reader, tuple(paper_ids), ttl)])

    def _queue_mark_seen(self, pipe: Any, w: MarkSeen) -> None:
        """Add marks (GT: only ever extend), drop expired ones, and let the key live until
        its latest mark expires: a key that has a ttl is only ever extended (GT), one that
        has none (just made) gets this one (NX). The ttl is relative to the store clock's
        "now", not the server's. Commands, not a script: each is safe to repeat."""
        ids = list(dict.fromkeys(w.paper_ids))
        if not ids:
            return
        name = self._key("seen", w.reader)
        now = self._now()
        if w.ttl > dt.timedelta(0):
            pipe.zadd(name, dict.fromkeys(ids, now + w.ttl.total_seconds()), gt=True)
        pipe.zremrangebyscore(name, "-inf", now)
        if w.ttl > dt.timedelta(0):
            ms = ttl_ms(w.ttl)
            pipe.pexpire(name, ms, gt=True)
            pipe.pexpire(name, ms, nx=True)

    # --- subscriptions -------------------------------------------------------------------------

    async def save_subscription(self, sub: Subscription) -> None:
        with self._op() as r:
            await _awaited(r.hset(self._key("subscriptions"), sub.key, sub.model_dump_json()))

    async def get_subscription(self, platform: Platform, chat_id: str) -> Subscription | None:
        with self._op() as r:
            raw = await _awaited(r.hget(self._key("subscriptions"), f"{platform}:{chat_id}"))
        if raw is None:
            return None
        try:
            return Subscription.model_validate_json(raw)
        except ValidationError as exc:
            raise StoreError(f"stored subscription {platform}:{chat_id} is unreadable") from exc

    async def delete_subscription(self, platform: Platform, chat_id: str) -> bool:
        with self._op() as r:
            removed = await _awaited(r.hdel(self._key("subscriptions"), f"{platform}:{chat_id}"))
        return int(removed) > 0

    async def list_subscriptions(self) -> list[Subscription]:
        with self._op() as r:
            raw: dict[Any, Any] = await _awaited(r.hgetall(self._key("subscriptions")))
        subs: list[Subscription] = []
        for field, data in raw.items():
            try:
                subs.append(Subscription.model_validate_json(data))
            except ValidationError:
                # One bad entry must not stop every other chat's delivery.
                log.warning("skipping unreadable subscription %s", _text(field))
        subs.sort(key=lambda s: (s.platform, s.chat_id))
        return subs

    # --- deliveries ------------------------------------------------------------------------------

    def _delivery_key(self, chat_key: str, day: dt.date) -> str:
        return self._key("delivered", chat_key, day.isoformat())

    async def delivered_parts(self, chat_key: str, day: dt.date) -> dict[int, str]:
        with self._op() as r:
            raw: dict[Any, Any] = await _awaited(r.hgetall(self._delivery_key(chat_key, day)))
        return {int(part): _text(ref) for part, ref in raw.items()}

    async def mark_delivered(self, chat_key: str, day: dt.date, part: int, ref: str) -> None:
        await self.write([MarkDelivered(chat_key, day, part, ref)])

    # --- locks -----------------------------------------------------------------------------------

    async def acquire_lock(self, name: str, owner: str, ttl: dt.timedelta) -> bool:
        key = self._key("lock", name)
        ms = ttl_ms(ttl)
        with self._op() as r:
            if await r.set(key, owner, nx=True, px=ms):
                return True
            return bool(await self._renew_lock_script(keys=[key], args=[owner, ms]))

    async def release_lock(self, name: str, owner: str) -> None:
        await self.write([ReleaseLock(name, owner)])

    async def drop_lock(self, name: str) -> None:
        await self.write([DropLock(name)])

    # --- batch forms -----------------------------------------------------------------------------

    async def cache_get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, str]:
        check_namespace(namespace)
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        with self._op() as r:
            for start in range(0, len(wanted), BATCH):
                part = wanted[start : start + BATCH]
                values = await r.mget([self._key("cache", namespace, k) for k in part])
                found |= {k: _text(v) for k, v in zip(part, values, strict=True) if v is not None}
        return found

    async def cache_add_many(
        self, namespace: str, keys: Iterable[str], value: str, ttl: dt.timedelta
    ) -> list[str]:
        check_namespace(namespace)
        wanted = list(dict.fromkeys(keys))
        ms = max(1, ttl_ms(ttl))
        added: list[str] = []
        with self._op() as r:
            for start in range(0, len(wanted), BATCH):
                part = wanted[start : start + BATCH]
                async with r.pipeline(transaction=False) as pipe:
                    for k in part:
                        pipe.set(self._key("cache", namespace, k), value, px=ms, nx=True)
                    done = await pipe.execute()
                added += [k for k, ok in zip(part, done, strict=True) if ok]
        return added

    async def cache_delete_many(self, namespace: str, keys: Iterable[str]) -> None:
        check_namespace(namespace)
        names = [self._key("cache", namespace, k) for k in dict.fromkeys(keys)]
        with self._op() as r:
            for start in range(0, len(names), BATCH):
                await r.delete(*names[start : start + BATCH])

    async def get_subscriptions(self, keys: Iterable[str]) -> dict[str, Subscription]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Subscription] = {}
        with self._op() as r:
            for start in range(0, len(wanted), BATCH):
                part = wanted[start : start + BATCH]
                raw = await _awaited(r.hmget(self._key("subscriptions"), part))
                for key, data in zip(part, raw, strict=True):
                    if data is None:
                        continue
                    try:
                        found[key] = Subscription.model_validate_json(data)
                    except ValidationError as exc:
                        raise StoreError(f"stored subscription {key} is unreadable") from exc
        return found

    async def lease_delivery(
        self, lock: str, owner: str, ttl: dt.timedelta, chat_key: str, day: dt.date
    ) -> dict[int, str] | None:
        key = self._key("lock", lock)
        ms = ttl_ms(ttl)
        parts = self._delivery_key(chat_key, day)
        with self._op() as r:
            async with r.pipeline(transaction=False) as pipe:
                pipe.set(key, owner, nx=True, px=ms)
                pipe.hgetall(parts)
                taken, raw = await pipe.execute()
            if not taken:
                if not await self._renew_lock_script(keys=[key], args=[owner, ms]):
                    return None
                # Read again: the parts above were read before this owner held the lock.
                raw = await _awaited(r.hgetall(parts))
        return {int(part): _text(ref) for part, ref in raw.items()}

    async def write(self, writes: Sequence[Write]) -> None:
        if not writes:
            return
        with self._op() as r:
            # Not MULTI/EXEC: every write is safe to apply again, and a connection lost
            # half-way is retried whole by the caller.
            for attempt in (1, 2):
                async with r.pipeline(transaction=False) as pipe:
                    for w in writes:
                        self._queue(pipe, w)
                    try:
                        await pipe.execute()
                        return
                    except NoScriptError:  # Redis restarted empty: load it, then again
                        if attempt == 2:
                            raise
                        await r.script_load(_RELEASE_LOCK)

    def _queue(self, pipe: Any, w: Write) -> None:
        if isinstance(w, CacheSet):
            check_namespace(w.namespace)
            name = self._key("cache", w.namespace, w.key)
            if w.ttl is None:
                pipe.set(name, w.value)
            elif w.ttl <= dt.timedelta(0):
                pipe.delete(name)  # already expired, as SQLite would see it
            else:
                pipe.set(name, w.value, px=ttl_ms(w.ttl))
        elif isinstance(w, CacheDelete):
            check_namespace(w.namespace)
            pipe.delete(self._key("cache", w.namespace, w.key))
        elif isinstance(w, MarkSeen):
            self._queue_mark_seen(pipe, w)
        elif isinstance(w, MarkDelivered):
            name = self._delivery_key(w.chat_key, w.day)
            # HSETNX: the first record wins, a repeat never rewrites which message it was.
            pipe.hsetnx(name, str(w.part), w.ref)
            pipe.expire(name, DELIVERY_RETENTION)
        elif isinstance(w, DropLock):
            pipe.delete(self._key("lock", w.name))
        else:
            # EVALSHA, not the Script object: that would ask SCRIPT EXISTS every time.
            pipe.evalsha(self._release_lock_script.sha, 1, self._key("lock", w.name), w.owner)


def make_client(url: str) -> aioredis.Redis:
    """The client `from_url()` uses (decoded responses, timeouts, a blocking pool).

    It does not connect yet; ValueError for a URL redis-py cannot parse.
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=SOCKET_TIMEOUT,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_TIMEOUT,
        **reconnecting(),
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes it


def reconnecting() -> dict[str, Any]:
    """Connection options that make a pooled connection Redis closed (a restart) come
    back on the next command instead of failing it."""
    return {
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), COMMAND_RETRIES),
        # Not timeouts: a command that timed out may have run (SET NX twice is a lie).
        "retry_on_error": [RedisConnectionError],
        "health_check_interval": HEALTH_CHECK,
    }


def _text(value: str | bytes) -> str:
    # An injected client may not decode responses.
    return value.decode() if isinstance(value, bytes) else value


def _scrub(exc: BaseException, url: str | None = None) -> str:
    """The exception's text on one line, without the URL's password."""
    return error_text(exc, [url_password(url) if url else None])


async def _awaited(value: Awaitable[T] | T) -> T:
    """redis-py types hash commands as `Awaitable[T] | T` (one signature for its sync and
    async clients); on the asyncio client it is always awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value
