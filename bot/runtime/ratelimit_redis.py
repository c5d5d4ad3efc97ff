"""The send limiter of a fleet: RateLimiter's windows, shared by every worker through Redis.

Each send *reserves* its instant: a Lua script finds the earliest instant at which every
window of every key the send names has room, counting the reservations other workers
already hold for later instants, and records it in all those keys; the sender then
sleeps until it. Nobody polls, so there is no thundering herd when a window frees, and
grants on a key are FIFO (never earlier than the key's latest one). The cost: a slot
reserved by a sender that dies before sending is wasted, which only errs on the safe side.

Sends asked for while a reservation is on its way to Redis wait and go together in the
next one: one script call (one round trip) reserves them all, in the order they were
asked, exactly as one call each would have. A morning's chunk of chats asks at once, so
one call usually serves many sends; a lone send is one call, as before.

A key's state is a string of its latest granted instants (as many as its largest count),
read for all of a call's keys with one MGET and written back once per key (SET PX):

    {prefix}rate:{key}

It expires a little after its latest reservation leaves its longest window, so Redis
holds only the chats active within that window.

A key that spaces sends one by one (a chat's 1 message per second: windows of one only)
is measured by the platform between *arrivals*; a send that went out late (a busy event
loop) would let the next one, granted a period after the first's instant, arrive too
soon (a 429). So when such a key's last grant is within a period of now, the next grant
is at least a period after now: the previous send cannot have gone out later than now.
(A chat's parts are sent one after the other, so this costs them only the round trip.)
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.core.ratelimit import Clock, Limit, Sleep
from digest.errors import StoreError
from digest.redaction import error_text

__all__ = ["MAX_BATCH", "RedisCommandLimiter", "RedisRateLimiter"]

# A wait this small is float noise (a slot freed exactly `period` ago), not a wait.
_EPSILON = 1e-6
# Sends reserved by one script call at most.
MAX_BATCH = 256

# KEYS: the distinct keys of the call. ARGV: now ('' = Redis TIME), the number of sends,
# then per send: its number of keys m, then per key: its index in KEYS, 1 when it only
# has windows of one (else 0), its number of limits n, then n pairs (count, period).
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
local raw = redis.call('MGET', unpack(KEYS))
local state, keep, span, touched = {}, {}, {}, {}
for i = 1, #KEYS do
  local list = {}
  if raw[i] then
    for v in string.gmatch(raw[i], '%S+') do list[#list + 1] = tonumber(v) end
  end
  state[i], keep[i], span[i] = list, 1, 0
end
local out = {}
local pos = 3
for r = 1, tonumber(ARGV[2]) do
  local m = tonumber(ARGV[pos])
  pos = pos + 1
  local t = now
  local mine = {}
  for j = 1, m do
    local i, single, n = tonumber(ARGV[pos]), ARGV[pos + 1] == '1', tonumber(ARGV[pos + 2])
    pos = pos + 3
    mine[j] = i
    local list = state[i]
    if list[#list] then t = math.max(t, list[#list]) end
    for _ = 1, n do
      local count, period = tonumber(ARGV[pos]), tonumber(ARGV[pos + 1])
      pos = pos + 2
      keep[i], span[i] = math.max(keep[i], count), math.max(span[i], period)
      local nth = list[#list - count + 1]
      if nth then
        t = math.max(t, nth + period)
        if single and nth + period > now then t = math.max(t, now + period) end
      end
    end
  end
  for j = 1, m do
    local list = state[mine[j]]
    list[#list + 1] = t
    touched[mine[j]] = true
  end
  out[r] = string.format('%.17g', t)
end
for i = 1, #KEYS do
  if touched[i] then
    local list = state[i]
    local parts = {}
    for k = math.max(1, #list - keep[i] + 1), #list do
      parts[#parts + 1] = string.format('%.17g', list[k])
    end
    -- A second of slack: the key outlives its latest reservation's longest window.
    local ttl = math.ceil((list[#list] - now + span[i]) * 1000) + 1000
    redis.call('SET', KEYS[i], table.concat(parts, ' '), 'PX', math.max(1, ttl))
  end
end
out[#out + 1] = string.format('%.17g', now)
return out
"""


@dataclass
class _Ask:
    keys: list[tuple[str, tuple[Limit, ...]]]
    granted: asyncio.Future[tuple[float, float, float]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


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
        self._asks: list[_Ask] = []
        self._caller: asyncio.Task[None] | None = None
        self.waited = 0.0  # total seconds tasks slept here (for benchmarks and tests)
        self.calls = 0  # script calls made (for benchmarks and tests)

    async def acquire_keys(self, keys: Sequence[tuple[str, tuple[Limit, ...]]]) -> float:
        """Reserve the earliest instant every key has room for and sleep until it; returns
        the instant granted (on `clock`, or on Redis's clock when there is none)."""
        ask = _Ask(list({name: limits for name, limits in keys}.items()))
        self._asks.append(ask)
        if self._caller is None or self._caller.done():
            self._caller = asyncio.ensure_future(self._call())
        at, now, sent = await asyncio.shield(ask.granted)
        if self._clock is not None:
            wait = at - self._clock()
        else:
            # Redis's clock told the lead; the round trip has already used part of it.
            wait = at - now - (time.monotonic() - sent)
        if wait > _EPSILON:
            self.waited += wait
            await self._sleep(wait)
        return at

    async def _call(self) -> None:
        """Reserve what is asked, a batch per script call, until nothing is left."""
        while self._asks:
            batch, self._asks = self._asks[:MAX_BATCH], self._asks[MAX_BATCH:]
            names: dict[str, int] = {}
            args: list[str] = ["" if self._clock is None else repr(self._clock()), str(len(batch))]
            for ask in batch:
                args.append(str(len(ask.keys)))
                for name, limits in ask.keys:
                    index = names.setdefault(f"{self._prefix}rate:{name}", len(names) + 1)
                    single = all(limit.count == 1 for limit in limits)
                    args += [str(index), "1" if single else "0", str(len(limits))]
                    for limit in limits:
                        args += [str(limit.count), repr(limit.period * (1 + self._margin))]
            sent = time.monotonic()
            try:
                reply = await self._reserve(keys=list(names), args=args)
            except (RedisError, OSError) as exc:
                error = StoreError(f"send rate limiter on Redis: {self._scrub(exc)}")
                for ask in batch:
                    if not ask.granted.done():
                        ask.granted.set_exception(error)
                continue
            self.calls += 1
            now = float(reply[-1])
            for ask, granted in zip(batch, reply, strict=False):
                if not ask.granted.done():  # its sender was cancelled: the slot is wasted
                    ask.granted.set_result((float(granted), now, sent))

    def _scrub(self, exc: BaseException) -> str:
        # redis-py does not quote the password today; should it ever, it still goes.
        kwargs = getattr(self._client.connection_pool, "connection_kwargs", {})
        password = kwargs.get("password")
        return error_text(exc, [password if isinstance(password, str) else None])


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
