"""The fleet's job queue: arq on Redis, consumed by `paperdrop worker` processes.

    serve (leader) ── enqueue_push ──► arq queue ──► worker: push(chunk of chats)
    serve (any)    ── enqueue_answer ─►          └─► worker: Conversation.respond

Why arq: maintained, asyncio-native, on the Redis the fleet already runs, and a job whose
worker dies is run again by another once its in-progress key expires. That key normally
lives as long as the job's timeout; a running job here renews it every few seconds with a
short lease instead (`JOB_LEASE`), so a killed worker's job is taken over within a minute
while a long push may still run for hours. A retried push sends only what is missing: the
Store's delivery records say what arrived, and a per-chat lease (bot/delivery/) keeps
two workers from sending the same chat at once.

The scheduler claims each (chat, day) it enqueues, so a chat waiting in the queue or
being delivered is never enqueued twice; the job drops its claims when it ends. A day's
claims are one sorted set, `{prefix}queued:{day}` (member: the chat, score: when its
claim expires, on Redis's clock), so a chunk of chats is claimed by one script call and
released by one ZREM. Jobs are JSON, not pickles: the queue is data, not code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError

from bot.core.chat import Incoming
from bot.core.observability import count_job
from bot.core.ratelimit import Limiter
from bot.runtime.ratelimit_redis import RedisCommandLimiter, RedisRateLimiter
from digest.errors import ConfigError, StoreError
from digest.models import Language, Subscription
from digest.settings import Settings
from digest.store.redis import reconnecting

__all__ = [
    "CHUNK",
    "JobQueue",
    "fleet_command_limiter",
    "fleet_limiter",
    "incoming_from_json",
    "incoming_to_json",
]

log = logging.getLogger(__name__)

# Chats per push job: small enough that N workers share a morning evenly and a takeover
# redoes little, large enough that queue overhead per message stays a fraction of one.
CHUNK = 100
# (chat, day) claimed by an enqueued push; outlives a queue backlog, dropped by the job.
QUEUED_TTL = dt.timedelta(hours=1)

# KEYS[1]: the day's claims. ARGV: the claim's ttl (ms), then the chats. Drops expired
# claims, claims the chats that have none; returns those it claimed. The set lives as
# long as its latest claim.
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local scores = redis.call('ZMSCORE', KEYS[1], unpack(ARGV, 2))
local add, claimed = {}, {}
for i = 2, #ARGV do
  if not scores[i - 1] then
    add[#add + 1] = now + ttl
    add[#add + 1] = ARGV[i]
    claimed[#claimed + 1] = ARGV[i]
  end
end
if #add > 0 then
  redis.call('ZADD', KEYS[1], unpack(add))
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return claimed
"""
# Periods widened by 3%: sends granted one window apart may arrive a little closer.
FLEET_MARGIN = 0.03


def dumps(value: Any) -> bytes:
    # default=repr: a failed job's result is its exception, which arq serializes too.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr).encode()


def loads(raw: bytes) -> Any:
    return json.loads(raw)


def incoming_to_json(inc: Incoming) -> dict[str, Any]:
    return dataclasses.asdict(inc)


def incoming_from_json(data: Mapping[str, Any]) -> Incoming:
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
        self._claim = redis.register_script(_CLAIM)

    def claims_key(self, day: dt.date) -> str:
        return f"{self.prefix}queued:{day.isoformat()}"

    async def claim(self, day: dt.date, chats: Sequence[str]) -> list[str]:
        """Claim these chats for `day` (those not claimed already); the ones claimed."""
        if not chats:
            return []
        ttl = int(QUEUED_TTL.total_seconds() * 1000)
        claimed = await self._claim(keys=[self.claims_key(day)], args=[ttl, *chats])
        return [_text(c) for c in claimed]

    async def release_claims(self, day: dt.date, chats: Sequence[str]) -> None:
        """Drop these chats' claims for `day` (a job ended, or could not be enqueued)."""
        if chats:
            with contextlib.suppress(RedisError, OSError):
                await self.redis.zrem(self.claims_key(day), *chats)

    @classmethod
    def from_settings(cls, settings: Settings) -> JobQueue:
        if not settings.redis_url:
            raise ConfigError("the job queue needs Redis: set PAPERDROP_REDIS_URL")
        # Bytes, as arq expects; a connection Redis closed (a restart) comes back.
        pool = ConnectionPool.from_url(settings.redis_url, **reconnecting())
        redis = ArqRedis(connection_pool=pool, job_serializer=dumps, job_deserializer=loads)
        return cls(redis, prefix=settings.redis_prefix)

    async def close(self) -> None:
        await self.redis.aclose(close_connection_pool=True)  # the pool is ours

    # --- enqueue --------------------------------------------------------------------------

    async def enqueue_push(
        self,
        day: dt.date,
        subs: Sequence[Subscription],
        languages: Collection[Language],
        *,
        chunk: int = CHUNK,
    ) -> list[str]:
        """Enqueue the chats of `subs` not already claimed for `day`, in chunks; the keys
        enqueued. A chat's claim is dropped if its job could not be enqueued. Each chunk's
        claims are one round trip, and its job is enqueued at once: the first chats are
        on their way while the later ones are still being claimed."""
        langs = sorted(set(languages))
        enqueued: list[str] = []
        wanted = list(dict.fromkeys(sub.key for sub in subs))
        claimed: list[str] = []
        for start in range(0, len(wanted), chunk):
            try:
                claimed += await self.claim(day, wanted[start : start + chunk])
            except (RedisError, OSError) as exc:
                raise StoreError(f"could not claim chats: {exc.__class__.__name__}") from None
            while len(claimed) >= chunk or (claimed and start + chunk >= len(wanted)):
                keys, claimed = claimed[:chunk], claimed[chunk:]
                enqueued += await self._enqueue_chunk(day, keys, langs)
        return enqueued

    async def _enqueue_chunk(
        self, day: dt.date, keys: list[str], langs: Sequence[str]
    ) -> list[str]:
        """One push job for these claimed chats (their claims dropped if it fails)."""
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
            await self.release_claims(day, keys)
            raise StoreError(f"could not enqueue a push: {exc.__class__.__name__}") from None
        if job is None:  # the same chunk is still queued or running
            log.info("push job %s already queued", job_id.rsplit(":", 1)[-1])
        count_job("push", "queued")
        return keys

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
    return RedisRateLimiter(queue.redis, prefix=settings.redis_prefix, margin=FLEET_MARGIN)


def fleet_command_limiter(settings: Settings, queue: JobQueue) -> RedisCommandLimiter:
    """The per-user and per-chat command windows every process of a fleet shares."""
    return RedisCommandLimiter(
        queue.redis,
        prefix=settings.redis_prefix,
        per_user=settings.command_rate_user,
        per_chat=settings.command_rate_chat,
        window=settings.command_rate_window,
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
