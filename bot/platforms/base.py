"""What every platform adapter shares: the message it sends, the adapter and receiver
interfaces, and threading of rendered pages."""

from __future__ import annotations

import abc
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, Field

from digest.models import Document, Platform, Subscription
from digest.settings import Settings

if TYPE_CHECKING:
    from aiohttp import web

    from bot.conversation import ReceiverDeps
    from bot.layout import Page
    from bot.ratelimit import Limit, Limiter
    from bot.sending import Sender, Sleep

__all__ = ["OutMessage", "PlatformAdapter", "RateKeys", "Receiver", "Route", "threaded"]


class OutMessage(BaseModel):
    """One request to a platform, complete except for the destination.

    `payload` is exactly the body sent to `method`, without the chat/channel/receive id
    and thread reference, which the sender adds. `text` is the visible text a reader sees
    (used to prove that splitting is lossless).
    """

    platform: Platform
    part: int  # position in the day's sequence for one chat, from 0
    method: str  # "sendMessage", "chat.postMessage", "webhook", "im/v1/messages"
    payload: dict[str, Any] = Field(default_factory=dict)
    text: str
    parent: bool = False  # the thread's parent message (threaded briefs)
    in_thread: bool = False  # send as a reply in the parent's thread
    paper_id: str | None = None  # the paper this message is about (thread context)
    # A figure: when it cannot be sent, the messages after it still are.
    optional: bool = False
    # An image the sender must fetch and upload first (Feishu's img_key), with the card.
    media_url: str | None = None


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


# --- the adapter: everything one platform needs --------------------------------------------


RateKeys = list[tuple[str, tuple["Limit", ...]]]


class PlatformAdapter(abc.ABC):
    """One platform: how to render for it, send to it, receive from it, and its rules.

    Registered once in `bot.platforms.PLATFORMS`; nothing else dispatches on a platform
    name. SDK-heavy modules are imported inside the methods, so the CLI starts fast.
    """

    name: ClassVar[Platform]
    title: ClassVar[str]  # as people write it: "Telegram"
    chat_id_pattern: ClassVar[re.Pattern[str]]
    chat_id_help: ClassVar[str]  # what a chat id looks like there

    @abc.abstractmethod
    def render(self, doc: Document, sub: Subscription) -> list[OutMessage]:
        """The document as this platform's requests, for this subscription's options."""

    @abc.abstractmethod
    def make_sender(self, settings: Settings, *, limiter: Limiter | None, sleep: Sleep) -> Sender:
        """A sender; ConfigError when the platform's credentials are missing."""

    @abc.abstractmethod
    def rate_keys(self, chat_id: str, *, webhook: bool = False) -> RateKeys:
        """The client-side rate limits a send to this chat counts against."""

    @abc.abstractmethod
    def configured(self, settings: Settings) -> bool:
        """Credentials to send (and receive) are set."""

    def check_subscription(self, sub: Subscription, settings: Settings) -> str | None:
        """Why this subscription cannot work here, or None."""
        if sub.webhook is not None:
            return "--webhook is for Feishu custom bots only"
        return None

    def make_receiver(self, deps: ReceiverDeps) -> Receiver | None:
        """The receiver for `serve`, or None when its credentials are not set."""
        return None


Route = tuple[str, str, Callable[["web.Request"], Awaitable["web.StreamResponse"]]]


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
