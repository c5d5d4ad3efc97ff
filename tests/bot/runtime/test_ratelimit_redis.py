"""The fleet's send limiter: windows shared through Redis hold across workers, reach the
limits' floor, and cost one round trip per send. Time is fake: nothing sleeps for real."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.core.ratelimit import Limit, RateLimiter
from bot.platforms import adapter
from bot.platforms.telegram.rules import GLOBAL as TELEGRAM_GLOBAL
from bot.platforms.telegram.rules import PER_CHAT as TELEGRAM_PER_CHAT
from bot.platforms.telegram.rules import PER_GROUP as TELEGRAM_PER_GROUP
from bot.runtime.ratelimit_redis import RedisRateLimiter
from digest.errors import ConfigError, StoreError
from digest.store.redis import make_client
from tests.delivery_helpers import limits_for, max_in_window

pytestmark = pytest.mark.redis

Keys = list[tuple[str, tuple[Limit, ...]]]


class FakeTime:
    """A clock that moves only when a task sleeps: sleeping `d` moves it forward by `d`."""

    def __init__(self, start: float = 1000.0, *, advance: bool = True) -> None:
        self.now = start
        self.advance = advance
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.advance:
            self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture
async def workers(redis_url: str) -> AsyncIterator[list[aioredis.Redis]]:
    """Three clients, each standing for a separate worker process."""
    clients = [make_client(redis_url) for _ in range(3)]
    yield clients
    for client in clients:
        await client.aclose()


def limiters(
    clients: Sequence[aioredis.Redis], prefix: str, fake: FakeTime, **kw: Any
) -> list[RedisRateLimiter]:
    return [RedisRateLimiter(c, prefix=prefix, clock=fake, sleep=fake.sleep, **kw) for c in clients]


def assert_windows_hold(grants: Sequence[tuple[Keys, float]]) -> None:
    """Every window of every key, over all grants, holds at most its count."""
    by_key: dict[str, list[float]] = defaultdict(list)
    limits_of: dict[str, tuple[Limit, ...]] = {}
    for keys, at in grants:
        for name, limits in keys:
            by_key[name].append(at)
            limits_of[name] = limits
    for name, instants in by_key.items():
        for limit in limits_of[name]:
            most = max_in_window(instants, limit.period)
            assert most <= limit.count, (name, limit, most)


async def run_sends(lims: Sequence[RedisRateLimiter], sends: Sequence[Keys]) -> list[float]:
    """All sends at once, dealt round-robin to the limiters (the workers)."""
    return list(
        await asyncio.gather(
            *(lims[i % len(lims)].acquire_keys(keys) for i, keys in enumerate(sends))
        )
    )


async def test_three_workers_reach_the_global_floor_over_private_chats(
    workers: list[aioredis.Redis], redis_prefix: str
) -> None:
    # The clock stands still while the 300 sends are in flight (they all ask at `start`).
    # A clock that each sleep moved forward made this test flaky: which worker's replies
    # the event loop read first decided whether another worker still had to sleep at all
    # (its grants already passed), so "every worker slept" failed ~2 runs in 90 under load.
    fake = FakeTime(advance=False)
    start = fake.now
    lims = limiters(workers, redis_prefix, fake)
    sends = [limits_for("telegram", str(5000 + i)) for i in range(300)]
    grants = await run_sends(lims, sends)
    assert_windows_hold(list(zip(sends, grants, strict=True)))
    assert max_in_window(grants, 1.0) == 30
    # Paced evenly at 1/30 s from the first instant: the last of 300 leaves 299/30 s later,
    # which is as early as the limits allow.
    assert min(grants) == start
    assert max(grants) - start == pytest.approx(299 / 30, abs=1e-6)
    assert sorted(grants) == pytest.approx([start + i / 30 for i in range(300)], abs=1e-6)
    # Every send slept exactly until its grant (no later, no earlier), and every worker
    # accounted for exactly its own sends' waits.
    assert sorted(fake.sleeps) == pytest.approx(sorted(g - start for g in grants if g > start))
    for i, lim in enumerate(lims):
        own = grants[i :: len(lims)]
        assert lim.waited == pytest.approx(sum(g - start for g in own), abs=1e-6)
        assert lim.waited > 0


async def test_three_workers_keep_every_window_of_a_mixed_telegram_load(
    workers: list[aioredis.Redis], redis_prefix: str
) -> None:
    fake = FakeTime()
    lims = limiters(workers, redis_prefix, fake)
    rng = random.Random(7)
    chats = [f"-100{g}" for g in range(4)] + [str(700 + c) for c in range(12)]
    sends = [limits_for("telegram", rng.choice(chats)) for _ in range(240)]
    grants = await run_sends(lims, sends)
    assert_windows_hold(list(zip(sends, grants, strict=True)))
    # The global windows were really exercised, not trivially empty.
    assert max_in_window(grants, 1.0) > 1


async def test_matches_the_in_process_limiter_for_one_sender(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    # One sender at a time: both limiters grant the earliest instant the windows allow.
    fake_redis, fake_local = FakeTime(), FakeTime()
    shared = RedisRateLimiter(
        redis_client, prefix=redis_prefix, clock=fake_redis, sleep=fake_redis.sleep
    )
    local = RateLimiter(clock=fake_local, sleep=fake_local.sleep)
    rng = random.Random(3)
    last: tuple[str, str] | None = None
    for _ in range(150):
        platform, chat = rng.choice(
            [("telegram", "-1001"), ("telegram", "-1002"), ("telegram", "42"), ("slack", "C1")]
            + [("feishu", "oc_1")] * 2
        )
        # A chat's sends back to back, or any send a second or more after the last one:
        # a chat's next grant otherwise counts from now (see the next test).
        step = rng.choice([0.0, 0.0, 1.0, 5.0] if (platform, chat) == last else [1.0, 1.5, 5.0])
        last = (platform, chat)
        fake_redis.now += step
        fake_local.now += step
        got = await shared.acquire_keys(limits_for(platform, chat))
        want = await local.acquire_keys(limits_for(platform, chat))
        assert got == pytest.approx(want, abs=1e-6)
    assert shared.waited == pytest.approx(local.waited, abs=1e-4)


async def test_a_chat_s_next_send_is_a_period_after_the_last_one_could_have_left(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    # The platform spaces arrivals: a send that left late (a busy loop) must push the
    # chat's next one, or the two arrive less than a period apart (a 429).
    fake = FakeTime()
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix, clock=fake, sleep=fake.sleep)
    first = await limiter.acquire_keys(limits_for("telegram", "42"))
    fake.now += 0.2  # the first send went out (and was answered) 0.2 s after its grant
    second = await limiter.acquire_keys(limits_for("telegram", "42"))
    assert second == pytest.approx(first + 1.2, abs=1e-6)
    # Another chat, and the overall windows, are not held back by it.
    other = await limiter.acquire_keys(limits_for("telegram", "43"))
    assert other == pytest.approx(fake.now, abs=1e-6)
    # Once a period has passed since the last grant, nothing is added.
    fake.now = second + 3.0
    assert await limiter.acquire_keys(limits_for("telegram", "42")) == pytest.approx(fake.now)


async def test_sends_asked_together_share_one_script_call(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    fake = FakeTime(advance=False)
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix, clock=fake, sleep=fake.sleep)
    chats = [str(500 + i) for i in range(40)] + ["-1009", "-1009"]
    grants = await asyncio.gather(*(limiter.acquire_keys(limits_for("telegram", c)) for c in chats))
    assert limiter.calls == 1
    # The same grants as one call each, in the order asked: 30 in the first second, the
    # overall 1/30 s spacing, and the group's second send a period after its first.
    sequential = RedisRateLimiter(
        redis_client, prefix=redis_prefix + "seq:", clock=fake, sleep=fake.sleep
    )
    one_by_one = [await sequential.acquire_keys(limits_for("telegram", c)) for c in chats]
    assert grants == pytest.approx(one_by_one, abs=1e-6)
    assert sequential.calls == len(chats)
    assert grants[-1] >= grants[-2] + 1.0
    assert_windows_hold(
        [(limits_for("telegram", c), at) for c, at in zip(chats, grants, strict=True)]
    )


async def test_one_chat_is_spaced_by_its_period(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    fake = FakeTime()
    start = fake.now
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix, clock=fake, sleep=fake.sleep)
    grants = [await limiter.acquire_keys(limits_for("telegram", "42")) for _ in range(4)]
    assert grants == pytest.approx([start, start + 1, start + 2, start + 3], abs=1e-6)
    assert fake.sleeps == pytest.approx([1.0, 1.0, 1.0], abs=1e-6)
    assert limiter.waited == pytest.approx(3.0, abs=1e-6)


async def test_a_groups_21st_send_within_a_minute_waits_for_the_window(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    fake = FakeTime()
    start = fake.now
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix, clock=fake, sleep=fake.sleep)
    grants = [await limiter.acquire_keys(limits_for("telegram", "-1009")) for _ in range(22)]
    # 1/s in the chat for the first 20, then the group's 20/min: the 21st waits until the
    # 1st leaves the minute, the 22nd until the 2nd does.
    assert grants[:20] == pytest.approx([start + i for i in range(20)], abs=1e-6)
    assert grants[20] == pytest.approx(start + 60, abs=1e-6)
    assert grants[21] == pytest.approx(start + 61, abs=1e-6)


async def test_grants_on_a_key_are_fifo(workers: list[aioredis.Redis], redis_prefix: str) -> None:
    # The clock stands still, so reservations pile up in the future.
    fake = FakeTime(advance=False)
    start = fake.now
    first, second = limiters(workers[:2], redis_prefix, fake)
    strict: Keys = [("k", (Limit(2, 1.0),))]
    grants = [await (first, second)[i % 2].acquire_keys(strict) for i in range(8)]
    assert grants == sorted(grants)
    assert grants == pytest.approx([start + i // 2 for i in range(8)], abs=1e-6)
    # A send whose own limit on "k" would allow it now still queues behind the reservations.
    loose: Keys = [("k", (Limit(100, 1.0),)), ("other", (Limit(1, 1.0),))]
    later = await second.acquire_keys(loose)
    assert later >= grants[-1]
    assert later == pytest.approx(start + 3, abs=1e-6)


async def test_keys_expire_and_old_entries_are_trimmed(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    fake = FakeTime(advance=False)
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix, clock=fake, sleep=fake.sleep)
    for _ in range(25):
        await limiter.acquire_keys(limits_for("telegram", "-1007"))
    names = {k async for k in redis_client.scan_iter(match=f"{redis_prefix}rate:*")}
    assert names == {
        f"{redis_prefix}rate:tg:chat:-1007",
        f"{redis_prefix}rate:tg:group:-1007",
        f"{redis_prefix}rate:tg:global",
    }
    longest = {"chat": 1.0, "group": 60.0, "global": 1.0}

    async def entries(name: str) -> list[float]:
        return [float(v) for v in (await redis_client.get(name) or "").split()]

    # Only as many instants as the key's largest count are kept.
    assert len(await entries(f"{redis_prefix}rate:tg:chat:-1007")) == 1
    assert len(await entries(f"{redis_prefix}rate:tg:group:-1007")) == 20
    assert len(await entries(f"{redis_prefix}rate:tg:global")) == 25
    for name in names:
        lead = max(await entries(name))
        lead -= fake.now
        span = longest[name.split(":")[-2] if "global" not in name else "global"]
        ttl = await redis_client.pttl(name)
        # A bit more than the lead plus the longest window, and not much more.
        assert (lead + span) * 1000 - 5000 < ttl <= (lead + span + 1.0) * 1000 + 1, name
    assert await redis_client.pttl(f"{redis_prefix}rate:tg:group:-1007") > 100_000


async def test_margin_widens_every_period(redis_client: aioredis.Redis, redis_prefix: str) -> None:
    fake = FakeTime()
    start = fake.now
    limiter = RedisRateLimiter(
        redis_client, prefix=redis_prefix, margin=0.5, clock=fake, sleep=fake.sleep
    )
    keys: Keys = [("m", (Limit(1, 1.0), Limit(2, 4.0)))]
    grants = [await limiter.acquire_keys(keys) for _ in range(3)]
    # 1 s becomes 1.5 s and 4 s becomes 6 s.
    assert grants == pytest.approx([start, start + 1.5, start + 6.0], abs=1e-6)
    with pytest.raises(ValueError, match="margin"):
        RedisRateLimiter(redis_client, prefix=redis_prefix, margin=-0.1)


async def test_acquire_uses_the_platforms_keys(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    fake = FakeTime()
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix, clock=fake, sleep=fake.sleep)
    await limiter.acquire_keys(limits_for("telegram", "42"))
    names = {k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")}
    assert names == {f"{redis_prefix}rate:tg:chat:42", f"{redis_prefix}rate:tg:global"}
    await limiter.acquire_keys(limits_for("telegram", "-1005"))
    names = {k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")}
    assert f"{redis_prefix}rate:tg:group:-1005" in names
    assert len(names) == 4
    # The same grant instant is recorded in all of a send's keys.
    overall = await redis_client.get(f"{redis_prefix}rate:tg:global")
    assert len(overall.split()) == 2
    assert overall.split()[-1] == await redis_client.get(f"{redis_prefix}rate:tg:group:-1005")
    assert limits_for("telegram", "-1005") == [
        ("tg:chat:-1005", TELEGRAM_PER_CHAT),
        ("tg:group:-1005", TELEGRAM_PER_GROUP),
        ("tg:global", TELEGRAM_GLOBAL),
    ]
    with pytest.raises(ConfigError, match="unknown platform"):
        adapter("carrier-pigeon")


async def test_without_a_clock_the_script_uses_redis_time(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix, sleep=record)
    keys: Keys = [("fresh", (Limit(1, 1.0),))]
    granted = await limiter.acquire_keys(keys)
    # A fresh key is granted at once, on the Redis server's clock (Unix seconds).
    assert slept == []
    assert limiter.waited == 0.0
    assert granted == pytest.approx(time.time(), abs=5.0)
    # The next send waits for the window (counted from now: the first may have left as
    # late as now), minus what the round trip already took.
    again = await limiter.acquire_keys(keys)
    assert again == pytest.approx(granted + 1.0, abs=0.05)
    assert again >= granted + 1.0
    assert len(slept) == 1
    assert 0.5 < slept[0] <= 1.0
    assert limiter.waited == pytest.approx(slept[0])


async def test_a_redis_failure_is_a_store_error_without_the_url() -> None:
    client = make_client("redis://paperdrop:pa55-w0rd@127.0.0.1:1/0")
    try:
        limiter = RedisRateLimiter(client, prefix="x:")
        with pytest.raises(StoreError) as info:
            await limiter.acquire_keys(limits_for("telegram", "42"))
    finally:
        await client.aclose()
    message = str(info.value)
    assert "rate limiter" in message
    assert "pa55-w0rd" not in message
    assert "redis://" not in message
    assert "\n" not in message


async def test_one_round_trip_per_acquire(
    redis_client: aioredis.Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeTime()
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix, clock=fake, sleep=fake.sleep)
    await limiter.acquire_keys(
        limits_for("telegram", "-1003")
    )  # warm-up: the script is loaded by now

    def calls(stats: dict[str, Any], command: str) -> int:
        return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))

    before = await redis_client.info("commandstats")
    sent: list[object] = []
    execute: Callable[..., Awaitable[Any]] = redis_client.execute_command

    async def counting(*args: Any, **options: Any) -> Any:
        sent.append(args[0])
        return await execute(*args, **options)

    monkeypatch.setattr(redis_client, "execute_command", counting)
    for _ in range(5):
        await limiter.acquire_keys(limits_for("telegram", "-1003"))
    monkeypatch.undo()
    after = await redis_client.info("commandstats")
    assert sent == ["EVALSHA"] * 5
    assert calls(after, "evalsha") - calls(before, "evalsha") == 5
    assert calls(after, "eval") == calls(before, "eval")
    assert fake.sleeps  # the sends did wait, still without another command
