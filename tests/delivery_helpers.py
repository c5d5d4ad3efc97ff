"""Shared helpers of the delivery tests: virtual time and window checks."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Sequence

# Loop turns that let every runnable task reach its next await before time moves on.
_SETTLE_TURNS = 50


class VirtualClock:
    """Virtual time for asyncio tests: nothing waits on the wall clock.

    `sleep(d)` parks the task until virtual time reaches now + d. Time moves only when
    every other task has had the chance to run (a few loop turns), and then jumps to the
    earliest wake-up, so concurrent sleepers overlap as they would in real time.
    `sleeps` records every request.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.now + seconds, next(self._seq), fut))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.create_task(self._drive())
        await fut

    async def _drive(self) -> None:
        while self._heap:
            for _ in range(_SETTLE_TURNS):
                await asyncio.sleep(0)
            if not self._heap:
                break
            when = self._heap[0][0]
            self.now = max(self.now, when)
            while self._heap and self._heap[0][0] <= when:
                _, _, fut = heapq.heappop(self._heap)
                if not fut.done():
                    fut.set_result(None)


def max_in_window(instants: Sequence[float], period: float) -> int:
    """The largest number of instants inside any half-open window of `period` seconds."""
    ts = sorted(instants)
    best = 0
    j = 0
    for i, t in enumerate(ts):
        while ts[j] <= t - period + 1e-6:
            j += 1
        best = max(best, i - j + 1)
    return best
