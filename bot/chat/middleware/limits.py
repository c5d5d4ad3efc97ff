"""Commands that may call the LLM are limited per user and per chat (sliding windows)."""

from __future__ import annotations

from bot.chat.middleware.chain import Next, Request
from bot.core.chat import Answer
from bot.core.observability import record_command
from bot.core.ports import CommandCheck

__all__ = ["Limits"]


class Limits:
    """Asks the limiter (a fleet's is shared in Redis) only for a `limited` route."""

    def __init__(self, limiter: CommandCheck) -> None:
        self._limiter = limiter

    async def __call__(self, req: Request, call_next: Next) -> list[Answer]:
        route, ctx = req.route, req.ctx
        if route.limited and not await self._limiter.check(ctx.user.user_id, ctx.chat.key):
            record_command(route.name, "limited")
            return req.say(
                ctx.t(
                    "Slow down a little: too many requests in a short time. Try again in a minute.",
                    "请稍等:短时间内请求太多了,一分钟后再试。",
                )
            )
        return await call_next(req)
