"""What every platform adapter provides: the adapter and the receiver interfaces.

An adapter package imports only the rooms below it (`bot.render`, `bot.core`), never the
conversation or delivery engines: those call it through this interface.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Awaitable, Callable
from typing import ClassVar, Protocol

from aiohttp import web

from bot.core.chat import ReceiverDeps
from bot.core.messages import OutMessage
from bot.core.ports import Sender, Sleep
from bot.core.ratelimit import Limiter, RateKeys
from digest.models import Document, Platform, Subscription
from digest.settings import Settings

__all__ = ["PlatformAdapter", "Receiver", "Route"]


class PlatformAdapter(abc.ABC):
    """One platform: how to render for it, send to it, receive from it, and its rules.

    Registered once in `bot.platforms.PLATFORMS`; nothing else dispatches on a platform
    name.
    """

    name: ClassVar[Platform]
    title: ClassVar[str]  # as people write it: "Telegram"
    chat_id_pattern: ClassVar[re.Pattern[str]]
    chat_id_help: ClassVar[str]  # what a chat id looks like there

    @abc.abstractmethod
    def render(self, doc: Document, sub: Subscription) -> list[OutMessage]:
        """The document as this platform's requests, for this subscription's options."""

    def render_key(self, sub: Subscription) -> str:
        """What of a subscription changes its rendering: chats with the same key (and the
        same brief) share one rendering."""
        return f"threads={sub.threads}"

    def has_message_id(self, ref: str) -> bool:
        """Whether a sent message's reference names a message one can reply to (a thread
        is remembered under it)."""
        return True

    @abc.abstractmethod
    def make_sender(self, settings: Settings, *, limiter: Limiter | None, sleep: Sleep) -> Sender:
        """A sender; ConfigError when the platform's credentials are missing."""

    @abc.abstractmethod
    def rate_keys(self, sub: Subscription) -> RateKeys:
        """The client-side rate limits a send to this subscription's chat counts against."""

    @abc.abstractmethod
    def configured(self, settings: Settings) -> bool:
        """Credentials to send (and receive) are set."""

    def can_deliver(self, sub: Subscription, settings: Settings) -> bool:
        """Whether a brief can be sent to this subscription with these settings."""
        return self.configured(settings)

    def check_subscription(self, sub: Subscription, settings: Settings) -> str | None:
        """Why this subscription cannot work here, or None."""
        if sub.webhook is not None:
            return "--webhook is for Feishu custom bots only"
        return None

    def make_receiver(self, deps: ReceiverDeps) -> Receiver | None:
        """The receiver for `serve`, or None when its credentials are not set."""
        return None


Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


class Receiver(Protocol):
    """Receives a platform's events and answers them through the conversation."""

    platform: Platform

    def routes(self) -> list[Route]:
        """(method, path, handler) for the shared HTTP server (webhook modes), or []."""
        ...

    async def start(self) -> None:
        """Connect (long polling, socket, long connection) or register the webhook."""
        ...

    async def stop(self) -> None:
        """Stop taking events; in-flight answers are finished by the conversation."""
        ...
