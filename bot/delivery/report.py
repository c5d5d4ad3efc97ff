"""What a push did: each chat's outcome, the run's report, and its rows for people."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bot.core.messages import OutMessage
from bot.delivery.deliver import DeliveryResult
from digest.models import Subscription


@dataclass
class ChatOutcome:
    sub: Subscription
    parts: int = 0
    result: DeliveryResult | None = None
    error: str | None = None  # before delivery: profile, brief or sender setup failed
    preview: list[OutMessage] = field(default_factory=list)  # dry run: what would be sent
    busy: bool = False  # another process holds the chat's lease: not a failure of this one

    @property
    def stopped(self) -> bool:
        """Stopped by a shutdown before anything was sent: not a failure of the chat."""
        return self.result is None and (self.error or "").startswith("stopped")

    @property
    def ok(self) -> bool:
        return self.busy or (self.error is None and (self.result is None or self.result.complete))


@dataclass
class PushReport:
    day: dt.date
    dry_run: bool
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    briefs_built: int = 0
    briefs_reused: int = 0
    outcomes: list[ChatOutcome] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        """Chats that have the whole brief (now or from an earlier run)."""
        return sum(1 for o in self.outcomes if o.result is not None and o.result.complete)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if not o.ok)

    @property
    def sent(self) -> int:
        return sum(o.result.sent for o in self.outcomes if o.result is not None)

    @property
    def skipped(self) -> int:
        return sum(o.result.skipped for o in self.outcomes if o.result is not None)

    def summary(self) -> str:
        if self.dry_run:
            parts = sum(o.parts for o in self.outcomes)
            return f"dry run {self.day}: {len(self.outcomes)} chat(s), {parts} message(s) to send"
        return (
            f"{self.day}: {self.delivered}/{len(self.outcomes)} chat(s) complete, "
            f"{self.sent} message(s) sent, {self.skipped} already there, {self.failed} failed"
        )


def report_rows(report: PushReport) -> list[dict[str, Any]]:
    """One plain row per chat (for the CLI table and JSON), with no secrets in it."""
    rows = []
    for o in report.outcomes:
        r = o.result
        rows.append(
            {
                "chat": o.sub.key,
                "parts": o.parts,
                "sent": r.sent if r else 0,
                "skipped": r.skipped if r else 0,
                "failed": r.failed if r else (o.parts if o.error else 0),
                "status": (
                    "busy"
                    if o.busy
                    else "dry run"
                    if report.dry_run and o.error is None
                    else "gone"
                    if r is not None and r.gone
                    else "ok"
                    if o.ok
                    else "failed"
                ),
                "error": o.error or (r.errors[0] if r and r.errors else None),
            }
        )
    return rows
