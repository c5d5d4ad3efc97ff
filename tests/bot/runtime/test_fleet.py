"""A fleet on one real Redis: serve replicas enqueue, `paperdrop worker`s deliver.

Leaders race and one enqueues; a worker killed (SIGKILL, a real process) mid-job leaves
every chat delivered exactly once after another takes over; several workers keep the
platform's limits together (the fake answers 429 to a send over them); four workers build
each (profile, language) brief once; an LLM-heavy question received by serve is answered
by a worker, once, while short ones are answered at once by serve itself.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import os
import signal
import sys
from collections.abc import AsyncIterator, Collection, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from bot.chat.conversation import Conversation
from bot.core.chat import Incoming
from bot.core.profiles import profile_for
from bot.delivery import build
from bot.delivery.deliver import is_delivered
from bot.delivery.push import render_for
from bot.platforms.telegram.send import TelegramSender
from bot.runtime.queue import JobQueue
from bot.runtime.ratelimit_redis import RedisCommandLimiter
from bot.runtime.scheduler import Scheduler
from bot.runtime.worker import RunningWorker, start_worker, stop_worker
from digest.chatstate import put_day_brief
from digest.models import Brief, Language, Subscription
from digest.profile import Profile
from digest.settings import Settings
from digest.store.base import Store
from digest.store.redis import RedisStore
from tests.delivery_helpers import built_brief
from tests.fakes.arxiv_atom import entries_from_hf_fixture
from tests.fakes.arxiv_server import ArxivServer
from tests.fakes.sources_server import FakeGitHub, FakeHF
from tests.fakes.telegram_server import FakeTelegram
from tests.paths import ROOT
from tests.platform_settings import make_settings
from tests.waiting import eventually

pytestmark = pytest.mark.redis

DAY = dt.date(2026, 5, 31)
# After everyone's 08:00 in UTC: every subscription below is due.
NOW = dt.datetime(2026, 5, 31, 9, 0, tzinfo=dt.UTC)
PAPER = "2605.06663"  # EMO, in the Hugging Face fixture
WAIT = 30.0  # seconds: the bound on every wait for the fleet


def fleet_settings(redis_url: str, prefix: str, tg: FakeTelegram, **extra: Any) -> Settings:
    return make_settings(
        redis_url=redis_url,
        redis_prefix=prefix,
        queue=True,
        telegram_token=SecretStr(tg.token),
        telegram_api_url=tg.base_url,
        http_port=0,
        http_retries=0,
        **extra,
    )


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(enforce_rate_limits=True) as server:
        yield server


@pytest.fixture
async def redis_store(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisStore]:
    store = await RedisStore.from_url(redis_url, redis_prefix)
    yield store
    await store.close()


async def subscribe(
    store: Store, chats: Sequence[str], language: Language = "en"
) -> list[Subscription]:
    subs = [Subscription(platform="telegram", chat_id=c, language=language) for c in chats]
    for sub in subs:
        await store.save_subscription(sub)
    return subs


async def cache_briefs(
    store: Store, settings: Settings, subs: Sequence[Subscription], papers: int = 1
) -> int:
    """The day's brief of each profile, as if built earlier; the parts each chat gets."""
    parts = 0
    for sub in subs:
        brief = built_brief(papers=papers, language=sub.language)
        await put_day_brief(store, profile_for(sub, settings).key, DAY, brief)
        parts = len(render_for(brief, sub))
    return parts


def received(tg: FakeTelegram) -> collections.Counter[str]:
    """Messages each chat got, counted by their text (a repeat counts twice)."""
    return collections.Counter(f"{m.chat_id}|{m.text}" for m in tg.messages)


async def workers(settings: Settings, store: Store, n: int, **kw: Any) -> list[RunningWorker]:
    return [
        await start_worker(settings, store, http=False, poll_delay=0.02, **kw) for _ in range(n)
    ]


async def stop_all(running: Sequence[RunningWorker]) -> None:
    for worker in running:
        await stop_worker(worker, grace=1.0)


async def queue_empty(queue: JobQueue) -> bool:
    depth = await queue.depth()
    return depth["queued"] + depth["running"] == 0


# --- scheduling ----------------------------------------------------------------------------


