"""One request at a time to the arXiv web hosts, at least `interval` seconds apart,
shared by every process of a fleet.

    async with spacer.turn():     # waits for a free slot, then holds it
        await client.get(url)     # the one request in flight

A turn is granted when nobody holds one (or the holder's lease ran out: a process that
died mid-request does not block the others for longer than `hold`) and at least
`interval` seconds passed since the previous turn started. Waiters poll: a turn that
ends early frees the next one within a short poll.

`RedisSpacer` keeps that state in one Redis hash, taken and released by Lua scripts
(atomic across processes; Redis's clock unless one is injected). `LocalSpacer` keeps it
in this process, shared by every caller with the same key. `make_spacer` picks Redis
when `PAPERDROP_REDIS_URL` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from digest.settings import Settings
from digest.store.redis import make_client

__all__ = ["LocalSpacer", "RedisSpacer", "Spacer", "make_spacer"]

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

log = logging.getLogger(__name__)

POLL = 0.5  # seconds between two looks while another request is in flight


class Spacer(Protocol):
    def turn(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait for a turn and hold it for the body of the `async with`."""
        ...

    async def aclose(self) -> None: ...


@dataclass
class _State:
    free_at: float = 0.0  # earliest start of the next turn
    holder: str | None = None
    hold_until: float = 0.0


_LOCAL: dict[str, _State] = {}


class LocalSpacer:
    """Turns shared by every LocalSpacer of this process with the same key."""

    def __init__(
        self,
        key: str,
        interval: float,
        *,
        hold: float,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._state = _LOCAL.setdefault(key, _State())
        self.interval = interval
        self.hold = hold
        self._clock = clock
        self._sleep = sleep

    def _take(self, token: str) -> float:
        now = self._clock()
        s = self._state
        if s.holder is not None and s.hold_until > now:
            return max(0.001, min(POLL, s.hold_until - now))
        if now < s.free_at:
            return s.free_at - now
        s.holder, s.hold_until, s.free_at = token, now + self.hold, now + self.interval
        return 0.0

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        token = secrets.token_hex(8)
        while (wait := self._take(token)) > 0:
            await self._sleep(wait)
        try:
            yield
        finally:
            if self._state.holder == token:
                self._state.holder = None

    async def aclose(self) -> None:
        return None


# KEYS[1]: the hash. ARGV: now ("" = Redis TIME), interval, hold, token.
_TAKE = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local interval, hold = tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'free', 'holder', 'until')
local free, holder, held = tonumber(s[1]) or 0, s[2], tonumber(s[3]) or 0
local function exact(x) return string.format('%.17g', x) end
if holder and held > now then
  return exact(-(held - now))
end
if now < free then
  return exact(free - now)
end
redis.call('HSET', KEYS[1], 'free', exact(now + interval), 'holder', ARGV[4],
  'until', exact(now + hold))
redis.call('PEXPIRE', KEYS[1], math.ceil((interval + hold) * 1000) + 1000)
return '0'
"""

_RELEASE = """
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'holder', 'until')
end
return 0
"""


class RedisSpacer:
    """Turns shared through Redis by every process using the same key."""

    def __init__(
        self,
        client: aioredis.Redis,
        key: str,
        interval: float,
        *,
        hold: float,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._key = key
        self.interval = interval
        self.hold = hold
        self._clock = clock
        self._sleep = sleep
        self._owns = owns_client
        self._take = client.register_script(_TAKE)
        self._release = client.register_script(_RELEASE)
        # Redis unreachable: this process's turns, until it answers again.
        self._fallback = LocalSpacer(
            key, interval, hold=hold, clock=clock or time.monotonic, sleep=sleep
        )

    async def _try(self, token: str) -> float:
        now = "" if self._clock is None else repr(self._clock())
        raw = await self._take(keys=[self._key], args=[now, self.interval, self.hold, token])
        wait = float(raw)
        # Negative: someone holds a turn; poll rather than wait for its whole lease.
        return max(0.001, min(POLL, -wait)) if wait < 0 else wait

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        token = secrets.token_hex(8)
        try:
            while (wait := await self._try(token)) > 0:
                await self._sleep(wait)
        except (RedisError, OSError) as exc:
            log.warning("arXiv spacing: Redis unreachable (%s); spacing in this process", exc)
            async with self._fallback.turn():
                yield
            return
        try:
            yield
        finally:
            with contextlib.suppress(RedisError, OSError):  # the lease runs out by itself
                await self._release(keys=[self._key], args=[token])

    async def aclose(self) -> None:
        if self._owns:
            await self._client.aclose()


def make_spacer(settings: Settings, *, sleep: Sleep = asyncio.sleep) -> Spacer:
    """Redis-shared turns when Redis is configured, this process's otherwise."""
    hold = settings.fulltext_timeout + 5.0
    interval = settings.arxiv_fulltext_interval
    if settings.redis_url:
        client = make_client(settings.redis_url)
        key = f"{settings.redis_prefix}arxiv:web"
        return RedisSpacer(client, key, interval, hold=hold, sleep=sleep, owns_client=True)
    return LocalSpacer("arxiv:web", interval, hold=hold, sleep=sleep)
