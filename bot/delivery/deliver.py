"""Send one chat's parts of a day in order, never twice: each part is recorded the moment
the platform accepted it, so a retry or a restart resumes at the first missing part.

The Store unreachable mid-delivery pauses it (`bot.core.leases.patiently`); a part that
went out is recorded before the next one is sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from bot.core.leases import patiently
from bot.core.messages import OutMessage
from bot.core.observability import count_sent, hashed
from bot.core.ports import Sender
from bot.platforms import PLATFORMS
from digest.chatstate import LastBrief, brief_record, thread_key
from digest.errors import (
    ChatGone,
    DeliveryError,
)
from digest.models import Brief, PaperItem, Subscription
from digest.store.base import CacheSet, MarkDelivered, Store, Write, thread_write

log = logging.getLogger(__name__)

# Store namespace of "this chat got all of today's parts" (the day's brief: chatstate).
DONE_NS = "delivered"
DONE_TTL = dt.timedelta(days=10)
# How long a pick's message can be discussed in its thread.
THREAD_TTL = dt.timedelta(days=14)


@dataclass
class DeliveryResult:
    """What `deliver` did for one chat."""

    chat: str  # the subscription key, e.g. "telegram:12345"
    total: int
    sent: int = 0
    skipped: int = 0  # already delivered before
    failed: int = 0  # parts not delivered (the failed one and those after it)
    errors: list[str] = field(default_factory=list)
    gone: bool = False  # ChatGone: the subscription was saved inactive
    refs: dict[int, str] = field(default_factory=dict)  # part -> message reference

    @property
    def complete(self) -> bool:
        return self.failed == 0 and self.sent + self.skipped == self.total


def _no_writes(result: DeliveryResult) -> Sequence[Write]:
    return ()


async def deliver(
    sub: Subscription,
    day: dt.date,
    messages: list[OutMessage],
    *,
    store: Store,
    sender: Sender,
    stop: asyncio.Event | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    done: dict[int, str] | None = None,
    finish: Callable[[DeliveryResult], Sequence[Write]] = _no_writes,
) -> DeliveryResult:
    """Send the parts of `day` that have not reached `sub` yet, in order, recording each.

    Stops at the first refusal so that parts never arrive out of order; the next run
    resumes there. ChatGone saves the subscription inactive with the reason. When `stop`
    is set (shutdown), the part being sent is finished and recorded, and no other starts.
    The Store unreachable pauses it (see the module docstring).

    `done`: the parts already delivered, when the caller read them (with the chat's
    lease); else they are read here. When the chat has every part, the last part's
    record, the "delivered" mark and `finish(result)`'s writes go in one `Store.write`
    (one round trip on Redis).
    """
    ordered = sorted(messages, key=lambda m: m.part)
    result = DeliveryResult(chat=sub.key, total=len(ordered))
    if done is None:
        done = await patiently(lambda: store.delivered_parts(sub.key, day), stop=stop, sleep=sleep)
    parent_ref: str | None = None
    last: list[Write] = []  # the last part's record, written with the completion
    for index, msg in enumerate(ordered):
        if msg.part in done:
            result.skipped += 1
            result.refs[msg.part] = done[msg.part]
            if msg.parent:
                parent_ref = done[msg.part]
            continue
        if stop is not None and stop.is_set():
            result.failed = len(ordered) - index
            result.errors.append("stopped: shutting down")
            break
        thread_ref = parent_ref if msg.in_thread else None
        try:
            # A StoreError from a send is the fleet's limiter, before anything went out.
            ref = await patiently(
                functools.partial(sender.send, sub, msg, thread_ref, day=day),
                stop=stop,
                sleep=sleep,
            )
        except ChatGone as exc:
            result.failed = len(ordered) - index
            result.errors.append(str(exc))
            result.gone = True
            await store.save_subscription(
                sub.model_copy(update={"active": False, "inactive_reason": exc.reason})
            )
            count_sent(sub.platform, "gone", kind="brief")
            log.warning(
                "chat gone, subscription deactivated: chat=%s reason=%s",
                hashed(sub.key),
                exc.reason,
            )
            break
        except DeliveryError as exc:
            result.failed = len(ordered) - index
            result.errors.append(str(exc))
            count_sent(sub.platform, "failed", kind="brief")
            log.warning(
                "delivery failed: chat=%s part=%d reason=%s", hashed(sub.key), msg.part, exc.reason
            )
            break
        record = MarkDelivered(sub.key, day, msg.part, ref)
        if index < len(ordered) - 1:
            # Recorded before the next part goes out: a crash after this never repeats it.
            await patiently(functools.partial(store.write, [record]), sleep=sleep, must=True)
            count_sent(sub.platform, "ok", kind="brief")
        else:
            last = [record]  # nothing goes out after it: recorded with the completion
        result.sent += 1
        result.refs[msg.part] = ref
        if msg.parent:
            parent_ref = ref
    writes = list(last)
    if result.complete:
        writes.append(CacheSet(DONE_NS, day_key(sub.key, day), str(result.total), DONE_TTL))
        writes.extend(finish(result))
    if writes:
        await patiently(functools.partial(store.write, writes), sleep=sleep, must=True)
    if last:
        count_sent(sub.platform, "ok", kind="brief")
    return result


def delivery_writes(
    sub: Subscription,
    brief: Brief,
    messages: Sequence[OutMessage],
    result: DeliveryResult,
    previous: Iterable[LastBrief],
) -> list[Write]:
    """What the chat now has, as writes: the brief in front of its `previous` ones (item
    numbers of `/paper 3`, `/ideas`), and which message holds which paper, so a question
    in a pick's thread is about that pick."""
    writes: list[Write] = [brief_record(sub.key, brief, previous)]
    picks = brief.section("top_picks")
    pick_ids = [i.paper_id for i in picks.items if isinstance(i, PaperItem)] if picks else []
    for msg in messages:
        ref = result.refs.get(msg.part)
        if ref is None or not PLATFORMS[sub.platform].has_message_id(ref):
            continue
        key = thread_key(sub.platform, sub.chat_id, ref)
        if msg.paper_id is not None:
            writes.append(thread_write(key, {"paper_id": msg.paper_id}, THREAD_TTL))
        elif msg.parent and pick_ids:
            writes.append(thread_write(key, {"papers": pick_ids}, THREAD_TTL))
    return writes


def day_key(chat_key: str, day: dt.date) -> str:
    """The Store key of what concerns one chat on one day (delivered, outcome, lease…)."""
    return f"{chat_key}|{day.isoformat()}"


async def is_delivered(store: Store, sub: Subscription, day: dt.date) -> bool:
    """True when every part of `day`'s brief reached `sub`."""
    return await store.cache_get(DONE_NS, day_key(sub.key, day)) is not None
