"""Slack's rules: its SDK's loggers and its sending limits.

chat.postMessage, about one message a second per channel
(short bursts are allowed, but not relied on)."""

from __future__ import annotations

from bot.core.ratelimit import Limit, RateKeys
from digest.redaction import HTTP_LOGGERS

__all__ = ["PER_CHANNEL", "SDK_LOGGERS", "rate_keys"]

PER_CHANNEL: tuple[Limit, ...] = (Limit(1, 1.0),)
# Its SDK's loggers and the HTTP libraries': where its tokens are masked in log lines.
SDK_LOGGERS: tuple[str, ...] = (*HTTP_LOGGERS, "slack_sdk", "slack_bolt")


def rate_keys(channel: str) -> RateKeys:
    """The windows a send to `channel` counts against."""
    return [(f"slack:chan:{channel}", PER_CHANNEL)]
