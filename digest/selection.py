"""Which ranked papers a brief shows: the picks, the others worth a glance, and how many
papers the avoid list and the reader's model kept out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from digest.evidence import Learned
from digest.models import Paper, Ranked
from digest.profile import Profile
from digest.ranking import rank

__all__ = ["hidden_counts", "select", "wanted"]

MAX_OTHERS = 15  # the reference brief lists 17 others
MIN_OTHERS = 5
# A followed author's papers are shown beyond MAX_OTHERS, up to this many a day.
MAX_FOLLOWED = 10
# The reader's model wants the top fifth of the day (its scores are places in its order).
MODEL_WANTS = 0.8


def select(ranked: Sequence[Ranked], top_picks: int) -> tuple[list[Ranked], list[Ranked]]:
    """The picks, then others worth a glance: those matching an interest or the reader's
    model, at least a few, and every paper by a followed author (however off-topic)."""
    picks = list(ranked[:top_picks])
    rest = list(ranked[top_picks:])
    others = [r for r in rest if wanted(r)][:MAX_OTHERS]
    if len(others) < MIN_OTHERS:
        chosen = {r.paper.paper_id for r in others}
        others += [r for r in rest if r.paper.paper_id not in chosen][: MIN_OTHERS - len(others)]
    chosen = {r.paper.paper_id for r in others}
    others += [r for r in rest if r.followed and r.paper.paper_id not in chosen][:MAX_FOLLOWED]
    others.sort(key=lambda r: -r.score)
    return picks, others


def wanted(r: Ranked) -> bool:
    """Worth a glance: it matched an interest, or the reader's model wants it."""
    return bool(r.matched) or r.signals.get("model", 0.0) >= MODEL_WANTS


def hidden_counts(
    papers: Sequence[Paper],
    profile: Profile,
    *,
    today: dt.date,
    seen: Collection[str],
    shown: Collection[str],
    ranked: Sequence[Ranked],
    learned: Learned | None = None,
) -> tuple[int, int]:
    """How many papers the avoid list, and how many the reader's model, kept out.

    A paper counts when the same ranking without that signal would have shown it, it is
    not shown, and the signal did weigh on it (`signals["avoid"]` above zero; a model
    probability below one half). Nothing is hidden silently.
    """
    signals = {r.paper.paper_id: r.signals for r in ranked}

    def would_show(variant: Profile, model: Learned | None) -> set[str]:
        order = rank(papers, variant, today=today, seen=seen, learned=model)
        picks, others = select(order, variant.top_picks)
        return {r.paper.paper_id for r in (*picks, *others)}

    avoid = feedback = 0
    if profile.avoid:
        missing = would_show(profile.model_copy(update={"avoid": []}), learned) - set(shown)
        avoid = sum(1 for pid in missing if signals.get(pid, {}).get("avoid", 0.0) > 0)
    if learned is not None and learned.weight > 0:
        missing = would_show(profile, None) - set(shown)
        feedback = sum(1 for pid in missing if signals.get(pid, {}).get("model", 1.0) < 0.5)
    return avoid, feedback
