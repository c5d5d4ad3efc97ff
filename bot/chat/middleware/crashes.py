"""A crash while answering is logged, and the event counted answered (a redelivery would
crash the same way); an outage or a deferral is passed on."""

from __future__ import annotations

import logging

from bot.chat.middleware.chain import Next, Request
from bot.core.chat import Answer
from bot.core.intake import Deferred
from bot.core.observability import hashed
from digest.errors import StoreError

__all__ = ["crashes"]

log = logging.getLogger(__name__)


async def crashes(req: Request, call_next: Next) -> list[Answer]:
    """One chat's bug never stops the others: nothing is said, nothing raised."""
    try:
        return await call_next(req)
    except (StoreError, Deferred):
        raise  # the Store down (waited out by Outage) or the platform's redelivery
    except Exception:
        inc = req.incoming
        chat = hashed(inc.chat_key)
        log.exception(
            "answering failed: platform=%s chat=%s",
            inc.platform,
            chat,
            extra={"platform": inc.platform, "chat": chat},
        )
        return []
