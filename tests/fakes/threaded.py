"""Run an async fake server in a thread of its own, for tests that call sync code
(typer's CliRunner runs `asyncio.run` itself, so the fakes cannot share its loop)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

__all__ = ["in_thread"]

T = TypeVar("T")


@contextlib.contextmanager
def in_thread(cm: AbstractAsyncContextManager[T], timeout: float = 10.0) -> Iterator[T]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    entered: list[T] = []
    failure: list[BaseException] = []
    stop = asyncio.Event()

    async def main() -> None:
        try:
            async with cm as value:
                entered.append(value)
                ready.set()
                await stop.wait()
        except BaseException as exc:  # surfaced to the test thread
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(timeout) or failure:
        raise RuntimeError(f"fake server did not start: {failure[:1]}")
    try:
        yield entered[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        loop.close()
