"""What is kept of a push: each chat's last outcome of the day (for `paperdrop status`),
the pace of a failed chat's next attempt, and the push's metrics."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from bot.core.observability import (
    BRIEF_PARTS,
    BRIEFS,
    PUSH_CHATS,
    PUSHES,
    hashed,
    platform_label,
)
from bot.delivery.deliver import DONE_TTL, day_key
from bot.delivery.report import PushReport, report_rows
from digest.errors import (
    PaperdropError,
)
from digest.models import Subscription
from digest.store.base import Store

log = logging.getLogger(__name__)

# The last push outcome of (chat, day), for `paperdrop status`.
PUSHLOG_NS = "pushlog"
# After a failed attempt a chat is retried after this long, doubling, up to the cap.
RETRY_BASE = dt.timedelta(minutes=2)
RETRY_CAP = dt.timedelta(minutes=30)
# (chat, day) -> {"failures": n, "not_before": iso}: in the Store, so a new leader (or the
# worker that ran the push) paces retries the same way.
RETRY_NS = "retry"
RETRY_TTL = dt.timedelta(days=2)


async def save_last_outcomes(store: Store, report: PushReport) -> None:
    """Each chat's last outcome of the day, for `paperdrop status` (no secrets in it)."""
    at = (report.finished_at or report.started_at).isoformat()
    for row, outcome in zip(report_rows(report), report.outcomes, strict=True):
        if outcome.busy:  # the process delivering it records its own outcome
            continue
        key = day_key(outcome.sub.key, report.day)
        try:
            await store.cache_set(PUSHLOG_NS, key, json.dumps({**row, "at": at}), DONE_TTL)
        except PaperdropError as exc:  # the delivery happened; only the status line is lost
            log.warning("push outcome not recorded: chat=%s reason=%s", hashed(row["chat"]), exc)


async def last_outcome(store: Store, sub: Subscription, day: dt.date) -> dict[str, Any] | None:
    """What the last push of `day` reported for this chat (see `report_rows`), if any."""
    raw = await store.cache_get(PUSHLOG_NS, day_key(sub.key, day))
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def record_push(report: PushReport) -> None:
    """What one push did, from its report: chats, parts, briefs."""
    PUSHES.labels("ok").inc()
    if report.dry_run:
        return
    BRIEFS.labels("built").inc(report.briefs_built)
    BRIEFS.labels("reused").inc(report.briefs_reused)
    for outcome in report.outcomes:
        platform = platform_label(outcome.sub.platform)
        result = outcome.result
        if outcome.busy:  # another process is delivering it and counts it
            continue
        if result is None:  # nothing was sent: no profile, no brief, no sender, stopping
            PUSH_CHATS.labels(platform, "stopped" if outcome.stopped else "error").inc()
            continue
        if result.gone:
            state = "gone"
        elif outcome.ok:
            state = "delivered"
        else:
            state = "failed"
        PUSH_CHATS.labels(platform, state).inc()
        for part_outcome, n in (
            ("sent", result.sent),
            ("skipped", result.skipped),
            ("failed", result.failed),
        ):
            if n:
                BRIEF_PARTS.labels(platform, part_outcome).inc(n)


async def pace_retries(store: Store, report: PushReport, now: dt.datetime) -> None:
    """Pace the next attempt of each chat that failed (doubling, capped); forget the
    failures of those now delivered. A chat stopped by a shutdown or busy elsewhere was
    not a failure."""
    for outcome in report.outcomes:
        key = day_key(outcome.sub.key, report.day)
        if outcome.busy or outcome.stopped:
            continue
        if outcome.ok:
            await store.cache_delete(RETRY_NS, key)
            continue
        failures = (await retry_state(store, key))[0] + 1
        delay = min(RETRY_BASE * 2 ** (failures - 1), RETRY_CAP)
        value = {"failures": failures, "not_before": (now + delay).isoformat()}
        await store.cache_set(RETRY_NS, key, json.dumps(value), RETRY_TTL)


async def retry_state(store: Store, key: str) -> tuple[int, dt.datetime | None]:
    raw = await store.cache_get(RETRY_NS, key)
    if raw is None:
        return 0, None
    try:
        data = json.loads(raw)
        return int(data["failures"]), dt.datetime.fromisoformat(data["not_before"])
    except (ValueError, KeyError, TypeError):
        return 0, None
