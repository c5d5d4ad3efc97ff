"""Waiting out a platform's 429: an attempt raises `RetryAfter(seconds)`, and
`with_rate_retries` waits it out through the injected `sleep`, up to `max_retries` times
(generous), so a rate-limited message is delayed, never dropped. Retry-After values are
parsed by the one parser the sources use (`digest.sources.http.retry_after_seconds`).
Each 429 waited out is counted in `paperdrop_rate_limit_waits_total{platform}` (and the
seconds waited)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.core.observability import count_rate_limit_giveup, count_rate_limit_wait, hashed
from bot.core.ports import Sleep
from bot.core.ratelimit import Limiter, RateKeys
from digest.errors import DeliveryError
from digest.sources.http import retry_after_seconds

__all__ = [
    "DEFAULT_RATE_RETRIES",
    "DEFAULT_RETRY_AFTER",
    "MAX_RETRY_AFTER",
    "Pacing",
    "RetryAfter",
    "retry_after_header",
    "with_rate_retries",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


# 429s are retried this many times per message before giving up with a DeliveryError
# (at Telegram's usual retry_after of a few seconds, that is minutes of patience).
DEFAULT_RATE_RETRIES = 12
# A retry-after above this is not waited out in-process: the scheduler's next pass retries.
MAX_RETRY_AFTER = 600.0
# When a 429 carries no usable retry-after.
DEFAULT_RETRY_AFTER = 1.0


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


@dataclass(frozen=True)
class Pacing:
    """A sender's pace: each try of a send first waits for its slot under the send's keys
    on `limiter` (no wait without one), and a 429 is waited out (`with_rate_retries`)."""

    platform: str
    limiter: Limiter | None = None
    sleep: Sleep = asyncio.sleep
    max_retries: int = DEFAULT_RATE_RETRIES

    async def slot(self, keys: RateKeys) -> None:
        """Wait for one send's slot under `keys`."""
        if self.limiter is not None:
            await self.limiter.acquire_keys(keys)

    async def run(
        self, attempt: Callable[[], Awaitable[T]], *, chat: str, keys: RateKeys | None = None
    ) -> T:
        """`attempt`, each try after its slot under `keys` (None: not a limited send), its
        429s waited out."""

        async def paced() -> T:
            if keys is not None:
                await self.slot(keys)
            return await attempt()

        return await with_rate_retries(
            paced,
            platform=self.platform,
            chat=chat,
            sleep=self.sleep,
            max_retries=self.max_retries,
        )
