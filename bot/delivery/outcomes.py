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
    rows: dict[str, str] = {}
    for row, outcome in zip(report_rows(report), report.outcomes, strict=True):
        if outcome.busy:  # the process delivering it records its own outcome
            continue
        rows[day_key(outcome.sub.key, report.day)] = json.dumps({**row, "at": at})
    if not rows:
        return
    try:
        await store.cache_set_many(PUSHLOG_NS, rows, DONE_TTL)  # one round trip
    except PaperdropError as exc:  # the deliveries happened; only the status lines are lost
        log.warning("push outcomes not recorded: %d chat(s), reason=%s", len(rows), exc)


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
    counted = [o for o in report.outcomes if not (o.busy or o.stopped)]
    keys = {o.sub.key: day_key(o.sub.key, report.day) for o in counted}
    await store.cache_delete_many(RETRY_NS, [keys[o.sub.key] for o in counted if o.ok])
    failed = [keys[o.sub.key] for o in counted if not o.ok]
    if not failed:
        return
    before = await store.cache_get_many(RETRY_NS, failed)
    paced: dict[str, str] = {}
    for key in failed:
        failures = _parse_retry(before.get(key))[0] + 1
        delay = min(RETRY_BASE * 2 ** (failures - 1), RETRY_CAP)
        value = {"failures": failures, "not_before": (now + delay).isoformat()}
        paced[key] = json.dumps(value)
    await store.cache_set_many(RETRY_NS, paced, RETRY_TTL)


async def retry_state(store: Store, key: str) -> tuple[int, dt.datetime | None]:
    return _parse_retry(await store.cache_get(RETRY_NS, key))


def _parse_retry(raw: str | None) -> tuple[int, dt.datetime | None]:
    if raw is None:
        return 0, None
    try:
        data = json.loads(raw)
        return int(data["failures"]), dt.datetime.fromisoformat(data["not_before"])
    except (ValueError, KeyError, TypeError):
        return 0, None
