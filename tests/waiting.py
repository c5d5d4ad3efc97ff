"""Waiting in a test for work another task or process is doing: polled, and bounded only
to fail a stuck test (a passing wait returns as soon as the condition holds, so the bound
is generous: a loaded CI machine starts a process in seconds, not milliseconds)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

WAIT = 60.0  # seconds: the bound on any one wait


async def eventually(
    check: Callable[[], object | Awaitable[object]], what: str = "", within: float = WAIT
) -> float:
    """Wait until `check()` (sync or async) is true, polled every 10 ms; the seconds it
    took. AssertionError naming `what` past `within` seconds."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(within):
            while True:
                result = check()
                if await result if isinstance(result, Awaitable) else result:
                    return time.monotonic() - started
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"never happened within {within:g}s: {what}") from None
