"""Coming back by itself: capped exponential backoff with jitter, and one log line per
change of state.

    backoff = Backoff(base=1.0, cap=60.0)       # 1, 2, 4, … 60 s, each times 0.5–1.0
    link = Link("telegram", "long polling")     # up / down, said once per change
    link.down("getUpdates: HTTP 502")           # WARNING: telegram: long polling down: …
    link.down("getUpdates: HTTP 502")           # (nothing: still down)
    link.up()                                   # WARNING: telegram: long polling up again …

`keep_trying` runs a connect step until it succeeds, waiting `backoff.delay(n)` between
tries (on an injected `sleep`, so tests never wait on a wall clock), and gives up only on
a `ConfigError` (a refused token: trying again cannot help) or when `stop` is set.
A recovery is logged at WARNING too: an operator who saw "down" must see "up again"
without `-v`.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from digest.errors import ConfigError

__all__ = ["Backoff", "Link", "keep_trying", "nap", "nap_until"]

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait before try `attempt` + 1 (0-based): `base` doubling up to `cap`,
    times a random factor in [0.5, 1) ("equal jitter": never zero, and replicas that lost
    the same server at the same instant do not all come back at the same instant)."""

    base: float = 1.0
    cap: float = 60.0
    factor: float = 2.0

    def delay(self, attempt: int, random: Callable[[], float] = _random.random) -> float:
        ceiling = min(self.cap, self.base * self.factor ** min(attempt, 32))
        return ceiling * (0.5 + random() / 2)


# Receivers: the first retry within a second, then doubling to a minute.
RECEIVER_BACKOFF = Backoff(base=1.0, cap=60.0)


class Link:
    """The up/down state of one connection (a platform's receiver, Redis), logged once
    per change: what is down and why, then that it is up again and after how long."""

    def __init__(
        self,
        name: str,
        what: str = "connection",
        *,
        logger: logging.Logger = log,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.what = what
        self.up_now: bool | None = None  # None: not tried yet
        self.reason = "not connected yet"
        self.failures = 0  # consecutive, since the last time it was up
        self._since = clock()
        self._clock = clock
        self._log = logger

    def __repr__(self) -> str:
        return f"Link({self.name!r}, up={self.up_now})"

    def down(self, reason: str) -> None:
        """A try failed or the connection dropped: logged when it was up (or untried)."""
        self.failures += 1
        changed = self.up_now is not False
        self.reason = reason
        if changed:
            self.up_now = False
            self._since = self._clock()
            self._log.warning(
                "%s: %s down: %s; retrying with backoff", self.name, self.what, reason
            )

    def up(self, *, asked_at: float | None = None) -> None:
        """Connected: logged when it was down (at WARNING: the news an operator awaits).
        `asked_at` (this link's clock): when the call that succeeded was made; an answer
        to a call made before the link went down is old news and changes nothing (so
        concurrent callers do not make it flap)."""
        if asked_at is not None and self.up_now is False and asked_at < self._since:
            return
        was = self.up_now
        self.up_now = True
        self.reason = ""
        if was is False:
            self._log.warning(
                "%s: %s up again after %d failed %s (%.1f s down)",
                self.name,
                self.what,
                self.failures,
                "try" if self.failures == 1 else "tries",
                self._clock() - self._since,
            )
        self.failures = 0
        self._since = self._clock()


async def nap(sleep: Sleep, seconds: float, *wake: asyncio.Event) -> None:
    """Sleep `seconds` on `sleep`, waking at once when any of `wake` is set."""
    waiters = [
        asyncio.ensure_future(sleep(seconds)),
        *(asyncio.ensure_future(e.wait()) for e in wake),
    ]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


async def nap_until(stop: asyncio.Event, seconds: float, sleep: Sleep) -> bool:
    """Sleep `seconds` on `sleep`, waking early when `stop` is set; True when stopped."""
    if stop.is_set():
        return True
    await nap(sleep, seconds, stop)
    return stop.is_set()


async def keep_trying(
    connect: Callable[[], Awaitable[T]],
    link: Link,
    *,
    stop: asyncio.Event,
    backoff: Backoff = RECEIVER_BACKOFF,
    sleep: Sleep = asyncio.sleep,
    random: Callable[[], float] = _random.random,
    describe: Callable[[BaseException], str] | None = None,
    first_attempt: int = 0,
) -> T | None:
    """`await connect()` until it succeeds (the link goes up) and return its result;
    None when `stop` was set first. A ConfigError is final: raised at once.
    `first_attempt` > 0: tries already failed (the first wait is that try's backoff)."""
    attempt = first_attempt
    if attempt and await nap_until(stop, backoff.delay(attempt - 1, random), sleep):
        return None
    while not stop.is_set():
        try:
            result = await connect()
        except ConfigError:
            raise
        except Exception as exc:
            link.down(describe(exc) if describe else _describe(exc))
            if await nap_until(stop, backoff.delay(attempt, random), sleep):
                return None
            attempt += 1
            continue
        link.up()
        return result
    return None


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    name = exc.__class__.__name__
    return f"{name}: {text}"[:300] if text else name
