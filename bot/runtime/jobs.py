"""The worker's side of the fleet's queue: the jobs (a chunk of the morning's push, one
answer) and the arq Worker that runs them, each job's lease renewed while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, cast

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.worker import Function, Retry, Worker, func

from bot.chat.conversation import Conversation
from bot.core.observability import count_job, set_jobs_running
from bot.core.ports import Sender
from bot.core.ratelimit import Limiter
from bot.core.reconnect import nap
from bot.delivery.build import BriefBuilder
from bot.delivery.outcomes import pace_retries, record_push
from bot.delivery.push import push
from bot.runtime.queue import JobQueue, dumps, incoming_from_json, loads
from digest.models import Language, Platform
from digest.pipeline import build_brief
from digest.settings import Settings
from digest.store.base import Store

__all__ = ["JOB_LEASE", "WorkerState", "make_worker"]

log = logging.getLogger(__name__)

# A running job's in-progress lease, renewed every third of it.
JOB_LEASE = dt.timedelta(seconds=60)
PUSH_TIMEOUT = dt.timedelta(hours=3)
ANSWER_TIMEOUT = dt.timedelta(minutes=5)
POLL_DELAY = 0.25  # seconds between a worker's looks at an empty queue


@dataclass
class WorkerState:
    """What a worker's jobs share: one Store, one limiter shared with the fleet through
    Redis, one sender per platform, one Conversation (LLM client)."""

    settings: Settings
    store: Store
    queue: JobQueue
    senders: dict[Platform, Sender]
    limiter: Limiter | None = None
    conversation: Conversation | None = None
    builder: BriefBuilder = build_brief  # timed_builder(...) in a worker
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    running: int = 0


def _state(ctx: dict[str, Any]) -> WorkerState:
    return cast(WorkerState, ctx["paperdrop"])


async def _heartbeat(ctx: dict[str, Any], done: asyncio.Event) -> None:
    """Shorten arq's in-progress lease to JOB_LEASE and renew it while the job runs."""
    key = in_progress_key_prefix + str(ctx["job_id"])
    lease_ms = int(JOB_LEASE.total_seconds() * 1000)
    redis: ArqRedis = ctx["redis"]
    while not done.is_set():
        with contextlib.suppress(Exception):  # a missed renewal only risks an early takeover
            await redis.pexpire(key, lease_ms)
        await nap(asyncio.sleep, JOB_LEASE.total_seconds() / 3, done)


class _Running:
    def __init__(self, state: WorkerState, kind: str) -> None:
        self.state, self.kind = state, kind

    def __enter__(self) -> None:
        self.state.running += 1
        set_jobs_running(self.state.running)
        count_job(self.kind, "started")

    def __exit__(self, *exc: object) -> None:
        self.state.running -= 1
        set_jobs_running(self.state.running)


async def push_chats(
    ctx: dict[str, Any], day_iso: str, chats: list[str], languages: list[str]
) -> dict[str, int]:
    """One chunk of the morning: push `day`'s brief to these chats (what is missing)."""
    state = _state(ctx)
    day = dt.date.fromisoformat(day_iso)
    done = asyncio.Event()
    beat = asyncio.ensure_future(_heartbeat(ctx, done))
    with _Running(state, "push"):
        try:
            found = await state.store.get_subscriptions(chats)  # one round trip
            subs = [s for s in (found.get(key) for key in chats) if s is not None and s.active]
            report = await push(
                state.settings,
                state.store,
                day,
                subscriptions=subs,
                senders=state.senders,
                limiter=state.limiter,
                builder=state.builder,
                stop=state.stop,
                languages=cast(list[Language], languages),
            )
        except Exception:
            count_job("push", "failed")
            raise
        finally:
            done.set()
            await asyncio.gather(beat, return_exceptions=True)
    record_push(report)
    await pace_retries(state.store, report, dt.datetime.now(dt.UTC))
    if state.stop.is_set() and any(not o.ok for o in report.outcomes):
        # Shutting down mid-chunk: back in the queue at once for another worker; the
        # claims stay, so the scheduler does not enqueue these chats a second time.
        count_job("push", "retried")
        raise Retry(defer=0)
    await state.queue.release_claims(day, chats)
    count_job("push", "done")
    return {"chats": len(subs), "delivered": report.delivered, "failed": report.failed}


async def answer(ctx: dict[str, Any], incoming: dict[str, Any]) -> int:
    """Answer one message received by a serve replica (its event was deduplicated there)."""
    state = _state(ctx)
    inc = incoming_from_json(incoming)
    sender = state.senders.get(inc.platform)
    if sender is None or state.conversation is None:
        count_job("answer", "failed")
        log.warning("cannot answer on %s: not configured on this worker", inc.platform)
        return 0
    with _Running(state, "answer"):
        answers = await state.conversation.respond(inc, sender, queue=False)
    count_job("answer", "done")
    return len(answers)


def functions() -> list[Function]:
    return [
        func(push_chats, name="push_chats", timeout=PUSH_TIMEOUT, max_tries=10),
        func(answer, name="answer", timeout=ANSWER_TIMEOUT, max_tries=2),
    ]


class _Worker(Worker):
    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq looks at each queued id in a WATCH transaction (four commands), even at one
        another worker is running, and a polling worker with a free slot reads them all
        every poll: one MGET of their in-progress keys first, and only the free ones go
        on to arq (which still takes each in its transaction, so nothing changes but the
        cost)."""
        if job_ids:
            names = [in_progress_key_prefix + job_id.decode() for job_id in job_ids]
            running = await self.pool.mget(names)
            job_ids = [j for j, r in zip(job_ids, running, strict=True) if r is None]
        await super().start_jobs(job_ids)


def make_worker(state: WorkerState, *, poll_delay: float = POLL_DELAY) -> Worker:
    """An arq Worker for `state`'s queue; run it with `await worker.main()`."""
    return _Worker(
        functions=functions(),
        queue_name=state.queue.name,
        redis_pool=state.queue.redis,
        ctx={"paperdrop": state},
        max_jobs=state.settings.worker_jobs,
        keep_result=0,  # outcomes live in the Store (pushlog), not in arq results
        poll_delay=poll_delay,
        handle_signals=False,  # `paperdrop worker` shuts down gracefully itself
        job_serializer=dumps,
        job_deserializer=loads,
        health_check_interval=30,
    )