async def test_two_leaders_race_and_each_chat_is_enqueued_once(
    redis_store: RedisStore, redis_url: str, redis_prefix: str, tg: FakeTelegram
) -> None:
    settings = fleet_settings(redis_url, redis_prefix, tg)
    await subscribe(redis_store, [str(100 + i) for i in range(7)])
    queues = [JobQueue.from_settings(settings) for _ in range(2)]
    schedulers = [
        Scheduler(settings, redis_store, owner=f"replica-{i}", queue=q)
        for i, q in enumerate(queues)
    ]
    try:
        ticks = await asyncio.gather(*(s.run_once(NOW) for s in schedulers))
        assert sorted(t.leader for t in ticks) == [False, True]
        leader = next(t for t in ticks if t.leader)
        assert len(leader.due) == 7
        assert (await queues[0].depth())["queued"] == 1  # one job: the chats fit one chunk
        # A later tick (the same leader) while the job waits enqueues nothing again.
        again = await schedulers[ticks.index(leader)].run_once(NOW)
        assert again.leader and again.due == []
        assert (await queues[0].depth())["queued"] == 1
        assert tg.messages == []  # serve only enqueues: no worker ran
    finally:
        for q in queues:
            await q.close()


async def test_claims_a_chunk_at_once_and_each_chat_once_until_released(
    redis_url: str, redis_prefix: str, redis_client: aioredis.Redis, tg: FakeTelegram
) -> None:
    queue = JobQueue.from_settings(fleet_settings(redis_url, redis_prefix, tg))
    try:
        chats = [f"telegram:{700 + i}" for i in range(5)]
        racing = await asyncio.gather(queue.claim(DAY, chats[:3]), queue.claim(DAY, chats[1:]))
        # Every chat claimed exactly once, whichever call came first.
        assert sorted(racing[0] + racing[1]) == chats
        assert await queue.claim(DAY, chats) == []
        assert await queue.claim(DAY + dt.timedelta(days=1), chats[:1]) == chats[:1]
        key = queue.claims_key(DAY)
        assert 0 < await redis_client.pttl(key) <= 3_600_000
        await queue.release_claims(DAY, chats[:2])
        assert await queue.claim(DAY, chats) == chats[:2]
        # A claim past its hour counts as none (its score is when it expires).
        await redis_client.zadd(key, {chats[4]: 1})
        assert await queue.claim(DAY, chats) == chats[4:]
        # Enqueueing claims them, one job per chunk.
        subs = [Subscription(platform="telegram", chat_id=str(800 + i)) for i in range(5)]
        assert await queue.enqueue_push(DAY, subs, {"en"}, chunk=2) == [s.key for s in subs]
        assert (await queue.depth())["queued"] == 3
        assert await queue.enqueue_push(DAY, subs, {"en"}, chunk=2) == []
    finally:
        await queue.close()


# --- a worker dies --------------------------------------------------------------------------


async def test_a_killed_worker_s_job_is_finished_by_another_exactly_once(
    redis_store: RedisStore,
    redis_url: str,
    redis_prefix: str,
    tg: FakeTelegram,
    redis_client: aioredis.Redis,
    tmp_path: Path,
) -> None:
    settings = fleet_settings(redis_url, redis_prefix, tg)
    subs = await subscribe(redis_store, [str(200 + i) for i in range(12)])
    parts = await cache_briefs(redis_store, settings, subs)
    queue = JobQueue.from_settings(settings)
    await queue.enqueue_push(DAY, subs, {"en"})
    tg.hold_sends_after(5)  # the 6th send and later hang: the worker is killed meanwhile

    env = {
        **os.environ,
        "PAPERDROP_REDIS_URL": redis_url,
        "PAPERDROP_REDIS_PREFIX": redis_prefix,
        "PAPERDROP_QUEUE": "true",
        "PAPERDROP_TELEGRAM_TOKEN": tg.token,
        "PAPERDROP_TELEGRAM_API_URL": tg.base_url,
        "PAPERDROP_HTTP_PORT": "0",
        "PAPERDROP_HTTP_RETRIES": "0",
    }
    log_file = tmp_path / "worker.log"  # a file, not a pipe: a full pipe would block it
    log = log_file.open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "worker",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    try:
        await eventually(lambda: tg.held > 0, "the worker sending its 6th message")
    except TimeoutError:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        log.close()
        raise AssertionError(log_file.read_text(errors="replace")[-3000:]) from None
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    log.close()
    assert len(tg.messages) == 5
    tg.drop_held()  # those sends were never accepted

    # Time passes: the dead worker's job lease and its chats' leases run out.
    for pattern in ("arq:in-progress:" + redis_prefix + "*", redis_prefix + "lock:deliver:*"):
        async for key in redis_client.scan_iter(match=pattern):
            await redis_client.pexpire(key, 1)

    [taker] = await workers(settings, redis_store, 1)
    try:
        await eventually(
            lambda: len(tg.messages) == len(subs) * parts, "every part delivered after takeover"
        )
        await eventually(lambda: queue_empty(queue), "the job finished")
    finally:
        await stop_all([taker])
        await queue.close()
    counts = received(tg)
    assert all(n == 1 for n in counts.values()), [k for k, n in counts.items() if n > 1]
    assert {m.chat_id for m in tg.messages} == {int(s.chat_id) for s in subs}
    for sub in subs:
        assert await is_delivered(redis_store, sub, DAY)
    assert [r for r in tg.rejections if r.status == 429] == []


