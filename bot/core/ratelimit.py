"""Client-side rate limits for sending: sliding windows per chat, per group and overall.

Each send names the windows it counts against (its *keys*, which its platform's adapter
supplies), for example Telegram's ``tg:chat:<id>`` (1/s), ``tg:group:<id>`` (20/min) and
``tg:global`` (30/s). A task
takes the keys' locks in one fixed order (so tasks never deadlock), waits on each key
until its windows have room, then records the same instant in all of them. Waiting
while holding a key's lock is deliberate: it is a FIFO queue per key, so waiters are
served in arrival order without a thundering herd, and a chat waiting for its own
1-second window holds only its own lock, never the global one (no head-of-line
blocking across chats).

Clock and sleep are injectable so that tests never wait on the wall clock.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Clock", "Limit", "Limiter", "RateKeys", "RateLimiter", "Sleep"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
# Float slack when comparing instants: a sleep of exactly the computed wait must free the slot.
_EPSILON = 1e-6


@dataclass(frozen=True)
class Limit:
    """At most `count` sends in any `period` seconds."""

    count: int
    period: float

    def __post_init__(self) -> None:
        if self.count < 1 or self.period <= 0:
            raise ValueError("a limit needs count >= 1 and period > 0")


# The windows one send counts against: (key, its limits), e.g. ("tg:chat:42", (1/s,)).
RateKeys = list[tuple[str, tuple[Limit, ...]]]


class Limiter(Protocol):
    """What senders need of a limiter: this process's RateLimiter, or the fleet's
    RedisRateLimiter (bot/runtime/ratelimit_redis.py) shared by every worker."""

    waited: float

    async def acquire_keys(self, keys: Sequence[tuple[str, tuple[Limit, ...]]]) -> float: ...


@dataclass
class _Key:
    limits: tuple[Limit, ...]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # One deque of grant instants per limit, oldest first.
    windows: list[deque[float]] = field(default_factory=list)
    users: int = 0  # tasks holding or waiting for this key, so idle keys can be dropped

    def __post_init__(self) -> None:
        self.windows = [deque() for _ in self.limits]

    def wait_time(self, now: float) -> float:
        """Seconds until every window of this key has room (0 when it has room now)."""
        wait = 0.0
        for limit, window in zip(self.limits, self.windows, strict=True):
            while window and window[0] <= now - limit.period + _EPSILON:
                window.popleft()
            if len(window) >= limit.count:
                wait = max(wait, window[-limit.count] + limit.period - now)
        return wait

    def record(self, now: float) -> None:
        for window in self.windows:
            window.append(now)

    def idle(self, now: float) -> bool:
        return self.users == 0 and self.wait_time(now) == 0.0 and not any(self.windows)


class RateLimiter:
    """An async limiter over named keys, safe to share among many tasks of one loop.

    `margin` widens every period a little so that requests that leave together but
    arrive with some jitter still respect the server's own count.
    """

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        margin: float = 0.0,
    ) -> None:
        if margin < 0:
            raise ValueError("margin must be >= 0")
        self._clock = clock
        self._sleep = sleep
        self._margin = margin
        self._keys: dict[str, _Key] = {}
        self.waited = 0.0  # total seconds tasks slept here (for benchmarks and tests)

    def _key(self, name: str, limits: tuple[Limit, ...]) -> _Key:
        key = self._keys.get(name)
        if key is None:
            if self._margin:
                limits = tuple(Limit(lm.count, lm.period * (1 + self._margin)) for lm in limits)
            key = self._keys[name] = _Key(limits)
        return key

    async def acquire_keys(self, keys: Sequence[tuple[str, tuple[Limit, ...]]]) -> float:
        """Wait until a send may go out under every key; returns the instant granted."""
        ordered = sorted({name: limits for name, limits in keys}.items())
        held: list[_Key] = []
        entries = [self._key(name, limits) for name, limits in ordered]
        for entry in entries:
            entry.users += 1
        try:
            for entry in entries:
                await entry.lock.acquire()
                held.append(entry)
                # Windows only lose entries as time passes and we hold this key's lock, so
                # room found now is still there when the later keys are granted.
                while (wait := entry.wait_time(self._clock())) > 0:
                    self.waited += wait
                    await self._sleep(wait)
            now = self._clock()
            for entry in entries:
                entry.record(now)
            return now
        finally:
            for entry in held:
                entry.lock.release()
            for entry in entries:
                entry.users -= 1
            self._forget_idle()

    def _forget_idle(self) -> None:
        # Keep memory bounded by the chats active within the longest window.
        if len(self._keys) < 4096:
            return
        now = self._clock()
        for name in [n for n, k in self._keys.items() if k.idle(now)]:
            del self._keys[name]

    def known_keys(self) -> Iterable[str]:
        return tuple(self._keys)
