"""Which command a message or click asks for (`Route`); what needs none is answered here:
too long, a pointer, an unknown command, chatter or another bot's command (nothing)."""

from __future__ import annotations

import logging

from bot.chat import replies
from bot.chat.middleware.chain import Next, Request, Route
from bot.core.buttons import button_command
from bot.core.chat import Answer, parse_command
from bot.core.observability import record_command
from digest.ids import is_arxiv_id
from digest.settings import Settings
from handlers.context import tr
from handlers.registry import COMMANDS

__all__ = ["Router"]

log = logging.getLogger(__name__)


class Router:
    """Sets `req.route` for the middlewares after it and the handler."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def __call__(self, req: Request, call_next: Next) -> list[Answer]:
        found = _click(req) if req.incoming.button is not None else self._text(req)
        if isinstance(found, Route):
            req.route = found
            return await call_next(req)
        return found

    def _text(self, req: Request) -> Route | list[Answer]:
        inc, ctx = req.incoming, req.ctx
        text = inc.text.strip()
        limit = self._settings.max_input_chars
        if len(text) > limit:
            record_command("unknown", "too_long")
            return req.say(
                tr(
                    ctx.language,
                    f"That message is too long ({len(text)} characters; at most {limit}). "
                    "Please shorten it.",
                    f"消息太长了({len(text)} 个字符,最多 {limit}),请精简后再发。",
                )
            )
        parsed = parse_command(text, inc.bot_name)
        if parsed == ("", ""):
            return []  # a command for another bot in the same group
        if parsed is None:
            if ctx.thread is not None and (inc.addressed or not inc.is_group) and text:
                return Route("ask", text, limited=True, thread=ctx.thread, question=text)
            if not inc.addressed:
                return []  # group chatter not meant for the bot
            if not inc.is_group and is_arxiv_id(text):
                return Route("paper", text, limited=True)
            return req.say(replies.pointer(ctx.language, inc.command_prefix))
        name, args = parsed
        cmd = COMMANDS.get(name)
        if cmd is None or cmd.hidden:
            record_command("unknown", "unknown")  # never the typed name: labels stay bounded
            return req.say(replies.unknown(ctx.language, name, inc.command_prefix))
        return Route(name, args, limited=cmd.llm)


def _click(req: Request) -> Route | list[Answer]:
    assert req.incoming.button is not None
    action, value = req.incoming.button
    name = button_command(action)
    if name is None:
        log.info("click on an unknown button action ignored: %r", action[:20])
        return []
    return Route(name, value)
