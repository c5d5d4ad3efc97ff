"""The scheduler: due by local time, catch-up the same local day, one leader, idempotent."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

import pytest
from pydantic import SecretStr

from bot.core.ratelimit import RateLimiter
from bot.delivery.outcomes import RETRY_BASE
from bot.delivery.push import push
from bot.delivery.report import PushReport
from bot.platforms.telegram.send import TRANSIENT_RETRIES, TelegramSender
from bot.runtime.scheduler import LOCK_NAME, Scheduler, local_due, parse_hhmm
from digest.models import Brief, Language, Subscription
from digest.profile import Profile
from digest.settings import Settings
from digest.store import RedisStore
from digest.store.base import Store
from tests.chat_helpers import WAIT
from tests.conftest import FakeClock
from tests.delivery_helpers import VirtualClock, built_brief
from tests.fakes.telegram_server import FakeTelegram
from tests.platform_settings import make_settings

BERLIN = "Europe/Berlin"  # UTC+2 in June


async def expire_lease(store: Store, fake_clock: FakeClock, ttl: dt.timedelta) -> None:
    """Let the scheduler's lease run out: the fake clock (SQLite) or the server's TTL (Redis)."""
    if isinstance(store, RedisStore):
        # Redis expires the lock on its own clock; PEXPIREAT in the past is that moment.
        await store.client.pexpireat(store.prefix + f"lock:{LOCK_NAME}", 1)
    else:
        fake_clock.advance(ttl.total_seconds() + 1)


def utc(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=dt.UTC)


class Builder:
    def __init__(self) -> None:
        self.days: list[dt.date] = []

    async def __call__(
        self,
        settings: Settings,
        profile: Profile,
        day: dt.date,
        *,
        store: Store,
        readers: Sequence[str] = (),
        languages: Collection[Language] | None = None,
    ) -> Brief:
        self.days.append(day)
        return built_brief(papers=3).model_copy(update={"date": day})


class Env:
    def __init__(self, tg: FakeTelegram, store: Store, fake_clock: FakeClock) -> None:
        self.tg = tg
        self.store = store
        self.fake_clock = fake_clock
        self.vclock = VirtualClock()
        self.settings = make_settings(
            telegram_token=SecretStr(tg.token),
            telegram_api_url=tg.base_url,
        )
        limiter = RateLimiter(clock=self.vclock, sleep=self.vclock.sleep)
        self.sender = TelegramSender(self.settings, limiter=limiter, sleep=self.vclock.sleep)
        self.builder = Builder()

    def scheduler(self, owner: str = "replica-a", **kw: Any) -> Scheduler:
        return Scheduler(
            self.settings,
            self.store,
            owner=owner,
            sleep=self.vclock.sleep,
            builder=self.builder,
            senders={"telegram": self.sender},
            **kw,
        )


@pytest.fixture
async def env(store: Store, fake_clock: FakeClock) -> AsyncIterator[Env]:
    async with FakeTelegram() as tg:
        e = Env(tg, store, fake_clock)
        try:
            yield e
        finally:
            await e.sender.aclose()


def test_parse_hhmm() -> None:
    assert parse_hhmm("08:05") == dt.time(8, 5)
    assert parse_hhmm("7:30") == dt.time(7, 30)
    for bad in ("8", "24:00", "08:60", "08:5", "ab:cd", "008:00", "-1:00"):
        with pytest.raises(ValueError):
            parse_hhmm(bad)


def test_local_due_uses_the_chat_zone() -> None:
    sub = Subscription(platform="telegram", chat_id="1", time="08:00", tz="Asia/Shanghai")
    # 23:30 UTC on May 31 is 07:30 on June 1 in Shanghai: not yet.
    assert local_due(sub, utc(2026, 5, 31, 23, 30)) is None
    # 00:00 UTC is 08:00 there: due, for *their* June 1.
    assert local_due(sub, utc(2026, 6, 1, 0, 0)) == dt.date(2026, 6, 1)
    la = sub.model_copy(update={"tz": "America/Los_Angeles"})
    # Same instant is 17:00 on May 31 in Los Angeles: due for May 31.
    assert local_due(la, utc(2026, 6, 1, 0, 0)) == dt.date(2026, 5, 31)
    with pytest.raises(ValueError, match="time zone"):
        local_due(sub.model_copy(update={"tz": "Mars/Olympus"}), utc(2026, 6, 1, 0))


async def test_catch_up_after_downtime_same_morning_once(env: Env) -> None:
    sub = Subscription(platform="telegram", chat_id="42", interests=["agents"], tz=BERLIN)
    await env.store.save_subscription(sub)
    sched = env.scheduler()
    # Before 08:00 local (06:00 UTC): nothing.
    assert (await sched.run_once(utc(2026, 6, 1, 5, 59))).due == []
    # Down at 08:00; back at 10:45 local: catches up, for the local day.
    tick = await sched.run_once(utc(2026, 6, 1, 8, 45))
    assert tick.leader and tick.due == ["telegram:42"]
    assert env.builder.days == [dt.date(2026, 6, 1)]
    parts = len(env.tg.by_chat(42))
    assert parts >= 1
    # Later ticks the same day (even from a new process) send nothing again.
    again = await env.scheduler().run_once(utc(2026, 6, 1, 9, 0))
    assert again.due == [] and len(env.tg.by_chat(42)) == parts
    assert env.builder.days == [dt.date(2026, 6, 1)]


async def test_no_catch_up_after_local_midnight(env: Env) -> None:
    sub = Subscription(platform="telegram", chat_id="7", interests=["agents"], tz=BERLIN)
    await env.store.save_subscription(sub)
    sched = env.scheduler()
    # Down all of June 1; back at 00:30 local on June 2 (22:30 UTC June 1): not due.
    tick = await sched.run_once(utc(2026, 6, 1, 22, 30))
    assert tick.due == [] and env.tg.messages == []
    # 08:00 local June 2: June 2's brief, never June 1's.
    tick = await sched.run_once(utc(2026, 6, 2, 6, 0))
    assert tick.due == ["telegram:7"]
    assert env.builder.days == [dt.date(2026, 6, 2)]


async def test_only_one_replica_schedules(env: Env, fake_clock: FakeClock) -> None:
    await env.store.save_subscription(
        Subscription(platform="telegram", chat_id="5", interests=["agents"], tz="UTC")
    )
    calls: list[str] = []

    def recording(owner: str) -> Any:
        async def fake_push(
            settings: Settings, store: Store, day: dt.date, **kw: Any
        ) -> PushReport:
            calls.append(owner)
            return PushReport(day=day, dry_run=False, started_at=utc(2026, 6, 1, 9))

        return fake_push

    a = env.scheduler("replica-a", push_fn=recording("a"))
    b = env.scheduler("replica-b", push_fn=recording("b"))
    now = utc(2026, 6, 1, 9)
    assert (await a.run_once(now)).leader
    assert not (await b.run_once(now)).leader
    assert (await a.run_once(now)).leader  # renewing its own lease
    assert calls == ["a", "a"]  # fake push records nothing, so a pushes each tick; b never
    # a dies: once its lease runs out, b takes over.
    await expire_lease(env.store, fake_clock, a.lock_ttl)
    assert (await b.run_once(now)).leader
    assert not (await a.run_once(now)).leader
    assert calls == ["a", "a", "b"]


async def test_idempotent_rerun_and_real_lock_handover(env: Env, fake_clock: FakeClock) -> None:
    await env.store.save_subscription(
        Subscription(platform="telegram", chat_id="-1009", interests=["agents"], tz="UTC")
    )
    a = env.scheduler("replica-a")
    now = utc(2026, 6, 1, 9)
    first = await a.run_once(now)
    delivered = len(env.tg.by_chat(-1009))
    assert first.due == ["telegram:-1009"] and delivered >= 1
    await expire_lease(env.store, fake_clock, a.lock_ttl)
    b = env.scheduler("replica-b")
    second = await b.run_once(now)
    assert second.leader and second.due == []
    assert len(env.tg.by_chat(-1009)) == delivered


async def test_failed_chat_backs_off_then_retries(env: Env) -> None:
    sub = Subscription(platform="telegram", chat_id="66", interests=["agents"], tz="UTC")
    await env.store.save_subscription(sub)
    env.tg.fail_next(500, count=TRANSIENT_RETRIES + 1, chat="66")
    sched = env.scheduler()
    t0 = utc(2026, 6, 1, 9)
    tick = await sched.run_once(t0)
    assert tick.due == ["telegram:66"] and env.tg.by_chat(66) == []
    # Right after a failure the chat is left alone for a while...
    assert (await sched.run_once(t0 + dt.timedelta(seconds=60))).due == []
    # ...then retried, and delivered.
    tick = await sched.run_once(t0 + RETRY_BASE + dt.timedelta(seconds=1))
    assert tick.due == ["telegram:66"] and len(env.tg.by_chat(66)) >= 1


async def test_bad_zone_reported_and_others_still_pushed(env: Env) -> None:
    await env.store.save_subscription(
        Subscription(platform="telegram", chat_id="1", interests=["agents"], tz="Mars/Base")
    )
    await env.store.save_subscription(
        Subscription(platform="telegram", chat_id="2", interests=["agents"], tz="UTC")
    )
    tick = await env.scheduler().run_once(utc(2026, 6, 1, 9))
    assert tick.due == ["telegram:2"]
    assert any("telegram:1" in e and "time zone" in e for e in tick.errors)


async def test_each_chat_gets_its_own_local_day(env: Env) -> None:
    await env.store.save_subscription(
        Subscription(
            platform="telegram", chat_id="10", interests=["agents"], tz="Asia/Tokyo", time="07:00"
        )
    )
    await env.store.save_subscription(
        Subscription(
            platform="telegram",
            chat_id="20",
            interests=["agents"],
            tz="America/New_York",
            time="07:00",
        )
    )
    # 23:00 UTC May 31: 08:00 June 1 in Tokyo, 19:00 May 31 in New York.
    tick = await env.scheduler().run_once(utc(2026, 5, 31, 23))
    assert sorted(tick.due) == ["telegram:10", "telegram:20"]
    assert sorted(env.builder.days) == [dt.date(2026, 5, 31), dt.date(2026, 6, 1)]


async def test_serve_ticks_and_releases_the_lock(env: Env) -> None:
    await env.store.save_subscription(
        Subscription(platform="telegram", chat_id="3", interests=["agents"], tz="UTC")
    )
    times = iter([utc(2026, 6, 1, 5), utc(2026, 6, 1, 9), utc(2026, 6, 1, 9, 1)])
    sched = env.scheduler(clock=lambda: next(times), interval=10.0)
    await sched.serve(ticks=3)
    assert len(env.tg.by_chat(3)) >= 1
    assert env.vclock.sleeps.count(10.0) == 2  # between the three ticks
    # Released on the way out: another replica leads at once.
    other = env.scheduler("replica-z", push_fn=push)
    assert (await other.run_once(utc(2026, 6, 1, 9, 2))).leader


async def test_lease_renewed_during_a_long_push(env: Env) -> None:
    await env.store.save_subscription(
        Subscription(platform="telegram", chat_id="8", interests=["agents"], tz="UTC")
    )

    class CountingStore:
        """The real store, counting lock calls that were answered."""

        def __init__(self, inner: Store) -> None:
            self.inner = inner
            self.lock_calls = 0
            self.renewed = asyncio.Event()

        async def acquire_lock(self, name: str, owner: str, ttl: dt.timedelta) -> bool:
            held = await self.inner.acquire_lock(name, owner, ttl)
            self.lock_calls += 1
            if self.lock_calls >= 1 + 5:
                self.renewed.set()
            return held

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    counting = CountingStore(env.store)

    async def slow_push(settings: Settings, store: Store, day: dt.date, **kw: Any) -> PushReport:
        # A push that runs until the lease was renewed five times. It waits on that, not
        # on virtual time: a lock call on SQLite runs in a thread, and virtual time would
        # run on without it under load (this test was flaky so). Only the renewal loop's
        # own waits move the clock, so they are what the time bound below measures.
        await asyncio.wait_for(counting.renewed.wait(), WAIT)
        return PushReport(day=day, dry_run=False, started_at=utc(2026, 6, 1, 9))

    sched = Scheduler(
        env.settings,
        counting,
        owner="a",
        sleep=env.vclock.sleep,
        push_fn=slow_push,  # type: ignore[arg-type]
    )
    start = env.vclock.now
    await sched.run_once(utc(2026, 6, 1, 9))
    # One acquisition for the tick, then renewals every third of the lease while it ran.
    assert counting.lock_calls >= 1 + 5
    assert env.vclock.now - start < 10 * sched.lock_ttl.total_seconds()
