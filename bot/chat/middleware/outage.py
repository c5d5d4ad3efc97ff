"""The Store unreachable: the chat told once; the event deferred to its redelivery, or
tried again here with backoff until the Store is back or patience runs out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.chat.middleware.chain import Next, Request
from bot.chat.middleware.notes import tell
from bot.core.chat import Answer, event_key
from bot.core.intake import Deferred, busy_line, one_moment
from bot.core.leases import nap
from bot.core.observability import hashed
from bot.core.ports import Sleep
from bot.core.reconnect import Backoff
from digest.errors import StoreError
from digest.settings import Settings

__all__ = ["UNAVAILABLE_BACKOFF", "UNAVAILABLE_PATIENCE", "Outage"]

log = logging.getLogger(__name__)

# An event the platform will not deliver again is tried this long while the Store is
# unreachable (then the chat is told to try again), with this backoff between tries.
UNAVAILABLE_PATIENCE = 300.0
UNAVAILABLE_BACKOFF = Backoff(base=2.0, cap=30.0)
_NOTED_MAX = 1024  # events whose chat was told "one moment" (remembered, bounded)


class Outage:
    """Waits out a StoreError raised before anything was sent (the layers inside let go of
    what they held); `Deferred` for a `redeliverable` event. Never silently dropped."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float],
        sleep: Sleep,
        closed: asyncio.Event,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._closed = closed  # set on shutdown: stop waiting
        self._noted: dict[str, None] = {}

    async def __call__(self, req: Request, call_next: Next) -> list[Answer]:
        started = self._clock()
        attempt = 0
        while True:
            try:
                return await call_next(req)
            except StoreError as exc:
                reason = str(exc)
            await self._note(req)
            if req.redeliverable:
                raise Deferred(reason)
            if self._closed.is_set() or self._clock() - started > UNAVAILABLE_PATIENCE:
                inc = req.incoming
                log.error(
                    "could not answer: the Store stayed unreachable (%s): platform=%s chat=%s",
                    reason,
                    inc.platform,
                    hashed(inc.chat_key),
                )
                await tell(req, busy_line, self._settings)
                return []
            await nap(self._sleep, UNAVAILABLE_BACKOFF.delay(attempt), self._closed)
            attempt += 1

    async def _note(self, req: Request) -> None:
        """ "One moment", once per event (a redelivery is not told again)."""
        inc = req.incoming
        key = event_key(inc) or f"{inc.chat_key}|{inc.message_ref}"
        if key in self._noted:
            return
        self._noted[key] = None
        if len(self._noted) > _NOTED_MAX:
            self._noted.pop(next(iter(self._noted)))
        await tell(req, one_moment, self._settings)
