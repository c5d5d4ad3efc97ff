"""What the delivery commands share: the platform choice, warnings, credentials, signals."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.text import Text

from bot.cli.common import (
    clean_message,
    err_console,
)
from bot.core.platform import PlatformAdapter
from bot.platforms import PLATFORMS
from digest.errors import ConfigError

out = Console(highlight=False, soft_wrap=True)


# The registry's platforms, as a CLI choice.
PlatformOpt = StrEnum("PlatformOpt", {name: name for name in PLATFORMS})  # type: ignore[misc]


PLATFORM_METAVAR = "|".join(PLATFORMS)

# `render --mode`: the platforms that render more than one way, and how.
MODE_HELP = "How to render: " + "; ".join(
    f"{t.title}: {'|'.join(t.preview_variants)}" for t in PLATFORMS.values() if t.preview_variants
)


def warn(message: str) -> None:
    err_console.print(Text.assemble(("warning:", "yellow"), " ", clean_message(message)))


def missing_credentials(target: PlatformAdapter, settings: Any) -> str:
    """What the platform needs, in its adapter's words (e.g. "Telegram needs
    PAPERDROP_TELEGRAM_TOKEN")."""
    try:
        sender = target.make_sender(settings, limiter=None, sleep=asyncio.sleep)
    except ConfigError as exc:
        return str(exc)
    with contextlib.suppress(Exception):
        asyncio.run(sender.aclose())
    return f"{target.title} credentials are not set"


# Signals this close together are one request to stop: Ctrl-C under `uv run` reaches the
# process twice (from the terminal and forwarded by uv), and supervisors signal the whole
# process group (the process and its `uv run` parent, which forwards it).
SAME_SIGNAL = 1.0  # seconds


def stop_on_signals(stop: asyncio.Event, what: str) -> None:
    """First SIGINT/SIGTERM: set `stop` (finish the part being sent, then exit); more
    within `SAME_SIGNAL` seconds count as the same one. A later one: stop waiting (the
    running task is cancelled)."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    first: list[float] = []

    def handle() -> None:
        now = time.monotonic()
        if not stop.is_set():
            first.append(now)
            err_console.print(f"[yellow]stopping {what}…[/] (again to abandon at once)")
            stop.set()
        elif first and now - first[0] < SAME_SIGNAL:
            return  # the same stop, delivered twice
        elif main is not None:
            main.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not available on every platform; Ctrl-C still ends asyncio.run there.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, handle)
