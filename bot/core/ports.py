"""The ports the rooms of bot/ talk through: a sender, a command limiter, an admin check,
sleep and clock. Contracts only: each lives below the code that uses it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.core.messages import OutMessage
from digest.models import Platform, Subscription

__all__ = [
    "AdminCheck",
    "Clock",
    "CommandCheck",
    "Sender",
    "Sleep",
]

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
AdminCheck = Callable[[], Awaitable[bool]]


class Sender(Protocol):
    """What `deliver` and the conversation need from a platform."""

    platform: Platform

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str: ...

    async def aclose(self) -> None: ...


class CommandCheck(Protocol):
    """Per-user and per-chat windows on commands that cost LLM calls."""

    async def check(self, user_key: str, chat_key: str) -> bool: ...
