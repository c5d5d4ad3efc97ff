"""Pieces both Store implementations share, so that they keep the same semantics."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

__all__ = [
    "DELIVERY_RETENTION",
    "Clock",
    "check_namespace",
    "epoch",
    "ttl_ms",
    "utc_now",
]

Clock = Callable[[], dt.datetime]

# Delivery records only guard against repeating today's parts after a retry or restart;
# ten days covers any retry window and the timezone spread of "today" with room to spare.
DELIVERY_RETENTION = dt.timedelta(days=10)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def epoch(moment: dt.datetime) -> float:
    """Seconds since the epoch; a naive datetime is taken as UTC, not local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def ttl_ms(ttl: dt.timedelta) -> int:
    """A positive ttl in whole milliseconds, rounded up so that it never shortens."""
    return max(1, math.ceil(ttl.total_seconds() * 1000))


def check_namespace(namespace: str) -> None:
    # Redis keys are "<prefix>cache:<namespace>:<key>"; a colon in the namespace would
    # make two different (namespace, key) pairs share a key. Both stores refuse it alike.
    if not namespace or ":" in namespace:
        raise ValueError(f"cache namespace must be non-empty and free of ':' (got {namespace!r})")
