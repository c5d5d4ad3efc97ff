"""What every platform's sender shares: the Sender protocol, 429 handling, redaction.

    sender.send(sub, msg, thread_ref, day=...) -> "message reference"

A 429 is raised inside an attempt as `RetryAfter(seconds)` and waited out by
`with_rate_retries` through the injected `sleep`, up to `max_retries` times (generous), so
a rate-limited message is delayed, never dropped. Retry-After values are parsed by the
one parser the sources use (`digest.sources.http.retry_after_seconds`). No token or
webhook URL ever appears in an exception or a log line: reasons are scrubbed, and the HTTP
libraries' own log lines pass through one redacting filter (also set on the log handler
by `bot.observability.setup_logging`, so every logger's lines pass through it, and the
formatters mask the same secrets in fields and tracebacks). Each 429 waited out is
counted in `paperdrop_rate_limit_waits_total{platform}` (and the seconds waited).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from bot.observability import count_rate_limit_giveup, count_rate_limit_wait, hashed
from bot.platforms.base import OutMessage
from digest.errors import DeliveryError, scrub
from digest.models import Platform, Subscription
from digest.sources.http import retry_after_seconds

__all__ = [
    "DEFAULT_RATE_RETRIES",
    "DEFAULT_RETRY_AFTER",
    "MAX_RETRY_AFTER",
    "Clock",
    "RetryAfter",
    "Sender",
    "Sleep",
    "known_secrets",
    "redact_in_logs",
    "redacting_filter",
    "retry_after_header",
    "scrub_line",
    "with_rate_retries",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

# 429s are retried this many times per message before giving up with a DeliveryError
# (at Telegram's usual retry_after of a few seconds, that is minutes of patience).
DEFAULT_RATE_RETRIES = 12
# A retry-after above this is not waited out in-process: the scheduler's next pass retries.
MAX_RETRY_AFTER = 600.0
# When a 429 carries no usable retry-after.
DEFAULT_RETRY_AFTER = 1.0


class Sender(Protocol):
    """What `deliver` needs from a platform."""

    platform: Platform

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str: ...

    async def aclose(self) -> None: ...


def scrub_line(text: str, secrets: Iterable[str | None]) -> str:
    """One line, without any of `secrets` in it, short enough for a log or a report."""
    line = scrub(text, secrets)
    return line if len(line) <= 300 else line[:300] + "…"


class _Redactor(logging.Filter):
    """Masks known secrets in the HTTP libraries' own log lines.

    httpx logs every request URL at INFO, and Telegram's URLs (the bot token) and Feishu
    webhook URLs (the hook token) are secrets.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(secret in message for secret in self.secrets):
                record.msg = scrub_line(message, self.secrets)
                record.args = ()
        return True


_REDACTOR = _Redactor()
for _name in ("httpx", "httpcore", "telegram", "slack_sdk", "slack_bolt", "aiohttp", "Lark"):
    logging.getLogger(_name).addFilter(_REDACTOR)


def redact_in_logs(secret: str | None) -> None:
    """Mask `secret` in the HTTP libraries' log lines from now on."""
    if secret:
        _REDACTOR.secrets.add(secret)


def known_secrets() -> frozenset[str]:
    """Every secret registered with `redact_in_logs` so far."""
    return frozenset(_REDACTOR.secrets)


def redacting_filter() -> logging.Filter:
    """The one redacting filter, for a log handler (it then sees every logger's lines)."""
    return _REDACTOR


def retry_after_header(headers: Mapping[str, Any] | None, *names: str) -> float:
    """Seconds to wait from the first usable header of `names` (default Retry-After)."""
    lowered = {str(k).lower(): v for k, v in (headers or {}).items()}
    for name in names or ("retry-after",):
        raw = lowered.get(name.lower())
        if isinstance(raw, list):
            raw = raw[0] if raw else None
        seconds = retry_after_seconds(None if raw is None else str(raw))
        if seconds is not None:
            return seconds
    return DEFAULT_RETRY_AFTER


class RetryAfter(Exception):
    """Raised inside an attempt: the platform asked us to wait `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited, retry after {seconds}s")
        self.seconds = seconds


async def with_rate_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    platform: str,
    chat: str,
    sleep: Sleep,
    max_retries: int,
) -> T:
    """Run `attempt`, waiting out each RetryAfter it raises, at most `max_retries` times."""
    for n in range(max_retries + 1):
        try:
            return await attempt()
        except RetryAfter as exc:
            wait = min(max(exc.seconds, 0.0), MAX_RETRY_AFTER) or DEFAULT_RETRY_AFTER
            if n == max_retries or exc.seconds > MAX_RETRY_AFTER:
                count_rate_limit_giveup(platform)
                raise DeliveryError(
                    platform, chat, f"still rate limited after {n + 1} attempts"
                ) from None
            shown = hashed(chat)
            log.info(
                "%s chat %s: rate limited, retrying in %.1fs",
                platform,
                shown,
                wait,
                extra={"platform": platform, "chat": shown, "retry_after": wait},
            )
            count_rate_limit_wait(platform, wait)
            await sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
