"""One build of a (profile, language, day) brief across every process: the cached one,
else built here under the build lease, else waited for while another process builds it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from typing import Any, Protocol, TypeVar

from bot.core.leases import keep_lock
from bot.core.observability import time_brief_build
from bot.delivery.report import PushReport
from digest.chatstate import (
    day_brief_key,
    get_day_brief,
    put_day_brief,
)
from digest.errors import (
    PaperdropError,
)
from digest.models import Brief, Language
from digest.pipeline import build_brief
from digest.profile import Profile
from digest.settings import Settings
from digest.store.base import Store

T = TypeVar("T")

# One build of a (profile, language, day) brief across every process: the builder holds
# this lease (renewed while it builds); the others poll the day's brief cache.
BUILD_LEASE = dt.timedelta(minutes=5)
BUILD_POLL = 1.0  # seconds between looks while another process builds


class BriefBuilder(Protocol):
    """Builds one group's brief (digest.pipeline.build_brief). `languages` are every
    language the day's groups read, so shared work (summaries) is done once for all."""

    def __call__(
        self,
        settings: Settings,
        profile: Profile,
        day: dt.date,
        *,
        store: Store,
        readers: Sequence[str] = ...,
        languages: Collection[Language] | None = ...,
    ) -> Awaitable[Brief]: ...


async def group_brief(
    settings: Settings,
    store: Store,
    day: dt.date,
    profile: Profile,
    readers: list[str],
    builder: BriefBuilder,
    *,
    dry_run: bool,
    report: PushReport,
    languages: Collection[Language],
    owner: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Brief:
    """The day's brief of `profile`: the cached one, else built here under the build lease,
    else (another process is building it) the one it caches, waited for."""
    if dry_run:  # the day's brief if there is one; else built here and never cached
        cached = await _cached(store, profile, day, report)
        if cached is not None:
            return cached
        return await _build(settings, store, day, profile, readers, builder, report, languages)
    lock = f"build:{day_brief_key(profile.key, day)}"
    while True:
        cached = await _cached(store, profile, day, report)
        if cached is not None:
            return cached
        if await store.acquire_lock(lock, owner, BUILD_LEASE):
            break
        await sleep(BUILD_POLL)
    done = asyncio.Event()
    renew = asyncio.ensure_future(keep_lock(store, lock, owner, BUILD_LEASE, done, sleep))
    try:
        # Built and cached by another process between our look and our lock?
        cached = await _cached(store, profile, day, report)
        if cached is not None:
            return cached
        brief = await _build(settings, store, day, profile, readers, builder, report, languages)
        await put_day_brief(store, profile.key, day, brief)
        return brief
    finally:
        done.set()
        await asyncio.gather(renew, return_exceptions=True)
        with contextlib.suppress(PaperdropError):
            await store.release_lock(lock, owner)


async def _cached(store: Store, profile: Profile, day: dt.date, report: PushReport) -> Brief | None:
    """The day's brief of `profile` if one is cached (counted as reused)."""
    cached = await get_day_brief(store, profile.key, day)
    if cached is not None:
        report.briefs_reused += 1
    return cached


async def _build(
    settings: Settings,
    store: Store,
    day: dt.date,
    profile: Profile,
    readers: list[str],
    builder: BriefBuilder,
    report: PushReport,
    languages: Collection[Language],
) -> Brief:
    brief = await builder(settings, profile, day, store=store, readers=readers, languages=languages)
    report.briefs_built += 1
    return brief


class Stopped(Exception):
    pass


async def unless_stopped(work: Coroutine[Any, Any, T], stop: asyncio.Event | None) -> T:
    """Await `work`, but give up (cancelling it) as soon as `stop` is set: building a
    brief is abandoned on shutdown; nothing was sent yet."""
    if stop is None:
        return await work
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise Stopped
    return task.result()


def timed_builder(inner: BriefBuilder = build_brief) -> BriefBuilder:
    """`inner` (default: digest.pipeline.build_brief), each call timed as a brief build."""

    async def build(
        settings: Settings,
        profile: Profile,
        day: dt.date,
        *,
        store: Store,
        readers: Sequence[str] = (),
        languages: Collection[Language] | None = None,
    ) -> Brief:
        with time_brief_build():
            return await inner(
                settings, profile, day, store=store, readers=readers, languages=languages
            )

    return build
