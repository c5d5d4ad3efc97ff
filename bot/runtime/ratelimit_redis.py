"""The send limiter of a fleet: RateLimiter's windows, shared by every worker through Redis.

Each send *reserves* its instant: one Lua script (one round trip) finds the earliest
instant at which every window of every key the send names has room, counting the
reservations other workers already hold for later instants, and records it in all those
keys; the sender then sleeps until it. Nobody polls, so there is no thundering herd when
a window frees, and grants on a key are FIFO (never earlier than the key's latest one).
The cost: a slot reserved by a sender that dies before sending is wasted, which only
errs on the safe side.

Keys, one sorted set per limiter key (score = granted instant, in seconds):

    {prefix}rl:{key}

Each expires a little after its latest reservation leaves its longest window, so Redis
holds only the chats active within that window.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.core.ratelimit import Clock, Limit, Sleep
from digest.errors import StoreError, scrub

__all__ = ["RedisRateLimiter"]

# A wait this small is float noise (a slot freed exactly `period` ago), not a wait.
_EPSILON = 1e-6

# KEYS: the sorted sets. ARGV: now ('' = Redis TIME), the reservation's member, then per
# key: its number of limits n, then n pairs (count, period).
# Every entry of a key is <= t (t starts at the key's latest one), so a limit (count,
# period) has room at t exactly when its count-th latest entry is <= t - period: the
# earliest t is the largest of these bounds, found without any loop over time.
_RESERVE = """
local now
if ARGV[1] == '' then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
local t = now
local longest = {}
local pos = 3
for i, key in ipairs(KEYS) do
  local latest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if latest[2] then
    t = math.max(t, tonumber(latest[2]))
  end
  local span = 0
  local n = tonumber(ARGV[pos])
  pos = pos + 1
  for _ = 1, n do
    local count = tonumber(ARGV[pos])
    local period = tonumber(ARGV[pos + 1])
    pos = pos + 2
    span = math.max(span, period)
    local nth = redis.call('ZRANGE', key, -count, -count, 'WITHSCORES')
    if nth[2] then
      t = math.max(t, tonumber(nth[2]) + period)
    end
  end
  longest[i] = span
end
local at = string.format('%.17g', t)
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, at, ARGV[2])
  -- Entries older than the longest window can no longer constrain any t >= now.
  redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.17g', now - longest[i]))
  -- A second of slack: the key outlives its latest reservation's longest window.
  redis.call('PEXPIRE', key, math.ceil((t - now + longest[i]) * 1000) + 1000)
end
return {at, string.format('%.17g', now)}
"""


class RedisRateLimiter:
    """A Limiter whose windows live in Redis, so every process using the same `prefix`
    shares them; safe to share among many tasks too.

    `clock` (seconds) is passed to the script when given (tests); when None the script
    reads Redis's own TIME, so workers on machines with skewed clocks agree, and the
    granted instants are then Unix seconds on the Redis server's clock. `margin` widens
    every period, as RateLimiter's does. The client is the caller's: nothing to close.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        margin: float = 0.0,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if margin < 0:
            raise ValueError("margin must be >= 0")
        self._client = client
        self._prefix = prefix
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._reserve = client.register_script(_RESERVE)
        # Members must be unique across the fleet: this limiter's id and a counter.
        self._origin = uuid.uuid4().hex
        self._serial = itertools.count()
        self.waited = 0.0  # total seconds tasks slept here (for benchmarks and tests)

    async def acquire_keys(self, keys: Sequence[tuple[str, tuple[Limit, ...]]]) -> float:
        """Reserve the earliest instant every key has room for and sleep until it; returns
        the instant granted (on `clock`, or on Redis's clock when there is none)."""
        names: list[str] = []
        args: list[str] = ["" if self._clock is None else repr(self._clock())]
        args.append(f"{self._origin}:{next(self._serial)}")
        for name, limits in {name: limits for name, limits in keys}.items():
            names.append(f"{self._prefix}rl:{name}")
            args.append(str(len(limits)))
            for limit in limits:
                args += [str(limit.count), repr(limit.period * (1 + self._margin))]
        sent = time.monotonic()
        try:
            granted, now = await self._reserve(keys=names, args=args)
        except (RedisError, OSError) as exc:
            raise StoreError(f"send rate limiter on Redis: {self._scrub(exc)}") from exc
        at = float(granted)
        if self._clock is not None:
            wait = at - self._clock()
        else:
            # Redis's clock told the lead; the round trip has already used part of it.
            wait = at - float(now) - (time.monotonic() - sent)
        if wait > _EPSILON:
            self.waited += wait
            await self._sleep(wait)
        return at

    def _scrub(self, exc: BaseException) -> str:
        # redis-py does not quote the password today; should it ever, it still goes.
        kwargs = getattr(self._client.connection_pool, "connection_kwargs", {})
        password = kwargs.get("password")
        return scrub(str(exc), [password if isinstance(password, str) else None]) or (
            type(exc).__name__
        )


# Sliding windows of LLM-backed commands (per user, per chat) shared by the fleet: drop
# what left the window, refuse when either is full, else record the command in both.
_COMMAND = """
local now = ARGV[1] ~= '' and tonumber(ARGV[1]) or nil
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1e6
end
local window = tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[3 + i]) then return 0 end
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[i], math.ceil(window * 1000) + 1000)
end
return 1
"""


class RedisCommandLimiter:
    """bot.core.intake.CommandLimiter's windows in Redis, so a user's `/paper` count is
    the same whichever replica or worker answers (one round trip per command)."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        per_user: int,
        per_chat: int,
        window: float,
        clock: Clock | None = None,
    ) -> None:
        self._prefix = prefix
        self._limits = (per_user, per_chat)
        self._window = window
        self._clock = clock
        self._script = client.register_script(_COMMAND)
        self._origin = uuid.uuid4().hex
        self._serial = itertools.count()

    async def check(self, user_key: str, chat_key: str) -> bool:
        keys = [f"{self._prefix}cmd:user:{user_key}", f"{self._prefix}cmd:chat:{chat_key}"]
        args = [
            "" if self._clock is None else repr(self._clock()),
            repr(self._window),
            f"{self._origin}:{next(self._serial)}",
            *(str(n) for n in self._limits),
        ]
        try:
            return bool(int(await self._script(keys=keys, args=args)))
        except (RedisError, OSError) as exc:
            raise StoreError(f"command limiter on Redis: {type(exc).__name__}") from exc
