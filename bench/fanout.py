"""Fan-out benchmark: one morning's delivery to many Telegram chats, at the rate limits.

    uv run python bench/fanout.py [--chats 1000] [--parts 1] [--groups 0.2]

Runs the local FakeTelegram with its rate limits ENFORCED on the real clock (1 msg/s per
chat, 20/min per group, 30/s overall: a request over a limit is answered 429), and
delivers a short brief to every chat through the real path: TelegramSender
(python-telegram-bot) + the shared RateLimiter + `deliver()` with a real SQLite Store in
a temporary directory. Prints the time taken, the floor the limits impose, their ratio,
the 429s seen, messages lost and duplicated (the fake's records against what was
expected) and peak memory. Exits non-zero when a message was lost or duplicated, or the
ratio is above the target. Bounded: gives up after a deadline derived from the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from pydantic import SecretStr

from bot.delivery import MAX_CONCURRENT_CHATS, deliver
from bot.platforms.base import OutMessage
from bot.platforms.telegram.send import TelegramSender
from bot.ratelimit import TELEGRAM_GLOBAL, TELEGRAM_PER_CHAT, TELEGRAM_PER_GROUP, RateLimiter
from digest.models import Subscription
from digest.settings import Settings
from digest.store import SQLiteStore
from tests.fakes.telegram_server import FakeTelegram

DAY = dt.date(2026, 6, 1)
TARGET_RATIO = 1.2
# Widen the limiter's windows a little: the fake counts arrival times, and requests that
# leave exactly one window apart can arrive a hair closer together.
LIMITER_MARGIN = 0.03


def floor_seconds(private: int, groups: int, parts: int) -> tuple[float, str]:
    """The shortest time the limits allow for the whole fan-out, and which limit sets it."""
    overall = TELEGRAM_GLOBAL[0]
    per_chat = TELEGRAM_PER_CHAT[0]
    per_group = TELEGRAM_PER_GROUP[0]
    messages = (private + groups) * parts
    floors = {
        # N messages at 30/s: N / 30 seconds.
        "overall 30/s": messages * overall.period / overall.count,
        # One chat's parts are spaced a second apart.
        "per chat 1/s": (parts - 1) * per_chat.period / per_chat.count,
    }
    if groups:
        # A group gets 20 in any minute: every further 20 waits for the minute to pass.
        full, rest = divmod(parts - 1, per_group.count)
        floors["per group 20/min"] = full * per_group.period + rest * per_chat.period
    name = max(floors, key=lambda k: floors[k])
    return floors[name], name


def messages_for(chat_id: str, parts: int) -> list[OutMessage]:
    return [
        OutMessage(
            platform="telegram",
            part=i,
            method="sendMessage",
            payload={
                "text": f"<b>AI research brief</b> · {DAY} · part {i + 1}/{parts} · {chat_id}",
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
            },
            text=f"AI research brief · {DAY} · part {i + 1}/{parts} · {chat_id}",
        )
        for i in range(parts)
    ]


async def run(chats: int, parts: int, group_share: float) -> int:
    n_groups = round(chats * group_share)
    subs = [
        Subscription(platform="telegram", chat_id=f"-100{7_000_000 + i}")
        if i < n_groups
        else Subscription(platform="telegram", chat_id=str(100_000 + i))
        for i in range(chats)
    ]
    floor, binding = floor_seconds(chats - n_groups, n_groups, parts)
    deadline = max(60.0, floor * 3 + 30)
    expected = {(s.chat_id, p) for s in subs for p in range(parts)}

    with tempfile.TemporaryDirectory(prefix="paperdrop-bench-") as tmp:
        store = await SQLiteStore.open(Path(tmp) / "bench.sqlite3")
        async with FakeTelegram(enforce_rate_limits=True) as tg:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                telegram_token=SecretStr(tg.token),
                telegram_api_url=tg.base_url,
            )
            limiter = RateLimiter(margin=LIMITER_MARGIN)
            sender = TelegramSender(settings, limiter=limiter)
            for sub in subs:
                await store.save_subscription(sub)
            gate = asyncio.Semaphore(MAX_CONCURRENT_CHATS)

            async def one(sub: Subscription) -> bool:
                async with gate:
                    result = await deliver(
                        sub, DAY, messages_for(sub.chat_id, parts), store=store, sender=sender
                    )
                return result.complete

            print(
                f"fan-out: {chats} chats ({chats - n_groups} private, {n_groups} groups), "
                f"{parts} part(s) each = {len(expected)} messages; deadline {deadline:.0f}s",
                flush=True,
            )
            started = time.perf_counter()
            timed_out = False
            try:
                outcomes = await asyncio.wait_for(
                    asyncio.gather(*(one(s) for s in subs)), timeout=deadline
                )
            except TimeoutError:
                timed_out = True
                outcomes = []
            elapsed = time.perf_counter() - started
            await sender.aclose()

            counts: collections.Counter[tuple[str, int]] = collections.Counter()
            for m in tg.messages:
                part = int(m.text.split("part ", 1)[1].split("/", 1)[0]) - 1
                counts[(str(m.chat_id), part)] += 1
            rejected_429 = sum(1 for r in tg.rejections if r.status == 429)
            other_rejections = sum(1 for r in tg.rejections if r.status != 429)
        recorded = 0
        for sub in subs:
            recorded += len(await store.delivered_parts(sub.key, DAY))
        await store.close()

    lost = len(expected - set(counts))
    duplicated = sum(c - 1 for c in counts.values() if c > 1)
    unexpected = len(set(counts) - expected)
    ratio = elapsed / floor if floor > 0 else float("inf")
    _, peak = tracemalloc.get_traced_memory()
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    print(f"total time          {elapsed:8.2f} s" + ("  (DEADLINE HIT)" if timed_out else ""))
    print(f"floor from limits   {floor:8.2f} s  ({binding})")
    print(f"ratio               {ratio:8.3f}    (target <= {TARGET_RATIO})")
    print(f"throughput          {len(tg.messages) / elapsed:8.2f} msg/s")
    print(f"429s seen           {rejected_429:8d}")
    print(f"other rejections    {other_rejections:8d}")
    print(f"chats complete      {sum(outcomes):8d} / {chats}")
    print(f"messages expected   {len(expected):8d}")
    print(f"messages lost       {lost:8d}")
    print(f"messages duplicated {duplicated:8d}")
    print(f"unexpected messages {unexpected:8d}")
    print(f"store records       {recorded:8d}")
    print(f"limiter waited      {limiter.waited:8.1f} s (summed over tasks)")
    print(f"peak memory         {peak / 2**20:8.1f} MiB (tracemalloc), {maxrss_mb:.1f} MiB max RSS")
    ok = not timed_out and lost == 0 and duplicated == 0 and unexpected == 0
    ok = ok and recorded == len(expected) and ratio <= TARGET_RATIO
    print("result              " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=1000, help="subscribed chats (default 1000)")
    parser.add_argument("--parts", type=int, default=1, help="messages per chat (default 1)")
    parser.add_argument(
        "--groups", type=float, default=0.2, help="share of group chats (default 0.2)"
    )
    args = parser.parse_args()
    if args.chats < 1 or args.parts < 1 or not 0 <= args.groups <= 1:
        parser.error("--chats and --parts must be >= 1, --groups within 0..1")
    tracemalloc.start()
    return asyncio.run(run(args.chats, args.parts, args.groups))


if __name__ == "__main__":
    sys.exit(main())
