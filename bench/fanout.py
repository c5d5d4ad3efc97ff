"""Fan-out benchmark: one morning's delivery through the job queue and N worker processes.

    uv run python bench/fanout.py --workers N[,N...] --chats C
        [--platforms telegram|telegram,slack] [--groups 0.2] [--papers 1] [--jobs 10]
        [--redis-url URL]

`--workers 1,2,4` runs the bench once per count, one after the other. Each run starts a
redis-server of its own (no persistence, on a free port) when `redis-server` is installed,
so that the commands counted are this run's only; `--redis-url` (or, without
redis-server, PAPERDROP_REDIS_URL, default redis://127.0.0.1:6379/0) uses a shared one
instead, where other clients' commands are counted too. Everything goes under a fresh key
prefix, deleted at the end. The parent process runs the fakes
(FakeTelegram, FakeSlack) with their rate limits ENFORCED on the real clock (Telegram:
1 msg/s per chat, 20/min per group, 30/s overall per bot token; Slack: 1/s per channel; a
request over a limit is answered 429), saves C subscriptions in a RedisStore (the
--groups share of the Telegram chats are groups, ids "-100..."; with several platforms the
chats are spread round-robin) and caches the day's brief of their profile, as if built
earlier (tests/delivery_helpers.built_brief, --papers papers: 1 gives one part per chat).

It then starts N real worker processes (`python -m bot.cli worker`, PAPERDROP_QUEUE=true,
PAPERDROP_WORKER_JOBS=--jobs), waits until each is up, and enqueues the chats as the
scheduler does (JobQueue.enqueue_push, chunks of 100): each job runs `push()` in a worker,
behind the fleet's shared Redis rate limiter. Measured from the enqueue to the last
message the fakes recorded:

- total time, throughput (msg/s) and time to the first message;
- the floor the limits impose and time/floor (target <= 1.2). Per Telegram bot token the
  floor is its messages / 30 s (or the per-chat 1/s, per-group 20/min spacing of one
  chat's parts, when larger); Slack has no overall limit, only 1/s per channel, so its
  floor is the spacing of one channel's parts. With several platforms the floor is the
  largest of them. A Telegram-only run is therefore capped at 30 msg/s whatever N is: more
  workers cannot beat the floor, they can only reach it. When the chats span several
  tokens or platforms, each has its own budget and throughput grows with N until the
  workers' CPU (or the slowest token's floor) becomes the bound;
- 429s seen by the fakes, messages lost and duplicated (the fakes' records against the
  expected (chat, part) pairs), chats recorded delivered in the Store (`is_delivered`);
- Redis commands per message: the delta of INFO stats `total_commands_processed` from the
  enqueue until the queue is empty. It counts commands, not round trips: each command of
  a pipeline counts (MULTI and EXEC too), and so does an EVALSHA and every redis.call
  inside its Lua script (the rate limiter's); the workers' idle queue polling is
  included. The commands that cost most per message follow (INFO commandstats deltas);
- peak memory (VmHWM of /proc/<pid>/status) of each worker process, read just before it
  is stopped with SIGTERM, and of the parent (which also holds the fakes' records).

Exits non-zero when a message was lost or duplicated, a chat is not recorded delivered,
the deadline was hit, or the ratio is above the target. Bounded: after 3 x floor + 60 s
the workers are killed and what was seen is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import os
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from pydantic import SecretStr

from bot.core.profiles import profile_for
from bot.delivery.deliver import is_delivered
from bot.delivery.push import render_for
from bot.platforms.slack.rules import PER_CHANNEL as SLACK_PER_CHANNEL
from bot.platforms.telegram.rules import GLOBAL as TELEGRAM_GLOBAL
from bot.platforms.telegram.rules import PER_CHAT as TELEGRAM_PER_CHAT
from bot.platforms.telegram.rules import PER_GROUP as TELEGRAM_PER_GROUP
from bot.runtime.queue import JobQueue
from digest.chatstate import put_day_brief
from digest.models import Subscription
from digest.store.redis import RedisStore
from tests.delivery_helpers import built_brief
from tests.fakes.slack_server import FakeSlack
from tests.fakes.telegram_server import FakeTelegram
from tests.platform_settings import make_settings

ROOT = Path(__file__).resolve().parents[1]
DAY = dt.date(2026, 6, 1)
TARGET_RATIO = 1.2
CHUNK = 100
READY_WAIT = 60.0  # seconds for a worker process to start
DRAIN_WAIT = 30.0  # seconds for the queue to empty after the last message
STOP_WAIT = 20.0  # seconds for a worker to exit after SIGTERM
POLL = 0.02  # seconds between looks at the fakes' records
MIN_SHOWN = 0.005  # commands per message below this are not listed


def telegram_floor(private: int, groups: int, parts: int) -> dict[str, float]:
    """The shortest time one Telegram bot token's limits allow, per limit."""
    overall = TELEGRAM_GLOBAL[0]
    per_chat = TELEGRAM_PER_CHAT[0]
    per_group = TELEGRAM_PER_GROUP[0]
    messages = (private + groups) * parts
    floors = {
        # N messages at 30/s: N / 30 seconds.
        "telegram overall 30/s": messages * overall.period / overall.count,
        # One chat's parts are spaced a second apart.
        "telegram per chat 1/s": (parts - 1) * per_chat.period / per_chat.count,
    }
    if groups:
        # A group gets 20 in any minute: every further 20 waits for the minute to pass.
        full, rest = divmod(parts - 1, per_group.count)
        floors["telegram per group 20/min"] = full * per_group.period + rest * per_chat.period
    return floors


