"""Telegram long polling whose offset confirms only handled updates.

getUpdates with ``offset=N`` tells Telegram that every update below N was handled: it
drops them for good. python-telegram-bot's Updater confirms an update as soon as it
fetched it, so a process killed while answering loses that update. Here the offset
moves past an update only once its answer is done:

    fetch(offset) ──► new update ──► dispatch ──► answer task ─┬─ done ──────► handled
         ▲                                                    └─ Deferred ──► again
         │                                                       (the Store was down,
         └── offset = the oldest update not handled yet            after a backoff)

While an answer is in flight Telegram keeps returning its update (and those after it) at
once; updates already dispatched are not dispatched again, and the loop then waits for an
answer to finish (or `busy_poll` seconds) before asking again, instead of spinning. An
update confirmed on shutdown is one whose answer finished; one still running is
delivered again after a restart and answered once (the conversation's done marker).

Network errors, 5xx, 409 conflicts: retried with capped exponential backoff and jitter,
the link's state logged once per change (`bot.core.reconnect`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random as _random
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, Protocol

from bot.core.intake import Deferred
from bot.core.reconnect import RECEIVER_BACKOFF, Backoff, Link, Sleep, nap, nap_until

__all__ = ["BUSY_POLL", "RETRY_BACKOFF", "Poller", "UpdateLike"]

log = logging.getLogger(__name__)

# Seconds between looks while only updates already in flight come back.
BUSY_POLL: Final = 1.0
# A deferred update is dispatched again after this (the Store down, a lease elsewhere).
RETRY_BACKOFF: Final = Backoff(base=1.0, cap=10.0)
LIMIT: Final = 100  # updates per getUpdates (Telegram's maximum)


class UpdateLike(Protocol):
    @property
    def update_id(self) -> int: ...


Fetch = Callable[[int | None, float, int], Awaitable[Sequence[UpdateLike]]]
Dispatch = Callable[[UpdateLike], Awaitable["asyncio.Task[object] | None"]]


class Poller:
    """The polling loop (see the module docstring). `fetch(offset, timeout, limit)` is
    getUpdates; `dispatch(update)` starts its answer and returns the task (None when
    there is nothing to answer) or raises Deferred (not taken now)."""

    def __init__(
        self,
        fetch: Fetch,
        dispatch: Dispatch,
        *,
        link: Link,
        timeout: float,
        backoff: Backoff = RECEIVER_BACKOFF,
        retry: Backoff = RETRY_BACKOFF,
        busy_poll: float = BUSY_POLL,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
        describe: Callable[[BaseException], str] = repr,
    ) -> None:
        self._fetch = fetch
        self._dispatch = dispatch
        self.link = link
        self._timeout = timeout
        self._backoff = backoff
        self._retry = retry
        self._busy_poll = busy_poll
        self._sleep = sleep
        self._clock = clock
        self._random = random
        self._describe = describe
        self._inflight: dict[int, asyncio.Task[object]] = {}
        self._handled: set[int] = set()  # handled, above the offset Telegram last saw
        self._retry_at: dict[int, float] = {}
        self._tries: dict[int, int] = {}
        self._highest: int | None = None  # the highest update handled
        self.confirmed: int | None = None  # the offset Telegram last got
        self._progress = asyncio.Event()

    @property
    def offset(self) -> int | None:
        """The next getUpdates offset: the oldest update not handled, else the highest
        handled + 1 (None before any update: Telegram answers from its oldest)."""
        waiting = [*self._inflight, *self._retry_at]
        if waiting:
            return min(waiting)
        return None if self._highest is None else self._highest + 1

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; never raises for Telegram's or the network's trouble."""
        attempt = 0
        while not stop.is_set():
            offset = self.offset
            try:
                batch = await self._fetch(offset, self._timeout, LIMIT)
            except Exception as exc:
                self.link.down(self._describe(exc))
                wait = max(self._backoff.delay(attempt, self._random), _retry_after(exc))
                if await nap_until(stop, wait, self._sleep):
                    return
                attempt += 1
                continue
            attempt = 0
            self.link.up()
            if offset is not None:
                self.confirmed = offset
            taken = 0
            for update in batch:
                taken += await self._take(update)
            if taken == 0 and (self._inflight or self._retry_at):
                await self._until_progress(stop)

    async def confirm(self) -> None:
        """Tell Telegram what was handled since the last poll (on shutdown); best effort."""
        offset = self.offset
        if offset is None or offset == self.confirmed:
            return
        try:
            await self._fetch(offset, 0, 1)
            self.confirmed = offset
        except Exception as exc:  # the next start confirms it (answers are deduplicated)
            log.info("telegram: could not confirm handled updates: %s", self._describe(exc))

    async def _take(self, update: UpdateLike) -> int:
        """Dispatch `update` unless it is in flight, handled or not due again; 1 if it was."""
        uid = update.update_id
        if uid in self._inflight or uid in self._handled:
            return 0
        due = self._retry_at.get(uid)
        if due is not None and self._clock() < due:
            return 0
        try:
            task = await self._dispatch(update)
        except Deferred:
            self._defer(uid)
            return 1
        except Exception:  # a bug in the mapping: answered never, but not retried forever
            log.exception("telegram: update %d could not be dispatched", uid)
            self._handled_now(uid)
            return 1
        if task is None:
            self._handled_now(uid)
        else:
            self._inflight[uid] = task
            task.add_done_callback(functools.partial(self._settled, uid))
        return 1

    def _settled(self, uid: int, task: asyncio.Task[object]) -> None:
        self._inflight.pop(uid, None)
        failure = None if task.cancelled() else task.exception()
        if task.cancelled() or isinstance(failure, Deferred):
            self._defer(uid)  # not answered: dispatched again (or by the next process)
        else:
            self._handled_now(uid)
        self._progress.set()

    def _defer(self, uid: int) -> None:
        tries = self._tries[uid] = self._tries.get(uid, 0) + 1
        self._retry_at[uid] = self._clock() + self._retry.delay(tries - 1, self._random)

    def _handled_now(self, uid: int) -> None:
        self._retry_at.pop(uid, None)
        self._tries.pop(uid, None)
        self._handled.add(uid)
        self._highest = uid if self._highest is None else max(self._highest, uid)
        floor = self.offset
        if floor is not None:
            self._handled = {u for u in self._handled if u >= floor}

    async def _until_progress(self, stop: asyncio.Event) -> None:
        """Only updates in flight came back: wait for one to finish (or a deferred one to
        be due), at most `busy_poll` seconds."""
        self._progress.clear()
        await nap(self._sleep, self._busy_poll, self._progress, stop)


def _retry_after(exc: BaseException) -> float:
    """Telegram's own retry_after of a 429 on getUpdates, in seconds (0 when none)."""
    with warnings.catch_warnings():  # PTB 22 warns when its int form is read
        warnings.simplefilter("ignore")
        after = getattr(exc, "retry_after", None)
    if after is None:
        return 0.0
    seconds = after.total_seconds() if hasattr(after, "total_seconds") else after
    try:
        return max(float(seconds), 0.0)
    except (TypeError, ValueError):
        return 0.0
