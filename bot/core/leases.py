"""Leases and patience: renew a lease while working, sleep until woken, and wait out an
unreachable Store with backoff (its state said once per change, as `STORE_LINK`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

# `nap` lives with the other waits (bot.chat imports it from here).
from bot.core.reconnect import Backoff, Link
from bot.core.reconnect import nap as nap
from digest.errors import (
    StoreError,
)
from digest.store.base import Store

log = logging.getLogger(__name__)

T = TypeVar("T")

# The Store unreachable: a step waits this long at most.
STORE_PATIENCE = 600.0
STORE_BACKOFF = Backoff(base=1.0, cap=30.0)
# This process's view of the Store: down and up said once each (the scheduler's too).
STORE_LINK = Link("store", "connection", logger=log)


async def patiently(
    step: Callable[[], Awaitable[T]],
    *,
    stop: asyncio.Event | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    must: bool = False,
    patience: float = STORE_PATIENCE,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`await step()`, tried again with backoff while it raises StoreError (the Store
    unreachable), at most `patience` seconds; `must`: even while shutting down (a part
    that went out must be recorded, or the next run sends it again)."""
    started = clock()
    attempt = 0
    forever = asyncio.Event()
    while True:
        asked_at = time.monotonic()  # the Link's clock
        try:
            result = await step()
        except StoreError as exc:
            STORE_LINK.down(str(exc))
            stopping = stop is not None and stop.is_set() and not must
            if stopping or clock() - started > patience:
                raise
            await nap(sleep, STORE_BACKOFF.delay(attempt), forever if must else (stop or forever))
            attempt += 1
            continue
        if STORE_LINK.up_now is False:
            STORE_LINK.up(asked_at=asked_at)
        return result


async def keep_lock(
    store: Store,
    lock: str,
    owner: str,
    ttl: dt.timedelta,
    done: asyncio.Event,
    sleep: Callable[[float], Awaitable[None]],
) -> bool:
    """Renew `lock` every third of its lease until `done` is set; False when it was lost.

    Never cancelled mid-renewal: a Store call cut off half-way could leave a transaction
    open, so the caller sets `done` and the loop finishes its current call.
    """
    while not done.is_set():
        await nap(sleep, ttl.total_seconds() / 3, done)
        if done.is_set():
            return True
        if not await store.acquire_lock(lock, owner, ttl):
            return False
    return True