def slack_floor(channels: int, parts: int) -> dict[str, float]:
    """Slack has no overall limit: one channel's parts, a second apart."""
    per_channel = SLACK_PER_CHANNEL[0]
    if not channels:
        return {}
    return {"slack per channel 1/s": (parts - 1) * per_channel.period / per_channel.count}


def make_subs(chats: int, platforms: list[str], group_share: float) -> list[Subscription]:
    """Chats spread round-robin over the platforms; a share of Telegram's are groups."""
    per_platform: dict[str, int] = collections.Counter(
        platforms[i % len(platforms)] for i in range(chats)
    )
    n_groups = round(per_platform.get("telegram", 0) * group_share)
    subs: list[Subscription] = []
    tg_seen = 0
    for i in range(chats):
        platform = platforms[i % len(platforms)]
        if platform == "telegram":
            chat_id = f"-100{7_000_000 + i}" if tg_seen < n_groups else str(100_000 + i)
            tg_seen += 1
        else:
            chat_id = f"C{900_000 + i}"
        subs.append(Subscription(platform=platform, chat_id=chat_id))  # type: ignore[arg-type]
    return subs


def _match_text(platform: str, text: str) -> str:
    """What identifies a part in the fakes' records: Telegram's visible text; Slack's
    record (blocks + fallback) is counted per channel instead."""
    return text if platform == "telegram" else ""


def vm_hwm_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


async def total_commands(client: aioredis.Redis) -> int:
    info = await client.info("stats")
    return int(info["total_commands_processed"])


