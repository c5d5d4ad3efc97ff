"""The fleet's job queue: arq on Redis, consumed by `paperdrop worker` processes.

    serve (leader) ── enqueue_push ──► arq queue ──► worker: push(chunk of chats)
    serve (any)    ── enqueue_answer ─►          └─► worker: Conversation.respond

Why arq: maintained, asyncio-native, on the Redis the fleet already runs, and a job whose
worker dies is run again by another once its in-progress key expires. That key normally
lives as long as the job's timeout; a running job here renews it every few seconds with a
short lease instead (`JOB_LEASE`), so a killed worker's job is taken over within a minute
while a long push may still run for hours. A retried push sends only what is missing: the
Store's delivery records say what arrived, and a per-chat lease (bot/delivery.py) keeps
two workers from sending the same chat at once.

The scheduler claims each (chat, day) it enqueues (`QUEUED_NS`, with `cache_add`), so a
chat waiting in the queue or being delivered is never enqueued twice; the job drops its
claims when it ends. Jobs are JSON, not pickles: the queue is data, not code.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.worker import Function, Retry, Worker, func
from redis.asyncio import ConnectionPool

from bot.delivery import day_key, nap, push
from bot.observability import count_job, record_push, set_jobs_running
from bot.scheduler import record_outcomes
from digest.errors import ConfigError, PaperdropError, StoreError
from digest.models import Language, Platform, Subscription
from digest.settings import Settings
from digest.store.base import Store
from digest.store.redis import reconnecting

if TYPE_CHECKING:
    from bot.conversation import Conversation, Incoming
    from bot.ratelimit import Limiter
    from bot.ratelimit_redis import RedisCommandLimiter
    from bot.sending import Sender

__all__ = [
    "CHUNK",
    "JOB_LEASE",
    "QUEUED_NS",
    "JobQueue",
    "WorkerState",
    "fleet_command_limiter",
    "fleet_limiter",
    "incoming_from_json",
    "incoming_to_json",
    "make_worker",
]

log = logging.getLogger(__name__)

# Chats per push job: small enough that N workers share a morning evenly and a takeover
# redoes little, large enough that queue overhead per message stays a fraction of one.
CHUNK = 100
# A running job's in-progress lease, renewed every third of it.
JOB_LEASE = dt.timedelta(seconds=60)
PUSH_TIMEOUT = dt.timedelta(hours=3)
ANSWER_TIMEOUT = dt.timedelta(minutes=5)
# (chat, day) claimed by an enqueued push; outlives a queue backlog, dropped by the job.
QUEUED_NS = "queued"
QUEUED_TTL = dt.timedelta(hours=1)
# Periods widened by 3%: sends granted one window apart may arrive a little closer.
FLEET_MARGIN = 0.03
POLL_DELAY = 0.25  # seconds between a worker's looks at an empty queue


def _dumps(value: Any) -> bytes:
    # default=repr: a failed job's result is its exception, which arq serializes too.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr).encode()


def _loads(raw: bytes) -> Any:
    return json.loads(raw)


def incoming_to_json(inc: Incoming) -> dict[str, Any]:
    return dataclasses.asdict(inc)


def incoming_from_json(data: Mapping[str, Any]) -> Incoming:
    from bot.conversation import Incoming

    known = {f.name for f in dataclasses.fields(Incoming)}
    values = {k: v for k, v in data.items() if k in known}
    values["thread_refs"] = tuple(values.get("thread_refs") or ())
    button = values.get("button")
    values["button"] = tuple(button) if button else None
    return Incoming(**values)


class JobQueue:
    """The enqueue side (serve, the scheduler, `paperdrop status`)."""

    def __init__(self, redis: ArqRedis, *, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self.name = f"{prefix}queue"

    @classmethod
    def from_settings(cls, settings: Settings) -> JobQueue:
        if not settings.redis_url:
            raise ConfigError("the job queue needs Redis: set PAPERDROP_REDIS_URL")
        # Bytes, as arq expects; a connection Redis closed (a restart) comes back.
        pool = ConnectionPool.from_url(settings.redis_url, **reconnecting())
        redis = ArqRedis(connection_pool=pool, job_serializer=_dumps, job_deserializer=_loads)
        return cls(redis, prefix=settings.redis_prefix)

    async def close(self) -> None:
        await self.redis.aclose(close_connection_pool=True)  # the pool is ours

    # --- enqueue --------------------------------------------------------------------------

    async def enqueue_push(
        self,
        store: Store,
        day: dt.date,
        subs: Sequence[Subscription],
        languages: Collection[Language],
        *,
        chunk: int = CHUNK,
    ) -> list[str]:
        """Enqueue the chats of `subs` not already claimed for `day`, in chunks; the keys
        enqueued. A chat's claim is dropped if its job could not be enqueued."""
        claimed: list[str] = []
        for sub in subs:
            if await store.cache_add(QUEUED_NS, day_key(sub.key, day), "1", QUEUED_TTL):
                claimed.append(sub.key)
        langs = sorted(set(languages))
        enqueued: list[str] = []
        for start in range(0, len(claimed), chunk):
            keys = claimed[start : start + chunk]
            digest = hashlib.sha1("\n".join(keys).encode()).hexdigest()[:16]
            job_id = f"{self.prefix}push:{day.isoformat()}:{digest}"
            try:
                job = await self.redis.enqueue_job(
                    "push_chats",
                    day.isoformat(),
                    keys,
                    langs,
                    _job_id=job_id,
                    _queue_name=self.name,
                )
            except Exception as exc:
                await release_claims(store, keys, day)
                raise StoreError(f"could not enqueue a push: {exc.__class__.__name__}") from None
            if job is None:  # the same chunk is still queued or running
                log.info("push job %s already queued", job_id.rsplit(":", 1)[-1])
            count_job("push", "queued")
            enqueued.extend(keys)
        return enqueued

    async def enqueue_answer(self, inc: Incoming, *, key: str | None = None) -> bool:
        """Enqueue an answer to `inc`; False when a job for the same `key` exists."""
        job_id = f"{self.prefix}answer:{key}" if key else None
        job = await self.redis.enqueue_job(
            "answer", incoming_to_json(inc), _job_id=job_id, _queue_name=self.name
        )
        if job is not None:
            count_job("answer", "queued")
        return job is not None

    # --- inspect --------------------------------------------------------------------------

    async def depth(self) -> dict[str, int]:
        """Jobs waiting and running (arq keeps a running job in the queue until it ends)."""
        ids = await self.redis.zrange(self.name, 0, -1)
        running = 0
        if ids:
            async with self.redis.pipeline(transaction=False) as pipe:
                for job_id in ids:
                    pipe.exists(in_progress_key_prefix + _text(job_id))
                running = sum(int(x) for x in await pipe.execute())
        return {"queued": len(ids) - running, "running": running}

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except Exception:
            return False


