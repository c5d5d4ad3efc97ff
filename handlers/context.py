"""What every command handler receives: one typed context, the same from a chat or the CLI.

Handlers know no platform: who is an admin is asked through `ctx.is_admin()`, which the
platform adapter answers; replies are documents (`Reply`, or a `Brief` for cards and
briefs) that the adapter renders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from digest.errors import PaperdropError
from digest.llm import LLM
from digest.models import Language, Platform, Subscription
from digest.profile import Profile
from digest.settings import Settings
from digest.store.base import Store

__all__ = [
    "Args",
    "Chat",
    "HandlerContext",
    "ThreadContext",
    "Unavailable",
    "UsageError",
    "User",
    "tr",
]


def tr(language: Language, en: str, zh: str) -> str:
    """The reply text in the chat's language."""
    return zh if language == "zh" else en


class UsageError(PaperdropError):
    """Bad arguments or a refused request: the message is shown to the user as it is."""


class Unavailable(UsageError):
    """The command cannot be answered in this setup or right now (no LLM configured, the
    LLM failed): shown as it is, like a UsageError; the command line exits 1 (a run that
    failed), not 2 (bad input)."""


@dataclass(frozen=True)
class Chat:
    platform: Platform | None  # None: the command line
    chat_id: str
    is_group: bool = False

    @property
    def key(self) -> str:
        return f"{self.platform or 'cli'}:{self.chat_id}"


@dataclass(frozen=True)
class User:
    user_id: str
    name: str = ""


@dataclass
class ThreadContext:
    """What the thread a message arrived in is about (saved when the bot posted there)."""

    key: str
    paper_id: str | None = None
    papers: list[str] = field(default_factory=list)  # a brief's head: its picks, in order
    history: list[dict[str, str]] = field(default_factory=list)  # {"q", "a"}, oldest first

    def to_json(self) -> dict[str, Any]:
        return {"paper_id": self.paper_id, "papers": self.papers, "history": self.history}

    @classmethod
    def from_json(cls, key: str, data: dict[str, Any]) -> ThreadContext:
        papers = data.get("papers")
        history = data.get("history")
        paper_id = data.get("paper_id")
        return cls(
            key=key,
            paper_id=paper_id if isinstance(paper_id, str) else None,
            papers=[p for p in papers if isinstance(p, str)] if isinstance(papers, list) else [],
            history=[
                {"q": str(h.get("q", "")), "a": str(h.get("a", ""))}
                for h in history
                if isinstance(h, dict)
            ]
            if isinstance(history, list)
            else [],
        )


@dataclass(frozen=True)
class Args:
    """A command's arguments: the raw text after the command, and its words."""

    text: str = ""

    @property
    def words(self) -> list[str]:
        return self.text.split()

    @property
    def first(self) -> str:
        return self.words[0] if self.words else ""


async def _nobody_is_admin() -> bool:
    return False


@dataclass
class HandlerContext:
    settings: Settings
    store: Store
    chat: Chat
    user: User
    subscription: Subscription | None
    profile: Profile
    language: Language
    llm: LLM | None
    now: Callable[[], dt.datetime]
    # The platform's answer to "may this user change the chat's subscription?"
    is_admin: Callable[[], Awaitable[bool]] = _nobody_is_admin
    thread: ThreadContext | None = None
    progress: Callable[[str], None] | None = None
    command_prefix: str = "/"  # how commands are typed where the reply goes

    def t(self, en: str, zh: str) -> str:
        return tr(self.language, en, zh)

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)
