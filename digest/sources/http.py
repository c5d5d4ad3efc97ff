"""One retrying JSON getter shared by the HTTP sources (Hugging Face, GitHub).

Retries are bounded and deterministic (1 s, 2 s, 4 s, ... capped), a server's
Retry-After is honoured when it is short enough, and every failure becomes a one-line
`SourceError` that names the source and never carries headers or tokens.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from digest.errors import SourceError

__all__ = [
    "MAX_BACKOFF",
    "RateLimited",
    "after_attempts",
    "backoff",
    "get_json",
    "retry_after_seconds",
]

log = logging.getLogger(__name__)

FIRST_BACKOFF = 1.0  # seconds before the first retry; doubles each time
MAX_BACKOFF = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

Sleep = Callable[[float], Awaitable[None]]


class RateLimited(SourceError):
    """The source refused us for a while (429/403 with a long wait): stop asking it."""


def backoff(attempt: int, first: float = FIRST_BACKOFF, cap: float = MAX_BACKOFF) -> float:
    """Seconds to wait after failed attempt number `attempt` (0-based)."""
    return float(min(cap, first * 2**attempt))


def after_attempts(what: str, attempts: int) -> str:
    """`"HTTP 503 after 3 attempts"`: the reason of a failure that retries did not cure."""
    return f"{what} after {attempts} attempt{'s' if attempts != 1 else ''}"


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """A Retry-After header (delta seconds or an HTTP date) in seconds; None if unusable."""
    if value is None:
        return None
    value = value.strip()
    try:
        # Delta seconds; Slack and Feishu may send fractions.
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is unusable
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _rate_limit_reset(headers: httpx.Headers) -> str:
    """GitHub-style `X-RateLimit-Reset` (epoch seconds) as a UTC time, for the reason."""
    reset = headers.get("X-RateLimit-Reset", "")
    if reset.isdigit():
        at = dt.datetime.fromtimestamp(int(reset), dt.UTC)
        return f", resets at {at:%H:%M} UTC"
    return ""


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    source: str,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    retries: int,
    max_retry_after: float,
    sleep: Sleep = asyncio.sleep,
    not_found_ok: bool = False,
) -> Any:
    """GET `url` and decode its JSON body, retrying transient failures.

    Retries timeouts, connection errors, 429 and 5xx up to `retries` times. Returns None
    for a 404 when `not_found_ok`. Raises SourceError(source, reason) otherwise; a
    RateLimited one when the source asks us to wait longer than `max_retry_after` or
    says its quota is exhausted.
    """
    attempts = retries + 1
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            resp = await client.get(url, params=params, headers=headers, follow_redirects=True)
        except httpx.TimeoutException:
            reason = after_attempts("timed out", attempts)
            wait = backoff(attempt)
        except httpx.TransportError as exc:
            # The class name says enough (ConnectError, ReadError...); the message may not.
            reason = after_attempts("connection failed", attempts) + f" ({type(exc).__name__})"
            wait = backoff(attempt)
        else:
            status = resp.status_code
            if status == 404 and not_found_ok:
                return None
            if status in (403, 429) and resp.headers.get("X-RateLimit-Remaining") == "0":
                raise RateLimited(
                    source, f"HTTP {status} rate limited{_rate_limit_reset(resp.headers)}"
                )
            if status in RETRY_STATUSES:
                after = retry_after_seconds(resp.headers.get("Retry-After"))
                if after is not None and after > max_retry_after:
                    shown = math.ceil(after)
                    raise RateLimited(
                        source,
                        f"HTTP {status} rate limited (Retry-After {shown} s)"
                        if status == 429
                        else f"HTTP {status} (Retry-After {shown} s)",
                    )
                reason = after_attempts(f"HTTP {status}", attempts)
                wait = after if after is not None else backoff(attempt)
            elif status >= 400:
                raise SourceError(source, f"HTTP {status}")
            else:
                try:
                    return resp.json()
                except ValueError:
                    raise SourceError(source, "malformed JSON") from None
        if last:
            break
        log.info(
            "%s: attempt %d failed (%s); retrying in %.0f s", source, attempt + 1, reason, wait
        )
        await sleep(wait)
    raise SourceError(source, reason)
