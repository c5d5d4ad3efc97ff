"""What the chat tests of every platform share: waiting, boundedly, for the bot to act."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["WAIT", "Signal"]

WAIT = 10.0  # seconds: the bound on every wait for the bot


class Signal:
    """Wakes waiters whenever the bot did something (answered, made a call)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def poke(self) -> None:
        self._event.set()

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        try:
            async with asyncio.timeout(WAIT):
                while True:
                    self._event.clear()
                    if condition():
                        return
                    await self._event.wait()
        except TimeoutError:
            raise AssertionError(f"the bot never got to: {what}") from None
