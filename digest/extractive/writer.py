"""The `Writer`: every rule-written text of one brief for one reader, and the reader
notes of an extractive brief.

The same `Writer` fills the gaps of an LLM brief (a missing relation or reason, the
why-picked line every pick gets, a group the LLM did not title). Themes and group
headings name topics by the day's key phrases (`digest.keyphrases`) and the reader's
interest labels, never by a loose word.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from digest.extractive.overview import Overview
from digest.extractive.picked import WhyPicked
from digest.extractive.relation import Relation
from digest.grouping.groups import Plan
from digest.models import Language, PaperSummary, Ranked
from digest.notes import MustRead, ReaderNotes
from digest.profile import Profile

__all__ = ["Writer", "reader_notes"]


class Writer(WhyPicked, Relation, Overview):
    """The rule-written texts of one brief, for one reader (its arguments: `WriterBase`)."""

    def notes(self) -> ReaderNotes:
        """The per-reader notes of an extractive brief."""
        return ReaderNotes(
            overview=self.overview(),
            relations={r.paper.paper_id: self.relation(r) for r in self.picks},
            must_read=[
                MustRead(paper_id=r.paper.paper_id, reason=self.read_reason(r))
                for r in self.must_read()
            ],
            ideas=[],
            conclusion=self.conclusion(),
        )


def reader_notes(
    picks: Sequence[Ranked],
    others: Sequence[Ranked],
    summaries: Mapping[str, PaperSummary],
    profile: Profile,
    language: Language,
    *,
    plan: Plan | None = None,
    candidates: int | None = None,
) -> ReaderNotes:
    """Notes without an LLM, from the papers' terms, the reader's interests and counts."""
    del summaries  # the rules need no prose
    writer = Writer(
        profile=profile,
        language=language,
        picks=picks,
        others=others,
        plan=plan,
        candidates=candidates,
    )
    return writer.notes()