def fleet_limiter(settings: Settings, queue: JobQueue) -> Limiter:
    """The send limiter every process of a fleet shares, on the queue's Redis."""
    from bot.ratelimit_redis import RedisRateLimiter

    return RedisRateLimiter(queue.redis, prefix=settings.redis_prefix, margin=FLEET_MARGIN)


def fleet_command_limiter(settings: Settings, queue: JobQueue) -> RedisCommandLimiter:
    """The per-user and per-chat command windows every process of a fleet shares."""
    from bot.ratelimit_redis import RedisCommandLimiter

    return RedisCommandLimiter(
        queue.redis,
        prefix=settings.redis_prefix,
        per_user=settings.command_rate_user,
        per_chat=settings.command_rate_chat,
        window=settings.command_rate_window,
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def release_claims(store: Store, chats: Sequence[str], day: dt.date) -> None:
    for key in chats:
        with contextlib.suppress(PaperdropError):
            await store.cache_delete(QUEUED_NS, day_key(key, day))


# --- the worker ---------------------------------------------------------------------------


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
    builder: Any = None  # bot.scheduler.timed_builder(...)
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
            subs: list[Subscription] = []
            for key in chats:
                platform, _, chat_id = key.partition(":")
                sub = await state.store.get_subscription(cast(Platform, platform), chat_id)
                if sub is not None and sub.active:
                    subs.append(sub)
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
    await record_outcomes(state.store, report, dt.datetime.now(dt.UTC))
    if state.stop.is_set() and any(not o.ok for o in report.outcomes):
        # Shutting down mid-chunk: back in the queue at once for another worker; the
        # claims stay, so the scheduler does not enqueue these chats a second time.
        count_job("push", "retried")
        raise Retry(defer=0)
    await release_claims(state.store, chats, day)
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


def make_worker(state: WorkerState, *, poll_delay: float = POLL_DELAY) -> Worker:
    """An arq Worker for `state`'s queue; run it with `await worker.main()`."""
    return Worker(
        functions=functions(),
        queue_name=state.queue.name,
        redis_pool=state.queue.redis,
        ctx={"paperdrop": state},
        max_jobs=state.settings.worker_jobs,
        keep_result=0,  # outcomes live in the Store (pushlog), not in arq results
        poll_delay=poll_delay,
        handle_signals=False,  # `paperdrop worker` shuts down gracefully itself
        job_serializer=_dumps,
        job_deserializer=_loads,
        health_check_interval=30,
    )
