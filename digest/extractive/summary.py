"""What a paper says, quoted: its extractive summary (contribution and key result, with a
topical category) and its one-line takeaway."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from digest.cleaning import quote, shorten
from digest.extractive.categories import category_label, topic_category
from digest.extractive.papertext import PaperText, fitting_sentence, paper_text
from digest.models import Language, Paper, PaperSummary

__all__ = ["TAKEAWAY_CHARS", "extractive_summary", "takeaway"]

CONTRIBUTION_CHARS: Final = 260
KEY_CHARS: Final = 240
# A glance line, lead and quotation marks included: renderers keep up to 162 characters
# whole (bot.layout's one_line), so a sentence chosen to fit is never cut there.
TAKEAWAY_CHARS: Final = 160


def _contribution(text: PaperText, language: Language, limit: int) -> str:
    quoted = quote(shorten(text.contribution, limit), language)
    if text.survey is None:
        return quoted
    if language == "zh":
        return f"综述“{text.survey}”:{quoted}"
    return f"A survey of “{text.survey}”: {quoted}"


def takeaway(paper: Paper, language: Language, limit: int = TAKEAWAY_CHARS) -> str:
    """One line on the paper, at most about `limit` characters, quoted: the sentence of its
    AI summary or abstract that carries its finding and fits, rather than the first one
    cut short (only when none fits is the contribution shortened)."""
    text = paper_text(paper)
    if text.survey is not None:
        head = f"综述“{text.survey}”" if language == "zh" else f"A survey of “{text.survey}”"
        if len(head) + 8 < limit:
            rest = limit - len(head) - 3
            return f"{head}:{quote(fitting_sentence(paper, text, rest), language)}"
        return head
    return quote(fitting_sentence(paper, text, limit - 2), language)


def extractive_summary(paper: Paper, language: Language) -> PaperSummary:
    """The paper's own words, cleaned and quoted, with a topical category (in the
    language's own words)."""
    text = paper_text(paper)
    return PaperSummary(
        contribution=_contribution(text, language, CONTRIBUTION_CHARS),
        why=_why(text, language),
        category=category_label(topic_category(paper), language),
        mode="extractive",
    )


_COMPARES = re.compile(r"\b(?:outperform|surpass|beats?\b|better than|state-of-the-art)", re.I)
_FINDS = re.compile(r"\b(?:we (?:find|show|observe|reveal)|results? (?:show|reveal|suggest))", re.I)


def _why(text: PaperText, language: Language) -> str:
    """The key sentence, quoted; a Chinese brief says first, in Chinese, what kind of
    statement it is (the figures it reports, a comparison, a finding)."""
    if not text.key:
        return ""
    quoted = quote(shorten(text.key, KEY_CHARS), language)
    if language != "zh":
        return quoted
    if text.figures:
        lead = f"摘要报告的关键数字是 {'、'.join(text.figures[:2])}"
    elif _COMPARES.search(text.key):
        lead = _pick(text.key, ["作者报告它优于已有方法", "与基线对比的结论", "实验对比给出的结果"])
    elif _FINDS.search(text.key):
        lead = _pick(text.key, ["作者的主要发现", "实验得出的结论"])
    else:
        lead = _pick(text.key, ["摘要中最能说明效果的一句", "作者对效果的描述"])
    return f"{lead}:{quoted}"


def _pick(key: str, options: Sequence[str]) -> str:
    """One of `options`, fixed by the text (papers of one brief differ, a paper's
    summary is the same for every reader)."""
    return options[sum(map(ord, key)) % len(options)]
