"""A brief's per-reader notes: the LLM's, or rule-written without one or when its call
fails; and the LLM's failure note, worded alike for the brief and the paper card."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from digest.errors import PaperdropError
from digest.extractive import reader_notes as extractive_reader_notes
from digest.grouping.groups import Plan
from digest.grouping.themes import themes
from digest.llm import LLM, usage_of
from digest.models import Language, LLMUsage, PaperSummary, Ranked, SourceItem
from digest.notes import ReaderNotes
from digest.profile import Profile
from digest.readernotes import NoteHints, reader_notes

__all__ = ["llm_failed_note", "write_notes"]


async def write_notes(
    picks: Sequence[Ranked],
    others: Sequence[Ranked],
    summaries: Mapping[str, PaperSummary],
    profile: Profile,
    language: Language,
    llm: LLM | None,
    usage: LLMUsage,
    *,
    llm_used: bool,
    plan: Plan | None = None,
    candidates: int | None = None,
) -> tuple[ReaderNotes, bool, SourceItem | None]:
    """The per-reader notes, rule-written without an LLM or when its call fails.

    Returns the notes, whether any LLM text is in the result, and the LLM's source note
    when it failed (the same wording for the brief and the paper card).
    """

    def fallback() -> ReaderNotes:
        return extractive_reader_notes(
            picks, others, summaries, profile, language, plan=plan, candidates=candidates
        )

    if llm is None:
        return fallback(), llm_used, None
    hints = None
    if plan is not None:  # the themes and groups the code found, for the LLM to name
        found = themes([*picks, *others], plan.lexicon, interests=profile.interests)
        hints = NoteHints(
            themes=[(t.name, len(t.paper_ids)) for t in found],
            groups=[(g.paper_ids, g.terms) for g in plan.groups],
        )
    try:
        notes, u = await reader_notes(picks, others, summaries, profile, language, llm, hints)
    except PaperdropError as exc:
        usage.add(usage_of(exc))
        return fallback(), llm_used, llm_failed_note(language, str(exc), partial=llm_used)
    usage.add(u)
    return notes, True, None


def llm_failed_note(language: Language, reason: str, *, partial: bool) -> SourceItem:
    if partial:  # summaries came from the LLM, the per-reader notes did not
        return SourceItem(
            source="LLM",
            status="partial",
            detail={
                "zh": f"个性化点评调用失败({reason}):与你研究的关系改为列出匹配的兴趣,"
                "今日未生成研究 idea。",
                "en": f"The per-reader notes failed ({reason}): relations list the matched "
                "interests and no ideas were generated today.",
            }[language],
        )
    return SourceItem(
        source="LLM",
        status="failed",
        detail={
            "zh": f"LLM 调用失败({reason}):改用摘录模式,未生成研究 idea。",
            "en": f"The LLM failed ({reason}): fell back to extractive texts; no ideas "
            "were generated.",
        }[language],
    )
