"""The send limiter: each platform's windows hold under many concurrent tasks."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.core.ratelimit import Limit, RateLimiter
from bot.platforms import adapter
from bot.platforms.telegram.rules import GLOBAL as TELEGRAM_GLOBAL
from bot.platforms.telegram.rules import PER_GROUP as TELEGRAM_PER_GROUP
from digest.errors import ConfigError
from tests.delivery_helpers import VirtualClock, limits_for, max_in_window


def make() -> tuple[RateLimiter, VirtualClock]:
    clock = VirtualClock()
    return RateLimiter(clock=clock, sleep=clock.sleep), clock


async def grant_all(limiter: RateLimiter, sends: list[tuple[str, str]], **kw: str) -> list[float]:
    return list(
        await asyncio.gather(*(limiter.acquire_keys(limits_for(p, c, **kw)) for p, c in sends))  # type: ignore[arg-type]
    )


async def test_telegram_overall_limit_across_many_private_chats() -> None:
    limiter, clock = make()
    start = clock.now
    grants = await grant_all(limiter, [("telegram", str(1000 + i)) for i in range(95)])
    assert max_in_window(grants, 1.0) == TELEGRAM_GLOBAL[0].count
    # 95 sends at 30/s, paced evenly: the last one leaves 94/30 s after the first.
    elapsed = max(grants) - start
    assert elapsed == pytest.approx(94 / 30, abs=0.01)


async def test_same_chat_is_spaced_one_second_and_others_are_not_held_up() -> None:
    limiter, clock = make()
    start = clock.now

    async def chat_a() -> list[float]:
        return [await limiter.acquire_keys(limits_for("telegram", "42")) for _ in range(4)]

    others = grant_all(limiter, [("telegram", str(i)) for i in range(1, 21)])
    a, rest = await asyncio.gather(chat_a(), others)
    gaps = [b - x for x, b in itertools.pairwise(a)]
    assert all(g >= 1.0 - 1e-6 for g in gaps), gaps
    # The other 20 chats fit in the first overall second: chat A's waits must not block them.
    assert max(rest) - start < 1.0 < a[-1] - start


async def test_group_twenty_per_minute() -> None:
    limiter, clock = make()
    start = clock.now
    grants = [await limiter.acquire_keys(limits_for("telegram", "-100123")) for _ in range(25)]
    assert max_in_window(grants, 60.0) == TELEGRAM_PER_GROUP[0].count
    assert max_in_window(grants, 1.0) == 1
    # The 21st send waits for the first to leave the minute window.
    assert grants[20] - grants[0] >= 60.0 - 1e-6
    assert grants[19] - start <= 19.0 + 1e-6


async def test_private_chat_has_no_group_window() -> None:
    names = [k for k, _ in limits_for("telegram", "12345")]
    assert names == ["tg:chat:12345", "tg:global"]
    names = [k for k, _ in limits_for("telegram", "-100777")]
    assert "tg:group:-100777" in names


@pytest.mark.parametrize(
    ("mode", "per_second"),
    [("webhook", 5), ("app", 5)],
)
async def test_feishu_five_per_second(mode: str, per_second: int) -> None:
    limiter, _ = make()
    grants = await grant_all(limiter, [("feishu", "oc_1")] * 12, feishu_mode=mode)
    assert max_in_window(grants, 1.0) == per_second


async def test_feishu_webhook_hundred_per_minute() -> None:
    limiter, _ = make()
    grants = [
        await limiter.acquire_keys(limits_for("feishu", "oc_9", feishu_mode="webhook"))
        for _ in range(110)
    ]
    assert max_in_window(grants, 60.0) == 100
    assert max_in_window(grants, 1.0) == 5


async def test_slack_one_per_channel_second_channels_independent() -> None:
    limiter, clock = make()
    start = clock.now
    grants = await grant_all(limiter, [("slack", "C1")] * 3 + [("slack", "C2")] * 3)
    c1, c2 = grants[:3], grants[3:]
    assert max_in_window(c1, 1.0) == 1 and max_in_window(c2, 1.0) == 1
    assert max(grants) - start == pytest.approx(2.0, abs=0.01)


async def test_margin_widens_periods() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, margin=0.1)
    a = await limiter.acquire_keys(limits_for("slack", "C1"))
    b = await limiter.acquire_keys(limits_for("slack", "C1"))
    assert b - a == pytest.approx(1.1, abs=1e-6)


async def test_custom_keys_and_bad_limits() -> None:
    limiter, _ = make()
    key = ("custom", (Limit(2, 10.0),))
    grants = [await limiter.acquire_keys([key]) for _ in range(5)]
    assert max_in_window(grants, 10.0) == 2
    with pytest.raises(ValueError):
        Limit(0, 1.0)
    with pytest.raises(ConfigError, match="unknown platform"):
        adapter("irc")


async def test_idle_keys_are_forgotten_to_bound_memory() -> None:
    limiter, clock = make()
    for i in range(5000):
        await limiter.acquire_keys(limits_for("slack", f"C{i}"))
        clock.now += 0.01
    # Every channel's window is long expired except the last few hundred.
    assert len(tuple(limiter.known_keys())) < 4200
