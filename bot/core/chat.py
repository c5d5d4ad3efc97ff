"""What a receiver and the conversation say to each other: an incoming message or click,
its answers, how commands are typed, and what a receiver is given by `serve`."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.ports import AdminCheck, Sender
from digest.models import Document, Platform, Reply
from digest.settings import Settings
from digest.store.base import Store
from handlers.context import ThreadContext
from handlers.registry import COMMANDS

__all__ = [
    "Answer",
    "AnswerQueue",
    "Incoming",
    "Post",
    "ReceiverDeps",
    "Responder",
    "event_key",
    "parse_command",
]


@dataclass(frozen=True)
class Incoming:
    """One message or click, as every platform's receiver describes it."""

    platform: Platform
    chat_id: str
    user_id: str
    text: str = ""  # the bot's own mention removed
    user_name: str = ""
    is_group: bool = False
    # Meant for the bot: a DM, a command, a mention of it, or a reply to its message.
    addressed: bool = True
    message_ref: str | None = None  # this message's id on the platform
    # Where an answer goes to stay in this conversation: the thread root (Slack ts), the
    # message to reply to (Telegram, Feishu); None: a plain message in the chat.
    reply_ref: str | None = None
    # The messages this one answers, nearest first (replied-to message, thread root):
    # looked up for what the thread is about.
    thread_refs: tuple[str, ...] = ()
    event_id: str | None = None  # the platform's id of a (possibly retried) delivery
    button: tuple[str, str] | None = None  # (action, value) of a clicked button
    bot_name: str | None = None  # "/cmd@other_bot" is not for us
    # How commands are typed there: "/" (Telegram, Feishu) or "/paperdrop " (Slack, where
    # one slash command carries them all). Used in help and pointers.
    command_prefix: str = "/"

    @property
    def chat_key(self) -> str:
        return f"{self.platform}:{self.chat_id}"


@dataclass
class Answer:
    doc: Document
    reply_to: str | None = None  # reply into this message's thread
    notice: bool = False  # a short acknowledgement (a click): a toast where there is one
    thread: ThreadContext | None = None  # the thread it answers in (history is appended)
    question: str = ""

    @property
    def text(self) -> str:
        """The plain text of a short answer (toasts, ephemeral notes)."""
        if isinstance(self.doc, Reply):
            return "\n".join(
                getattr(item, "text", "") for s in self.doc.sections for item in s.items
            ).strip()
        return self.doc.title


def parse_command(text: str, bot_name: str | None = None) -> tuple[str, str] | None:
    """("paper", "2605.29559") from "/paper@bot 2605.29559" or "paper 2605.29559";
    None when the text is not a command; ("", "") when it is one for another bot."""
    stripped = text.strip()
    if not stripped:
        return None
    head, _, rest = stripped.partition(" ")
    if "\n" in head:
        head, _, more = head.partition("\n")
        rest = f"{more} {rest}".strip()
    if head.startswith("/"):
        name, _, target = head[1:].partition("@")
        if target and bot_name and target.lower() != bot_name.lower():
            return ("", "")
        return (name.lower(), rest.strip())
    if head.lower() in COMMANDS and not COMMANDS[head.lower()].hidden:
        return (head.lower(), rest.strip())
    return None


Post = Callable[[Answer], Awaitable[bool]]


class Responder(Protocol):
    """What a receiver asks of the conversation (`bot.chat.Conversation` answers)."""

    async def respond(
        self,
        incoming: Incoming,
        sender: Sender,
        *,
        is_admin: AdminCheck | None = None,
        post: Post | None = None,
        queue: bool = True,
        redeliverable: bool = False,
    ) -> list[Answer]:
        """Answer `incoming` and send the answers; raises only `Deferred`."""
        ...

    async def deliver(self, inc: Incoming, answer: Answer, sender: Sender) -> list[str]:
        """Render one answer for the platform and send it; the message references."""
        ...

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run `work` in the background, tracked for graceful shutdown."""
        ...


class AnswerQueue(Protocol):
    """Where a fleet's serve hands an LLM-heavy message to the workers."""

    async def enqueue_answer(self, inc: Incoming, *, key: str | None = None) -> bool: ...


@dataclass
class ReceiverDeps:
    """What a platform's receiver is given by `serve`."""

    settings: Settings
    store: Store
    conversation: Responder
    sender: Sender | None = None  # the platform's sender (made by serve)
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))


def event_key(inc: Incoming) -> str | None:
    """The Store key of the platform's event (None: the platform gives no id)."""
    return None if inc.event_id is None else f"{inc.platform}:{inc.event_id}"
