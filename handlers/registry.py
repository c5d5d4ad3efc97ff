"""The command registry: `@command` registers a handler; its docstring is the help text.

    @command("paper", usage="<arXiv id | URL | item number>", llm=True)
    async def paper(ctx: HandlerContext, args: Args) -> Document:
        \"\"\"A paper's card: problem, method, results, limits, links.\"\"\"

The chats (through `bot.chat`) and the CLI dispatch through `COMMANDS`, so
`/paper ID` in a chat and `paperdrop paper ID` run the same code.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from digest.models import Document, Language
from handlers.context import Args, HandlerContext

__all__ = ["COMMANDS", "Command", "Handler", "command", "help_lines"]

Handler = Callable[[HandlerContext, Args], Awaitable[Document]]
# Telegram's rule for command names (the strictest of the three platforms).
_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    usage: str  # argument synopsis, e.g. "<arXiv id>"
    summary_en: str
    summary_zh: str
    llm: bool  # may call the LLM: rate-limited per user and chat
    admin: bool  # in groups, only chat admins may run it
    hidden: bool  # not listed by /help (e.g. internal)

    def summary(self, language: Language) -> str:
        return self.summary_zh if language == "zh" and self.summary_zh else self.summary_en


COMMANDS: dict[str, Command] = {}


def command(
    name: str,
    *,
    usage: str = "",
    zh: str = "",
    llm: bool = False,
    admin: bool = False,
    hidden: bool = False,
) -> Callable[[Handler], Handler]:
    """Register `handler` as /name. The docstring's first line is the English help text,
    `zh` the Chinese one."""
    if not _NAME.match(name):
        raise ValueError(f"bad command name {name!r}")

    def register(handler: Handler) -> Handler:
        doc = inspect.getdoc(handler) or ""
        first = doc.strip().splitlines()[0] if doc.strip() else name
        if name in COMMANDS:
            raise ValueError(f"command {name!r} registered twice")
        COMMANDS[name] = Command(
            name=name,
            handler=handler,
            usage=usage,
            summary_en=first,
            summary_zh=zh,
            llm=llm,
            admin=admin,
            hidden=hidden,
        )
        return handler

    return register


def help_lines(language: Language, prefix: str = "/") -> list[tuple[str, str]]:
    """(synopsis, summary) of every listed command, in registration order."""
    return [
        (f"{prefix}{c.name}" + (f" {c.usage}" if c.usage else ""), c.summary(language))
        for c in COMMANDS.values()
        if not c.hidden
    ]
