"""A short line to the chat that needs no Store (it may be what is down)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.chat.middleware.chain import Request
from bot.chat.outbox import send_answer
from bot.core.chat import Answer
from digest.models import Language, Reply
from digest.settings import Settings

__all__ = ["tell"]

log = logging.getLogger(__name__)


async def tell(req: Request, line: Callable[[Language], str], settings: Settings) -> None:
    """`line` in the configured language; best effort: a failure is only logged."""
    language: Language = "zh" if settings.language == "zh" else "en"
    answer = Answer(Reply.text(language, line(language)), reply_to=req.reply_to)
    sender = req.sender
    assert sender is not None, "a note is told only on the way that sends (respond)"
    try:
        if req.post is None or not await req.post(answer):
            await send_answer(req.incoming, answer, sender)
    except Exception as exc:
        log.info("a short note to the chat was not sent: %s", exc.__class__.__name__)
