"""An answer on its way out: rendered by the platform's adapter, sent, and remembered (what
paper the sent messages are about, a thread's questions and answers)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from bot.core.chat import Answer, Incoming
from bot.core.observability import count_sent, hashed
from bot.core.ports import Sender
from bot.platforms import PLATFORMS
from digest.chatstate import thread_key
from digest.errors import ChatGone, DeliveryError, StoreError
from digest.models import Reply, Subscription
from digest.store.base import Store

__all__ = ["HISTORY_KEEP", "THREAD_TTL", "remember", "remember_quietly", "send_answer"]

log = logging.getLogger(__name__)

THREAD_TTL = dt.timedelta(days=14)
HISTORY_KEEP = 6  # question/answer pairs kept per thread for context


async def remember_quietly(
    store: Store, inc: Incoming, answer: Answer, refs: Sequence[str]
) -> None:
    """`remember`, after the answer went out: a Store failure here loses only the
    thread's context, never the answer (and must not send it again)."""
    try:
        await remember(store, inc, answer, refs)
    except StoreError as exc:
        log.warning("answer sent but its thread context not saved: %s", exc)


async def send_answer(inc: Incoming, answer: Answer, sender: Sender) -> list[str]:
    """Render and send; the message references. StoreError (a fleet's limiter on
    Redis) only before the first message: after it, the rest is dropped and logged."""
    sub = Subscription(platform=inc.platform, chat_id=inc.chat_id)
    messages = PLATFORMS[inc.platform].render(answer.doc, sub)
    refs: list[str] = []
    for msg in messages:
        msg.in_thread = answer.reply_to is not None
        try:
            refs.append(await sender.send(sub, msg, answer.reply_to))
        except StoreError as exc:
            count_sent(inc.platform, "error")
            if not refs:
                raise
            log.warning("the rest of an answer was not sent: %s", exc)
            return refs
        except DeliveryError as exc:
            count_sent(inc.platform, "gone" if isinstance(exc, ChatGone) else "failed")
            chat = hashed(inc.chat_key)
            if msg.optional and not isinstance(exc, ChatGone):
                # A figure the platform could not show: the card still goes.
                log.info("optional message not delivered (%s): %s", msg.method, exc.reason)
                continue
            log.warning(
                "answer not delivered: platform=%s chat=%s reason=%s",
                inc.platform,
                chat,
                exc.reason,
                extra={"platform": inc.platform, "chat": chat},
            )
            return refs
        except Exception:
            count_sent(inc.platform, "error")
            raise
        count_sent(inc.platform, "ok")
    return refs


async def remember(store: Store, inc: Incoming, answer: Answer, refs: Sequence[str]) -> None:
    """Thread context: which paper the sent messages are about; a thread's Q&A."""
    paper_id = answer.doc.paper_id if isinstance(answer.doc, Reply) else None
    if answer.thread is not None and answer.question:
        thread = answer.thread
        thread.history = [*thread.history, {"q": answer.question, "a": answer.text}]
        thread.history = thread.history[-HISTORY_KEEP:]
        await store.save_thread(thread.key, thread.to_json(), THREAD_TTL)
        paper_id = paper_id or thread.paper_id
    if paper_id is None:
        return
    keys = [thread_key(inc.platform, inc.chat_id, ref) for ref in refs]
    if answer.reply_to is not None:
        # Slack threads are keyed by their root (the message answered under); keep a
        # brief head's picks or an existing thread's history as they are.
        root = thread_key(inc.platform, inc.chat_id, answer.reply_to)
        if await store.get_thread(root) is None:
            keys.append(root)
    for key in keys:
        await store.save_thread(key, {"paper_id": paper_id}, THREAD_TTL)