async def command_calls(client: aioredis.Redis) -> collections.Counter[str]:
    """Calls per command so far (INFO commandstats; calls from Lua scripts included)."""
    info = await client.info("commandstats")
    return collections.Counter(
        {name.removeprefix("cmdstat_"): int(stat["calls"]) for name, stat in info.items()}
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class OwnRedis:
    """A redis-server of this run's own, on a free port, without persistence."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def __aenter__(self) -> OwnRedis:
        self.proc = await asyncio.create_subprocess_exec(
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        started = time.monotonic()
        while True:
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=0.5)
            try:
                if await client.ping():
                    return self
            except (OSError, aioredis.RedisError):
                if time.monotonic() - started > READY_WAIT:
                    raise
            finally:
                await client.aclose()
            await asyncio.sleep(0.05)

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


async def delete_prefix(client: aioredis.Redis, prefix: str) -> int:
    deleted = 0
    for pattern in (f"{prefix}*", f"arq:*{prefix}*"):
        batch: list[Any] = []
        async for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += await client.delete(*batch)
                batch = []
        if batch:
            deleted += await client.delete(*batch)
    return deleted


class Worker:
    """One `python -m bot.cli worker` process, its stderr in a file."""

    def __init__(self, index: int, env: dict[str, str], log_dir: Path) -> None:
        self.index = index
        self.env = env
        self.log_path = log_dir / f"worker-{index}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.hwm_kib: int | None = None
        self.exit_code: int | None = None
        self.killed = False

    async def start(self) -> None:
        with self.log_path.open("wb") as log:  # a file, not a pipe: a full pipe blocks
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "worker",
                cwd=ROOT,
                env=self.env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def ready(self) -> bool:
        return "worker on" in self.log_text()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self, *, kill: bool = False) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.hwm_kib = vm_hwm_kib(self.proc.pid)
            if kill:
                self.killed = True
                self.proc.send_signal(signal.SIGKILL)
            else:
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), STOP_WAIT)
            except TimeoutError:
                self.killed = True
                self.proc.send_signal(signal.SIGKILL)
                await self.proc.wait()
        self.exit_code = self.proc.returncode

    def problems(self) -> list[str]:
        """Lines of its stderr that say something went wrong."""
        words = ("Traceback", "ERROR", "WARNING", "Error", "warning:", "error:")
        return [line for line in self.log_text().splitlines() if any(w in line for w in words)]


async def run_all(args: argparse.Namespace) -> int:
    """One run per worker count; the worst exit status."""
    status = 0
    for n in args.workers:
        binary = shutil.which("redis-server")
        if args.redis_url or binary is None:
            url = args.redis_url or os.environ.get(
                "PAPERDROP_REDIS_URL", "redis://127.0.0.1:6379/0"
            )
            print(f"redis: {url} (shared: other clients' commands are counted too)")
            status = max(status, await run(args, n, url))
            continue
        async with OwnRedis(binary) as own:
            print(f"redis: a redis-server of this run's own on port {own.port}")
            status = max(status, await run(args, n, own.url))
    return status


async def run(args: argparse.Namespace, n_workers: int, redis_url: str) -> int:
    platforms: list[str] = args.platforms
    prefix = f"bench-fanout-{uuid.uuid4().hex[:10]}:"
    subs = make_subs(args.chats, platforms, args.groups)
    brief = built_brief(papers=args.papers)
    client = aioredis.Redis.from_url(redis_url)
    store = await RedisStore.from_url(redis_url, prefix)
    queue: JobQueue | None = None
    workers: list[Worker] = []
    try:
        async with AsyncExitStack() as stack:
            tg = slack = None
            if "telegram" in platforms:
                tg = await stack.enter_async_context(FakeTelegram(enforce_rate_limits=True))
            if "slack" in platforms:
                slack = await stack.enter_async_context(FakeSlack(enforce_rate_limits=True))
            settings_kw: dict[str, Any] = {}
            env = {
                **os.environ,
                "PAPERDROP_REDIS_URL": redis_url,
                "PAPERDROP_REDIS_PREFIX": prefix,
                "PAPERDROP_QUEUE": "true",
                "PAPERDROP_HTTP_PORT": "0",
                "PAPERDROP_WORKER_JOBS": str(args.jobs),
            }
            if tg is not None:
                settings_kw |= {
                    "telegram_token": SecretStr(tg.token),
                    "telegram_api_url": tg.base_url,
                }
                env |= {
                    "PAPERDROP_TELEGRAM_TOKEN": tg.token,
                    "PAPERDROP_TELEGRAM_API_URL": tg.base_url,
                }
            if slack is not None:
                settings_kw |= {
                    "slack_bot_token": SecretStr(slack.token),
                    "slack_api_url": slack.base_url,
                }
                env |= {
                    "PAPERDROP_SLACK_BOT_TOKEN": slack.token,
                    "PAPERDROP_SLACK_API_URL": slack.base_url,
                }
            settings = make_settings(
                redis_url=redis_url,
                redis_prefix=prefix,
                queue=True,
                http_port=0,
                **settings_kw,
            )

            # The chats and the day's brief of their profile(s), as if built earlier.
            expected: collections.Counter[tuple[str, str]] = collections.Counter()
            parts_of: dict[str, int] = {}
            cached: set[str] = set()
            for sub in subs:
                await store.save_subscription(sub)
                key = profile_for(sub, settings).key
                if key not in cached:
                    await put_day_brief(store, key, DAY, brief)
                    cached.add(key)
                messages = render_for(brief, sub)
                parts_of[sub.platform] = len(messages)
                for msg in messages:
                    expected[(sub.chat_id, _match_text(sub.platform, msg.text))] += 1
            n_msgs = sum(expected.values())
            tg_subs = [s for s in subs if s.platform == "telegram"]
            n_groups = sum(1 for s in tg_subs if s.chat_id.startswith("-"))
            floors: dict[str, float] = {}
            if tg_subs:
                floors |= telegram_floor(
                    len(tg_subs) - n_groups, n_groups, parts_of.get("telegram", 1)
                )
            floors |= slack_floor(
                sum(1 for s in subs if s.platform == "slack"), parts_of.get("slack", 1)
            )
            binding = max(floors, key=lambda k: floors[k])
            floor = floors[binding]
            deadline = floor * 3 + 60
            by_platform = collections.Counter(s.platform for s in subs)
            print(
                f"fan-out: {args.chats} chats ("
                + ", ".join(
                    f"{n} {p}" + (f" incl. {n_groups} groups" if p == "telegram" else "")
                    for p, n in by_platform.items()
                )
                + f"), {n_msgs} messages, {n_workers} worker process(es) x "
                f"{args.jobs} jobs; deadline {deadline:.0f}s after enqueue",
                flush=True,
            )

            with tempfile.TemporaryDirectory(prefix="paperdrop-fanout-") as tmp:
                workers = [Worker(i, env, Path(tmp)) for i in range(n_workers)]
                for w in workers:
                    await w.start()
                started_wait = time.monotonic()
                while not all(w.ready() for w in workers):
                    dead = [w for w in workers if not w.alive()]
                    if dead or time.monotonic() - started_wait > READY_WAIT:
                        for w in workers:
                            await w.stop(kill=True)
                        for w in dead or workers:
                            print(f"worker {w.index} did not start:\n{w.log_text()[-3000:]}")
                        return 2
                    await asyncio.sleep(0.1)
                startup = time.monotonic() - started_wait

                def recorded() -> list[tuple[str, str, float]]:
                    out = []
                    if tg is not None:
                        out += [(str(m.chat_id), m.text, m.time) for m in tg.messages]
                    if slack is not None:
                        out += [(m.channel, "", m.time) for m in slack.messages]
                    return out

                def count() -> int:
                    return (len(tg.messages) if tg else 0) + (len(slack.messages) if slack else 0)

                queue = JobQueue.from_settings(settings)
                commands_before = await total_commands(client)
                calls_before = await command_calls(client)
                t0 = time.monotonic()
                await queue.enqueue_push(DAY, subs, {"en"}, chunk=CHUNK)
                enqueued = time.monotonic() - t0
                timed_out = False
                while count() < n_msgs:
                    if time.monotonic() - t0 > deadline:
                        timed_out = True
                        break
                    if not any(w.alive() for w in workers):
                        break
                    await asyncio.sleep(POLL)
                seen_last = time.monotonic()
                drained = False
                while not timed_out and time.monotonic() - seen_last < DRAIN_WAIT:
                    depth = await queue.depth()
                    if depth["queued"] + depth["running"] == 0:
                        drained = True
                        break
                    await asyncio.sleep(0.2)
                commands = await total_commands(client) - commands_before
                calls = await command_calls(client)
                calls.subtract(calls_before)
                for w in workers:
                    await w.stop(kill=timed_out)

                records = recorded()
                got = collections.Counter((chat, text) for chat, text, _ in records)
                times = sorted(t for _, _, t in records)
                last_of = {
                    name: max((m.time for m in fake.messages), default=None)
                    for name, fake in (("telegram", tg), ("slack", slack))
                    if fake is not None
                }
                sent_of = {
                    name: len(fake.messages)
                    for name, fake in (("telegram", tg), ("slack", slack))
                    if fake is not None
                }
                rejected = [r for f in (tg, slack) if f is not None for r in f.rejections]
                problems = {w.index: w.problems() for w in workers}

            lost = sum(max(0, n - got[k]) for k, n in expected.items())
            duplicated = sum(max(0, n - expected[k]) for k, n in got.items() if k in expected)
            unexpected = sum(n for k, n in got.items() if k not in expected)
            delivered = 0
            for sub in subs:
                delivered += await is_delivered(store, sub, DAY)
    finally:
        for w in workers:
            await w.stop(kill=True)
        if queue is not None:
            await queue.close()
        await store.close()
        removed = await delete_prefix(client, prefix)
        await client.aclose()

    sent = len(records)
    elapsed = (times[-1] - t0) if times else time.monotonic() - t0
    first = (times[0] - t0) if times else float("nan")
    ratio = elapsed / floor if floor > 0 else float("inf")
    throughput = sent / elapsed if elapsed > 0 else 0.0
    parent_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    n429 = sum(1 for r in rejected if r.status == 429)
    other = len(rejected) - n429

    def row(name: str, value: str) -> None:
        print(f"  {name:<26}{value}")

    print(f"results ({n_workers} worker(s), {args.chats} chats, {'+'.join(platforms)})")
    row("total time", f"{elapsed:9.2f} s" + ("  (DEADLINE HIT)" if timed_out else ""))
    row("floor from limits", f"{floor:9.2f} s  ({binding})")
    for name, value in floors.items():
        if name != binding:
            row("", f"{value:9.2f} s  ({name})")
    row("ratio time/floor", f"{ratio:9.3f}    (target <= {TARGET_RATIO})")
    row("throughput", f"{throughput:9.2f} msg/s")
    if len(last_of) > 1:
        for name, last in last_of.items():
            took = (last - t0) if last is not None else float("nan")
            rate = sent_of[name] / took if last is not None and took > 0 else 0.0
            row(
                f"  {name} last message", f"{took:9.2f} s  ({sent_of[name]} msgs, {rate:.2f} msg/s)"
            )
    row("time to first message", f"{first:9.2f} s")
    row("enqueue took", f"{enqueued:9.2f} s  ({-(-len(subs) // CHUNK)} jobs of <= {CHUNK})")
    row("worker startup", f"{startup:9.2f} s  (before the enqueue; not timed)")
    row("messages expected", f"{n_msgs:9d}")
    row("messages recorded", f"{sent:9d}")
    row("messages lost", f"{lost:9d}")
    row("messages duplicated", f"{duplicated:9d}")
    row("unexpected messages", f"{unexpected:9d}")
    row("429s seen", f"{n429:9d}")
    row("other rejections", f"{other:9d}")
    row("chats delivered (Store)", f"{delivered:9d} / {len(subs)}")
    row("queue drained", "      yes" if drained else "       NO")
    if commands < 0:  # someone ran CONFIG RESETSTAT on this Redis during the run
        row("Redis commands / message", "      n/a    (the server's counter was reset)")
    else:
        row(
            "Redis commands / message",
            f"{commands / max(sent, 1):9.2f}    ({commands} commands; pipelined ones and "
            "those inside Lua scripts included)",
        )
        top = [(name, n / max(sent, 1)) for name, n in calls.most_common()]
        shown = [f"{name} {per:.2f}" for name, per in top if per >= MIN_SHOWN]
        for start in range(0, len(shown), 8):
            row("", "  " + ", ".join(shown[start : start + 8]))
    for w in workers:
        hwm = f"{w.hwm_kib / 1024:9.1f} MiB" if w.hwm_kib is not None else "        ?"
        end = "killed" if w.killed else f"exit {w.exit_code}"
        row(f"worker {w.index} peak RSS", f"{hwm}  (VmHWM; {end})")
    row("parent peak RSS", f"{parent_kib / 1024:9.1f} MiB  (runs the fakes)")
    row("redis keys removed", f"{removed:9d}")
    for index, lines in problems.items():
        if lines:
            print(f"  worker {index} stderr: {len(lines)} warning/error line(s), first ones:")
            for line in lines[:8]:
                print(f"    {line[:200]}")
    ok = not timed_out and lost == 0 and duplicated == 0 and unexpected == 0
    ok = ok and delivered == len(subs) and ratio <= TARGET_RATIO
    print("  result                    " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workers", default="1", help="worker processes; a list (1,2,4) runs each (default 1)"
    )
    parser.add_argument("--chats", type=int, default=1000, help="subscribed chats (default 1000)")
    parser.add_argument(
        "--platforms",
        default="telegram",
        help="comma-separated: telegram, slack (default telegram); chats round-robin",
    )
    parser.add_argument(
        "--groups", type=float, default=0.2, help="share of Telegram group chats (default 0.2)"
    )
    parser.add_argument(
        "--papers", type=int, default=1, help="papers in the brief (default 1: one part)"
    )
    parser.add_argument("--jobs", type=int, default=10, help="jobs per worker (default 10)")
    parser.add_argument(
        "--redis-url", default=None, help="use this Redis instead of a redis-server of its own"
    )
    args = parser.parse_args()
    args.platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    try:
        args.workers = [int(n) for n in args.workers.split(",") if n.strip()]
    except ValueError:
        parser.error("--workers: a number or a comma-separated list of numbers")
    if not args.platforms or set(args.platforms) - {"telegram", "slack"}:
        parser.error("--platforms: telegram and/or slack")
    if (
        args.chats < 1
        or not args.workers
        or min(args.workers) < 1
        or args.papers < 1
        or args.jobs < 1
    ):
        parser.error("--chats, --workers, --papers and --jobs must be >= 1")
    if not 0 <= args.groups <= 1:
        parser.error("--groups must be within 0..1")
    return asyncio.run(run_all(args))


if __name__ == "__main__":
    sys.exit(main())
