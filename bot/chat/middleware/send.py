"""The answers go out: each taken over by the receiver's `post`, or rendered, sent and
remembered (which paper the sent messages are about)."""

from __future__ import annotations

import logging

from bot.chat.middleware.chain import Next, Request
from bot.chat.outbox import remember_quietly, send_answer
from bot.core.chat import Answer
from bot.core.observability import count_sent
from digest.errors import StoreError
from digest.store.base import Store

__all__ = ["Send"]

log = logging.getLogger(__name__)


class Send:
    """Sends what the rest of the chain answered. A StoreError (a fleet's limiter on Redis)
    before the first message is raised (nothing half-done: tried again); after it, the
    rest is dropped and logged (never sent twice)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def __call__(self, req: Request, call_next: Next) -> list[Answer]:
        answers = await call_next(req)
        sent = 0
        try:
            for answer in answers:
                sent += await self._one(req, answer)
        except StoreError as exc:
            if sent == 0:
                raise
            log.warning("the rest of an answer was not sent: %s", exc)
        return answers

    async def _one(self, req: Request, answer: Answer) -> int:
        """Send one answer; how many messages went out."""
        inc = req.incoming
        if req.post is not None and await req.post(answer):
            count_sent(inc.platform, "ok")
            return 1
        assert req.sender is not None, "Send is on the way that sends (respond)"
        refs = await send_answer(inc, answer, req.sender)
        await remember_quietly(self._store, inc, answer, refs)
        return len(refs)
