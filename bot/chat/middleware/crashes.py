"""A crash while answering is logged, and the event counted answered (a redelivery would
crash the same way); an outage or a deferral is passed on."""

from __future__ import annotations

import logging

from bot.chat.middleware.chain import Next, Request
from bot.core.chat import Answer, Incoming
from bot.core.intake import Deferred
from bot.core.observability import hashed
from digest.errors import StoreError

__all__ = ["crashes", "log_failure"]

log = logging.getLogger(__name__)


async def crashes(req: Request, call_next: Next) -> list[Answer]:
    """One chat's bug never stops the others: nothing is said, nothing raised."""
    try:
        return await call_next(req)
    except (StoreError, Deferred):
        raise  # the Store down (waited out by Outage) or the platform's redelivery
    except Exception:
        log_failure(log, "answering failed", req.incoming)
        return []


def log_failure(logger: logging.Logger, what: str, inc: Incoming) -> None:
    """`what` happened to `inc`, logged with the traceback being handled (the chat hashed)."""
    chat = hashed(inc.chat_key)
    logger.exception(
        "%s: platform=%s chat=%s",
        what,
        inc.platform,
        chat,
        extra={"platform": inc.platform, "chat": chat},
    )
