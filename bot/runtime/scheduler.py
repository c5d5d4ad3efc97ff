"""The morning scheduler: push each chat's brief once its local delivery time has passed.

Every tick (`run_once`), the replica holding the Store lock "scheduler" looks at each
active subscription: if the chat's local time (its IANA zone) has reached its delivery
time today and today's brief has not fully reached it (the Store's delivery records, not
memory), the chat is due. So a process that was down at 08:00 catches up when it comes
back the same local day, once; after local midnight it is a new day whose time has not
come yet, and yesterday's brief is not sent late.

The leader also checks the watched papers once a day (`bot.delivery.watching`): one batched
lookup, and each chat told once of a paper's first code, new version or upvote jump.

Only one replica schedules: the lock is a lease renewed every tick (and during a long
push), so when the leader dies another replica takes over after the lease runs out.

Metrics (bot/core/observability.py): ticks by role (leader, follower, error), whether this
replica leads and when it last ticked, each push's chats, parts and briefs (read from its
PushReport), and each brief build's time (`paperdrop_brief_build_seconds`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.leases import STORE_LINK, keep_lock
from bot.core.observability import count_push_error, count_tick, hashed
from bot.core.ports import Sender
from bot.core.ratelimit import Limiter, RateLimiter
from bot.core.reconnect import nap
from bot.delivery.build import BriefBuilder, timed_builder
from bot.delivery.deliver import day_key, is_delivered
from bot.delivery.outcomes import last_outcome, pace_retries, record_push, retry_state
from bot.delivery.push import push
from bot.delivery.report import ChatOutcome, PushReport
from bot.delivery.watching import check_watches
from bot.runtime.queue import JobQueue
from digest.errors import StoreError
from digest.models import Platform, Subscription
from digest.pipeline import build_brief
from digest.settings import Settings
from digest.store.base import Store

__all__ = [
    "DEFAULT_INTERVAL",
    "LOCK_NAME",
    "Scheduler",
    "TickReport",
    "local_due",
    "parse_hhmm",
    "push_status",
]

log = logging.getLogger(__name__)

LOCK_NAME = "scheduler"
# Seconds between ticks: the worst delay after a chat's delivery time.
DEFAULT_INTERVAL = 60.0
# The lease outlives a few missed ticks, so a slow tick does not hand over leadership.
LOCK_TTL_TICKS = 3
MIN_LOCK_TTL = dt.timedelta(seconds=60)
Now = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]


def parse_hhmm(value: str) -> dt.time:
    """'08:30' -> time(8, 30); ValueError for anything else."""
    hours, sep, minutes = value.partition(":")
    if not sep or len(minutes) != 2 or not hours.isdigit() or not minutes.isdigit():
        raise ValueError(f"invalid time {value!r}: use HH:MM (24-hour)")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 23 and 0 <= m <= 59) or len(hours) > 2:
        raise ValueError(f"invalid time {value!r}: use HH:MM (24-hour)")
    return dt.time(h, m)


def local_due(sub: Subscription, now: dt.datetime) -> dt.date | None:
    """The subscriber's local date when its delivery time has passed today, else None.

    Raises ValueError for an unknown zone or a malformed time.
    """
    try:
        zone = ZoneInfo(sub.tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {sub.tz!r}") from exc
    local = now.astimezone(zone)
    at = dt.datetime.combine(local.date(), parse_hhmm(sub.time), tzinfo=zone)
    return local.date() if local >= at else None


async def push_status(store: Store, now: dt.datetime) -> list[dict[str, Any]]:
    """Every subscription's state for its own local day: delivered, failed (with the
    reason the last push recorded), due (its time has passed, not delivered yet),
    scheduled (later today) or inactive. Rows hold no secrets."""
    rows: list[dict[str, Any]] = []
    for sub in await store.list_subscriptions():
        row: dict[str, Any] = {"chat": sub.key, "when": f"{sub.time} {sub.tz}", "error": None}
        try:
            day = now.astimezone(ZoneInfo(sub.tz)).date()
            due = local_due(sub, now) is not None
        except (ValueError, ZoneInfoNotFoundError) as exc:
            rows.append({**row, "day": None, "state": "failed", "error": str(exc)})
            continue
        row["day"] = day.isoformat()
        last = await last_outcome(store, sub, day)
        if not sub.active:
            row.update(state="inactive", error=sub.inactive_reason)
        elif await is_delivered(store, sub, day):
            row["state"] = "delivered"
        elif last is not None and last.get("status") in ("failed", "gone"):
            row.update(state="failed", error=last.get("error"))
        else:
            row["state"] = "due" if due else "scheduled"
        rows.append(row)
    return rows


@dataclass
class TickReport:
    leader: bool
    due: list[str] = field(default_factory=list)  # subscription keys pushed this tick
    pushes: list[PushReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        owner: str | None = None,
        interval: float = DEFAULT_INTERVAL,
        clock: Now = _utc_now,
        sleep: Sleep = asyncio.sleep,
        builder: BriefBuilder = build_brief,
        senders: Mapping[Platform, Sender] | None = None,
        limiter: Limiter | None = None,
        push_fn: Callable[..., Awaitable[PushReport]] = push,
        queue: JobQueue | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.settings = settings
        self.store = store
        self.owner = owner or _default_owner()
        self.interval = interval
        self.lock_ttl = max(dt.timedelta(seconds=interval * LOCK_TTL_TICKS), MIN_LOCK_TTL)
        self._clock = clock
        self._sleep = sleep
        # Every brief the pushes build is timed (paperdrop_brief_build_seconds).
        self._builder = timed_builder(builder)
        self._senders = senders
        # One limiter for every tick, so back-to-back pushes share the platforms' windows.
        self._limiter = limiter or RateLimiter()
        self._push = push_fn
        # Set: due chats are enqueued for `paperdrop worker`s instead of pushed here.
        self._queue = queue
        self._stop: asyncio.Event | None = None  # set by serve(stop=...): shutting down

    async def _due(self, now: dt.datetime, report: TickReport) -> dict[dt.date, list[Subscription]]:
        by_day: dict[dt.date, list[Subscription]] = {}
        for sub in await self.store.list_subscriptions():
            if not sub.active:
                continue
            try:
                day = local_due(sub, now)
            except ValueError as exc:
                report.errors.append(f"{sub.key}: {exc}")
                chat = hashed(sub.key)
                log.warning(
                    "cannot schedule chat=%s: %s",
                    chat,
                    exc,
                    extra={"platform": sub.platform, "chat": chat},
                )
                continue
            if day is None or await is_delivered(self.store, sub, day):
                continue
            not_before = (await retry_state(self.store, day_key(sub.key, day)))[1]
            if not_before is not None and now < not_before:
                continue
            by_day.setdefault(day, []).append(sub)
        return by_day

    async def run_once(self, now: dt.datetime | None = None) -> TickReport:
        """One tick: take or renew the lock, then push every due chat."""
        now = now or self._clock()
        if not await self.store.acquire_lock(LOCK_NAME, self.owner, self.lock_ttl):
            count_tick("follower")
            return TickReport(leader=False)
        report = TickReport(leader=True)
        await self._check_watches(now, report)
        due = await self._due(now, report)
        if not due:
            count_tick("leader")
            return report
        if self._queue is not None:
            await self._enqueue(due, report)
            count_tick("leader")
            return report
        finished = asyncio.Event()
        renew = asyncio.create_task(self._keep_lock(finished))
        try:
            for day, subs in sorted(due.items()):
                report.due.extend(s.key for s in subs)
                kwargs: dict[str, Any] = {
                    "subscriptions": subs,
                    "senders": self._senders,
                    "limiter": self._limiter,
                }
                if self._stop is not None:
                    kwargs["stop"] = self._stop
                kwargs["builder"] = self._builder
                try:
                    pushed = await self._push(self.settings, self.store, day, **kwargs)
                except Exception as exc:  # the next tick tries again
                    count_push_error()
                    report.errors.append(f"{day}: {exc.__class__.__name__}: {exc}")
                    log.exception("push for %s failed", day)
                    failed = PushReport(day=day, dry_run=False, started_at=now)
                    failed.outcomes = [ChatOutcome(sub, error=str(exc)) for sub in subs]
                    await pace_retries(self.store, failed, now)
                    continue
                record_push(pushed)
                report.pushes.append(pushed)
                await pace_retries(self.store, pushed, now)
        finally:
            finished.set()
            with contextlib.suppress(Exception):
                await renew
        count_tick("leader")
        return report

    async def _check_watches(self, now: dt.datetime, report: TickReport) -> None:
        """Once a day: tell chats what changed on the papers they watch."""
        try:
            done = await check_watches(
                self.settings, self.store, now, senders=self._senders, limiter=self._limiter
            )
        except Exception as exc:  # a watch check must never stop the morning push
            report.errors.append(f"watches: {exc.__class__.__name__}: {exc}")
            log.exception("watch check failed")
            return
        if done is not None and done.told:
            log.info("watches: told %d chat(s) of %d papers' news", done.told, done.checked)

    async def _enqueue(self, due: dict[dt.date, list[Subscription]], report: TickReport) -> None:
        """Hand the due chats to the workers; each is claimed so it is enqueued once."""
        assert self._queue is not None
        for day, subs in sorted(due.items()):
            languages = {s.language for s in subs}
            try:
                enqueued = await self._queue.enqueue_push(day, subs, languages)
            except Exception as exc:  # the next tick tries again
                count_push_error()
                report.errors.append(f"{day}: {exc.__class__.__name__}: {exc}")
                log.warning("enqueueing the push of %s failed: %s", day, exc)
                continue
            report.due.extend(enqueued)

    async def _keep_lock(self, done: asyncio.Event) -> None:
        """Renew the lease while a push runs, until `done` is set."""
        if not await keep_lock(self.store, LOCK_NAME, self.owner, self.lock_ttl, done, self._sleep):
            log.error("scheduler lock lost to another replica during a push")

    async def _nap(self, stop: asyncio.Event | None) -> None:
        """Sleep one interval, waking at once when `stop` is set."""
        if stop is None:
            await self._sleep(self.interval)
        else:
            await nap(self._sleep, self.interval, stop)

    async def serve(self, *, stop: asyncio.Event | None = None, ticks: int | None = None) -> None:
        """Tick every `interval` seconds until `stop` is set (or `ticks` ticks ran)."""
        count = 0
        self._stop = stop
        try:
            while stop is None or not stop.is_set():
                asked_at = time.monotonic()  # the store link's clock
                try:
                    tick = await self.run_once()
                except StoreError as exc:  # Redis restarting: said once, tried next tick
                    count_tick("error")
                    STORE_LINK.down(str(exc))
                except Exception:  # a bug: keep serving
                    count_tick("error")
                    log.exception("scheduler tick failed")
                else:
                    if STORE_LINK.up_now is False:
                        STORE_LINK.up(asked_at=asked_at)
                    if tick.due:
                        log.info("pushed to %d chat(s)", len(tick.due))
                count += 1
                if ticks is not None and count >= ticks:
                    break
                await self._nap(stop)
        finally:
            with contextlib.suppress(Exception):
                await self.store.release_lock(LOCK_NAME, self.owner)
