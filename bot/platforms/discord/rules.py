"""Discord's rules: the loggers its token is masked in, and its sending limits.

Discord's limits are per route bucket and told in every answer's X-RateLimit-* headers
(the sender honours them); these client-side windows only keep us from running into
them: about 5 messages per 5 s per channel, and 50 requests a second overall."""

from __future__ import annotations

from bot.core.ratelimit import Limit, RateKeys
from digest.redaction import HTTP_LOGGERS

__all__ = ["GLOBAL", "PER_CHANNEL", "SDK_LOGGERS", "rate_keys"]

PER_CHANNEL: tuple[Limit, ...] = (Limit(5, 5.0),)
GLOBAL: tuple[Limit, ...] = (Limit(50, 1.0),)
# No SDK: httpx is the client, so the HTTP libraries' loggers are where the token shows.
SDK_LOGGERS: tuple[str, ...] = HTTP_LOGGERS


def rate_keys(channel: str) -> RateKeys:
    """The windows a send to `channel` counts against."""
    return [(f"discord:chan:{channel}", PER_CHANNEL), ("discord:global", GLOBAL)]