# --- shared limits ---------------------------------------------------------------------------


async def test_three_workers_keep_the_platform_s_limits_together(
    redis_store: RedisStore, redis_url: str, redis_prefix: str, tg: FakeTelegram
) -> None:
    # Two jobs at a time per worker: the seven jobs spread over all three.
    settings = fleet_settings(redis_url, redis_prefix, tg, worker_jobs=2)
    # Private chats and groups, several parts each: per-chat 1/s, 30/s overall, and the
    # chunks spread over all three workers.
    subs = await subscribe(redis_store, [str(300 + i) for i in range(12)] + ["-1001", "-1002"])
    parts = await cache_briefs(redis_store, settings, subs, papers=5)
    assert parts == 3
    queue = JobQueue.from_settings(settings)
    running = await workers(settings, redis_store, 3)
    try:
        await queue.enqueue_push(DAY, subs, {"en"}, chunk=2)
        await eventually(lambda: len(tg.messages) == len(subs) * parts, "every part delivered")
        await eventually(lambda: queue_empty(queue), "every job finished")
    finally:
        await stop_all(running)
        await queue.close()
    assert [r for r in tg.rejections if r.status == 429] == []  # no send over a limit
    assert all(n == 1 for n in received(tg).values())
    # The work really was shared: every worker ran jobs.
    assert all(w.worker.jobs_complete > 0 for w in running)


# --- one build per brief ---------------------------------------------------------------------


