"""Sliding-window rate accounting shared by the fake platform servers.

A `Window(limit, period)` admits at most `limit` events in any `period` seconds: an
accepted event at time ``t`` occupies the half-open interval ``[t, t + period)``, so the
next slot frees exactly ``period`` seconds after the oldest event that still counts.
Refused attempts are not recorded (the platforms count delivered messages, not knocks).

    windows = SlidingWindows(clock)
    verdict = windows.acquire((("chat", 42), PER_CHAT), ("all", GLOBAL))
    if not verdict.ok:
        answer_429(retry_after_seconds(verdict.wait))

Several windows are checked together and recorded only if all admit, so one request is
never half-counted. The clock is injectable (default `time.monotonic`); tests pass a fake.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

__all__ = ["Clock", "SlidingWindows", "Verdict", "Window", "retry_after_seconds"]

Clock = Callable[[], float]

# Float clocks drift by ulps; a wait this small counts as "free now".
_EPSILON = 1e-9


@dataclass(frozen=True)
class Window:
    """At most `limit` events per `period` seconds; `name` says which limit in rejections."""

    limit: int
    period: float
    name: str = ""


@dataclass(frozen=True)
class Verdict:
    """`ok`: recorded. Otherwise `wait` seconds until every window admits; `window` is the
    one that needs the longest wait."""

    ok: bool
    wait: float = 0.0
    window: Window | None = None


def retry_after_seconds(wait: float) -> int:
    """Whole seconds to announce in a 429: rounded up, at least 1 (as the platforms do)."""
    return max(1, math.ceil(wait - _EPSILON))


class SlidingWindows:
    """Event logs per (key, window), pruned lazily."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._events: dict[tuple[Hashable, Window], deque[float]] = {}

    def _log(self, key: Hashable, window: Window, now: float) -> deque[float]:
        log = self._events.setdefault((key, window), deque())
        while log and log[0] <= now - window.period + _EPSILON:
            log.popleft()
        return log

    def wait(self, *slots: tuple[Hashable, Window]) -> Verdict:
        """How long until all `slots` admit one more event (nothing is recorded)."""
        now = self.clock()
        longest = Verdict(ok=True)
        for key, window in slots:
            log = self._log(key, window, now)
            if len(log) < window.limit:
                continue
            # The event that must age out before one more fits.
            wait = log[len(log) - window.limit] + window.period - now
            if wait > longest.wait:
                longest = Verdict(ok=False, wait=wait, window=window)
        return longest

    def acquire(self, *slots: tuple[Hashable, Window]) -> Verdict:
        """Record one event in every slot if all admit it now; else record nothing."""
        verdict = self.wait(*slots)
        if verdict.ok:
            now = self.clock()
            for key, window in slots:
                self._log(key, window, now).append(now)
        return verdict

    def count(self, key: Hashable, window: Window) -> int:
        """Events of `key` that still count in `window` now."""
        return len(self._log(key, window, self.clock()))

    def reset(self) -> None:
        self._events.clear()
