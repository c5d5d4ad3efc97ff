"""Every event is counted, a message or a click, before anything else happens to it."""

from __future__ import annotations

from bot.chat.middleware.chain import Next, Request
from bot.core.chat import Answer
from bot.core.observability import count_event

__all__ = ["count_events"]


async def count_events(req: Request, call_next: Next) -> list[Answer]:
    """`paperdrop_events_total{platform,kind}`: kind "click" or "message"."""
    inc = req.incoming
    count_event(inc.platform, "click" if inc.button is not None else "message")
    return await call_next(req)
