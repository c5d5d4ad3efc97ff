"""The papers of the reader's followed authors, added to the day's candidates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from digest.authors import followed_in
from digest.errors import SourceError
from digest.profile import Profile
from digest.settings import Settings
from digest.sources.arxiv_api import ArxivSource
from digest.sources.collect import Candidates
from digest.sources.merge import merge_papers

__all__ = ["with_followed"]


async def with_followed(
    candidates: Candidates,
    profile: Profile,
    arxiv: ArxivSource,
    day: dt.date,
    settings: Settings,
    say: Callable[[str], None],
) -> Candidates:
    """The candidates with the followed authors' papers of the window, wherever arXiv
    filed them (their papers are shown whatever their topic or category)."""
    if not profile.authors:
        return candidates
    try:
        found = await arxiv.by_authors(
            profile.authors,
            candidates.window_start - dt.timedelta(days=1),
            day,
            settings.arxiv_max_results,
        )
    except SourceError as exc:
        say(f"followed authors' papers not looked up: {exc}")
        return candidates
    theirs = [p for p in found if followed_in(p.authors, profile.authors)]
    if not theirs:
        return candidates
    papers = merge_papers(candidates.papers, theirs)
    return dataclasses.replace(candidates, papers=papers)
