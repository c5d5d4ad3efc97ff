"""Admin-only commands in a group are refused unless the platform says the user is an admin."""

from __future__ import annotations

from bot.chat import replies
from bot.chat.middleware.chain import Next, Request
from bot.core.chat import Answer
from bot.core.observability import record_command
from handlers.registry import COMMANDS

__all__ = ["admin"]


async def admin(req: Request, call_next: Next) -> list[Answer]:
    """Asks the platform only for an admin-only command in a group (a DM is its own admin)."""
    name, inc = req.route.name, req.incoming
    if COMMANDS[name].admin and inc.is_group and not await req.ctx.is_admin():
        record_command(name, "forbidden")
        return req.say(replies.admins_only(req.ctx.language, f"{inc.command_prefix}{name}"))
    return await call_next(req)
