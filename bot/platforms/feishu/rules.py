"""Feishu's rules: its SDK's loggers and its sending limits.

a custom bot (webhook) 5 requests a second and 100 a minute per
bot; an app bot 5 a second per chat for im/v1/messages."""

from __future__ import annotations

from bot.core.ratelimit import Limit, RateKeys
from digest.redaction import HTTP_LOGGERS

__all__ = ["APP_PER_CHAT", "SDK_LOGGERS", "WEBHOOK_PER_BOT", "rate_keys"]

WEBHOOK_PER_BOT: tuple[Limit, ...] = (Limit(5, 1.0), Limit(100, 60.0))
APP_PER_CHAT: tuple[Limit, ...] = (Limit(5, 1.0),)
# Its SDK's loggers and the HTTP libraries': where its tokens are masked in log lines.
SDK_LOGGERS: tuple[str, ...] = (*HTTP_LOGGERS, "Lark")


def rate_keys(chat_id: str, *, webhook: bool) -> RateKeys:
    """The windows a send to `chat_id` counts against, by custom bot or by app."""
    if webhook:
        # A custom bot is bound to one chat: its webhook is the "bot" the limit counts.
        return [(f"feishu:hook:{chat_id}", WEBHOOK_PER_BOT)]
    return [(f"feishu:chat:{chat_id}", APP_PER_CHAT)]
