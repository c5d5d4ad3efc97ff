"""A retried event is answered once: claimed by its platform id, marked done once answered."""

from __future__ import annotations

import asyncio
import logging

from bot.chat.middleware.chain import Next, Request
from bot.core.chat import Answer, event_key
from bot.core.intake import EVENT_NS, Deferred, claim_event
from bot.core.observability import count_event
from digest.store.base import Store

__all__ = ["Dedupe"]

log = logging.getLogger(__name__)


class Dedupe:
    """Holds the event's claim (`bot.core.intake`) while the rest of the chain answers it:
    done when it returns, let go when it raises (a redelivery is answered then)."""

    def __init__(self, store: Store, owner: str) -> None:
        self._store = store
        self._owner = owner
        self._claimed: set[str] = set()  # events being answered in this process

    async def __call__(self, req: Request, call_next: Next) -> list[Answer]:
        key = event_key(req.incoming)
        claim = await claim_event(self._store, key, self._owner, claimed=self._claimed)
        if claim is None:
            await self._duplicate(req, key)
            return []
        try:
            answers = await call_next(req)
        except BaseException:
            await asyncio.shield(claim.release())
            raise
        await claim.done()
        return answers

    async def _duplicate(self, req: Request, key: str | None) -> None:
        """Ignored; but another process answering an event the platform delivers again
        is `Deferred`: it is answered then, by whoever holds it by then."""
        elsewhere = req.redeliverable and key is not None and key not in self._claimed
        if elsewhere and not await self._answered(key or ""):
            raise Deferred("another process holds this event's lease")
        platform = req.incoming.platform
        count_event(platform, "duplicate")
        log.info("duplicate event ignored: platform=%s", platform, extra={"platform": platform})

    async def _answered(self, key: str) -> bool:
        return await self._store.cache_get(EVENT_NS, key) is not None
