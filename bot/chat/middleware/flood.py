"""One chat's flood is dropped (the chat told once); other chats never wait behind it."""

from __future__ import annotations

import logging

from bot.chat.middleware.chain import Next, Request
from bot.chat.middleware.notes import tell
from bot.core.chat import Answer
from bot.core.intake import FloodGate, flood_line
from bot.core.observability import count_event, hashed
from digest.settings import Settings

__all__ = ["Flood"]

log = logging.getLogger(__name__)


class Flood:
    """Admits an event by its chat's gate (`FloodGate`), pending until it is answered."""

    def __init__(self, gate: FloodGate, settings: Settings) -> None:
        self._gate = gate
        self._settings = settings

    async def __call__(self, req: Request, call_next: Next) -> list[Answer]:
        chat = req.incoming.chat_key
        if not self._gate.admit(chat):
            count_event(req.incoming.platform, "flood")
            if self._gate.tell(chat):
                log.warning("flood from one chat limited: chat=%s", hashed(chat))
                await tell(req, flood_line, self._settings)
            return []
        try:
            return await call_next(req)
        finally:
            self._gate.finished(chat)
