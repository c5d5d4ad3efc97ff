"""Telegram's rules: its SDK's loggers and its sending limits.

Limits (Bot FAQ, approximate, official): ~1 message a second in one chat, 20 a minute in
a group, ~30 a second overall for broadcasts."""

from __future__ import annotations

from bot.core.ratelimit import Limit, RateKeys
from digest.redaction import HTTP_LOGGERS

__all__ = ["GLOBAL", "PER_CHAT", "PER_GROUP", "SDK_LOGGERS", "rate_keys"]

PER_CHAT: tuple[Limit, ...] = (Limit(1, 1.0),)
PER_GROUP: tuple[Limit, ...] = (Limit(20, 60.0),)
# Overall sends are paced evenly (one per 1/30 s) rather than in bursts of 30: a burst
# reaches the server spread by queueing, and the next second's burst then overlaps it in
# the server's window (429s). Same throughput, no burst.
GLOBAL: tuple[Limit, ...] = (Limit(30, 1.0), Limit(1, 1.0 / 30))
# Its SDK's loggers and the HTTP libraries': where its tokens are masked in log lines.
SDK_LOGGERS: tuple[str, ...] = (*HTTP_LOGGERS, "telegram")


def rate_keys(chat_id: str) -> RateKeys:
    """The windows a send to `chat_id` counts against."""
    keys: RateKeys = [(f"tg:chat:{chat_id}", PER_CHAT)]
    # Group and supergroup ids are negative; private chats are positive user ids.
    if chat_id.startswith("-"):
        keys.append((f"tg:group:{chat_id}", PER_GROUP))
    keys.append(("tg:global", GLOBAL))
    return keys
