"""Threaded rendering: the first message of a document is its thread's parent."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.core.messages import OutMessage
from bot.render.layout import Page

__all__ = ["threaded"]


def threaded(pages: Sequence[Page], render: Callable[..., list[OutMessage]]) -> list[OutMessage]:
    """Render pages in sequence: the first message is the thread's parent, every later
    one goes into its thread. Parts are numbered across pages."""
    out: list[OutMessage] = []
    for page in pages:
        out.extend(render(page, first_part=len(out)))
    for msg in out:
        msg.parent = msg.part == 0
        msg.in_thread = msg.part > 0
    return out