async def test_four_workers_build_each_profile_and_language_once(
    redis_store: RedisStore,
    redis_url: str,
    redis_prefix: str,
    tg: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(build, "BUILD_POLL", 0.02)
    # One job at a time per worker, so the six jobs spread over all four.
    settings = fleet_settings(redis_url, redis_prefix, tg, worker_jobs=1)
    subs = await subscribe(redis_store, [str(400 + i) for i in range(6)], "en")
    subs += await subscribe(redis_store, [str(500 + i) for i in range(6)], "zh")
    builds: collections.Counter[str] = collections.Counter()
    seen_languages: list[frozenset[str]] = []
    release = asyncio.Event()

    async def builder(
        settings: Settings,
        profile: Profile,
        day: dt.date,
        *,
        store: Store,
        readers: Sequence[str] = (),
        languages: Collection[Language] | None = None,
    ) -> Brief:
        builds[profile.key] += 1
        seen_languages.append(frozenset(languages or ()))
        await release.wait()  # slow: the other workers get there meanwhile
        return built_brief(papers=1, language=profile.language)

    queue = JobQueue.from_settings(settings)
    running = await workers(settings, redis_store, 4, builder=builder)
    try:
        await queue.enqueue_push(DAY, subs, {"en", "zh"}, chunk=2)
        # Six jobs on four workers: all four are busy while the two builds run.
        await eventually(lambda: sum(w.state.running for w in running) == 4, "4 jobs running")
        await eventually(lambda: sum(builds.values()) == 2, "two builds started")
        release.set()
        await eventually(lambda: queue_empty(queue), "every job finished")
    finally:
        release.set()
        await stop_all(running)
        await queue.close()
    en, zh = (profile_for(subs[0], settings).key, profile_for(subs[-1], settings).key)
    assert builds == {en: 1, zh: 1}
    assert seen_languages == [frozenset({"en", "zh"})] * 2  # one summary call for both
    for sub in subs:
        assert await is_delivered(redis_store, sub, DAY)


# --- conversations through the queue -------------------------------------------------------


async def test_a_heavy_question_is_answered_by_a_worker_once_a_short_one_by_serve(
    redis_store: RedisStore, redis_url: str, redis_prefix: str, tg: FakeTelegram
) -> None:
    async with FakeHF() as hf, FakeGitHub.for_fixture() as gh:
        with ArxivServer(entries_from_hf_fixture()) as arxiv:
            settings = fleet_settings(
                redis_url,
                redis_prefix,
                tg,
                language="en",
                hf_base_url=hf.base_url,
                github_api_url=gh.base_url,
                arxiv_api_url=arxiv.url,
                arxiv_delay=0,
            )
            await chat_about_a_paper(settings, redis_store, tg)


async def chat_about_a_paper(settings: Settings, store: Store, tg: FakeTelegram) -> None:
    queue = JobQueue.from_settings(settings)
    serve = Conversation(settings, store, jobs=queue)
    sender = TelegramSender(settings)
    running = await workers(settings, store, 1)

    def says(text: str, event: str) -> Incoming:
        return Incoming(platform="telegram", chat_id="42", user_id="7", text=text, event_id=event)

    try:
        # /help costs nothing: serve answers it at once.
        [help_answer] = await serve.respond(says("/help", "u1"), sender)
        assert "/paper" in help_answer.text
        assert len(tg.by_chat(42)) == 1
        # /paper (LLM-heavy) is a job: serve returns at once and a worker answers; the
        # platform's retry of the same update (or another replica's copy) is not a second job.
        assert await serve.respond(says(f"/paper {PAPER}", "u2"), sender) == []
        assert await serve.respond(says(f"/paper {PAPER}", "u2"), sender) == []
        await eventually(lambda: len(tg.by_chat(42)) >= 2, "the worker's paper card")
        await eventually(lambda: queue_empty(queue), "the answer job finished")
    finally:
        await stop_all(running)
        await serve.close(0)
        await sender.aclose()
        await queue.close()
    assert len(tg.by_chat(42)) == 2
    card = tg.by_chat(42)[1].text
    assert PAPER in card and "EMO" in card
    assert running[0].worker.jobs_complete == 1


# --- operating a worker ------------------------------------------------------------------------


async def test_a_worker_answers_its_probes_and_shows_the_queue_in_metrics(
    redis_store: RedisStore, redis_url: str, redis_prefix: str, tg: FakeTelegram
) -> None:
    import aiohttp

    settings = fleet_settings(redis_url, redis_prefix, tg)
    subs = await subscribe(redis_store, ["600", "601", "602"])
    queue = JobQueue.from_settings(settings)
    await queue.enqueue_push(DAY, subs, {"en"}, chunk=1)  # 3 jobs, no worker yet
    running = await start_worker(settings, redis_store, poll_delay=0.02)
    running.worker.allow_pick_jobs = False  # hold the jobs, so the depth is known
    assert running.address is not None
    base = f"http://{running.address[0]}:{running.address[1]}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200
            async with http.get(f"{base}/readyz") as r:
                assert r.status == 200 and (await r.json())["platforms"] == ["telegram"]
            async with http.get(f"{base}/metrics") as r:
                text = await r.text()
            assert 'paperdrop_queue_jobs{state="queued"} 3.0' in text
            running.stopping = True  # as on SIGTERM: not ready any more
            async with http.get(f"{base}/readyz") as r:
                assert r.status == 503 and "shutting down" in (await r.json())["reasons"]
    finally:
        await stop_worker(running, grace=1.0)
        await queue.close()


async def test_command_limits_are_the_same_whichever_process_answers(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    now = [1000.0]

    def limiter() -> RedisCommandLimiter:  # one per process: a serve replica, a worker
        return RedisCommandLimiter(
            redis_client,
            prefix=redis_prefix,
            per_user=2,
            per_chat=3,
            window=60.0,
            clock=lambda: now[0],
        )

    serve, worker = limiter(), limiter()
    assert await serve.check("ada", "telegram:42")
    assert await worker.check("ada", "telegram:42")
    assert not await serve.check("ada", "telegram:42")  # her third in a minute, anywhere
    assert await worker.check("bob", "telegram:42")  # the chat's third
    assert not await serve.check("eve", "telegram:42")  # the chat is full, whoever asks
    assert await serve.check("eve", "telegram:7")  # another chat is not
    now[0] += 60.0  # the window passes
    assert await worker.check("ada", "telegram:42")
    ttls = [
        await redis_client.pttl(k) async for k in redis_client.scan_iter(f"{redis_prefix}cmd:*")
    ]
    assert ttls and all(0 < t <= 61_000 for t in ttls)  # idle windows expire
