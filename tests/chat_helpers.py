"""What the chat tests of every platform share: waiting, boundedly, for the bot to act."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from bot.core.platform import Receiver

__all__ = ["WAIT", "Signal", "serve_routes"]

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


@asynccontextmanager
async def serve_routes(receiver: Receiver, path: str) -> AsyncIterator[str]:
    """The receiver's routes on a local HTTP server, as `paperdrop serve` mounts them;
    yields the URL of `path` there."""
    app = web.Application()
    for method, route, handler in receiver.routes():
        app.router.add_route(method, route, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}{path}"
    finally:
        await runner.cleanup()
